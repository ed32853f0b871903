// Package evidence gathers, inside the guest, what a kernel developer
// needs to read a hang: every blocked task with its kernel stack and the
// function it waits in, and the requests each test FUSE server holds
// unanswered. The guest's watchdog process gathers it when the host
// asks (the host judged the guest hung), the agent when a scenario
// outlives its own timeout; both write it to the agent port as
// guestproto evidence lines, which the host keeps with the console.
//
// Everything is read from procfs through a directory the collector is
// given, never through the path "/proc", so that a watchdog started
// before an fstests guest switched its root still finds it.
package evidence

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"dioharness/harness/fuse"
	"dioharness/harness/fuse/remote"
	"dioharness/harness/guestproto"
	"dioharness/harness/kstack"
)

// Collector reads one guest's state.
type Collector struct {
	// Proc is the procfs directory ("/proc", or "." for a process
	// whose working directory is procfs).
	Proc string
	// Bound limits each read that may block (a /proc file of a task
	// whose mm is locked, a FUSE server that does not answer).
	Bound time.Duration
}

// Task is one thread.
type Task struct {
	TID, TGID int
	Comm      string
	// State is the one-letter state of /proc/<pid>/stat (D: blocked
	// in the kernel, uninterruptible or killable).
	State  string
	Wchan  string
	Kernel bool // a kernel thread
	// Stack is the kernel stack of a blocked task, innermost first, as
	// /proc/<pid>/task/<tid>/stack prints it.
	Stack []string
	// Waits names the FUSE request the task waits for an answer to,
	// "" when none.
	Waits string
}

// matters is a task the evidence shows: blocked, or waiting for a FUSE
// server.
func (t Task) matters() bool { return t.Blocked() || t.Waits != "" }

// Where is the function the task waits in (kstack.Where).
func (t Task) Where() string { return kstack.Where(kstack.Frames(t.Stack)) }

// Blocked is a task waiting in the kernel where a hang shows: state D.
func (t Task) Blocked() bool { return t.State == "D" }

// pfKthread is PF_KTHREAD in the flags field of /proc/<pid>/stat.
const pfKthread = 0x00200000

// Tasks lists every thread; blocked ones carry their stack, and so do
// those of extra (the threads waiting for a FUSE server's answer,
// which wait interruptibly and are no "D" task).
func (c Collector) Tasks(extra map[int]string) ([]Task, error) {
	pids, err := os.ReadDir(c.Proc)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Proc, err)
	}
	var out []Task
	for _, p := range pids {
		tgid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		tids, err := os.ReadDir(filepath.Join(c.Proc, p.Name(), "task"))
		if err != nil {
			continue // it exited meanwhile
		}
		for _, t := range tids {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			dir := filepath.Join(c.Proc, p.Name(), "task", t.Name())
			task, ok := c.task(dir, tid, tgid, extra[tid] != "")
			if ok {
				task.Waits = extra[tid]
				out = append(out, task)
			}
		}
	}
	return out, nil
}

func (c Collector) task(dir string, tid, tgid int, stack bool) (Task, bool) {
	stat, err := c.read(filepath.Join(dir, "stat"))
	if err != nil {
		return Task{}, false
	}
	t, ok := parseStat(stat)
	if !ok {
		return Task{}, false
	}
	t.TID, t.TGID = tid, tgid
	if w, err := c.read(filepath.Join(dir, "wchan")); err == nil && w != "0" {
		t.Wchan = w
	}
	if t.Blocked() || stack {
		if s, err := c.read(filepath.Join(dir, "stack")); err == nil {
			t.Stack = strings.Split(strings.TrimRight(s, "\n"), "\n")
		} else {
			t.Stack = []string{"(stack: " + err.Error() + ")"}
		}
	}
	return t, true
}

// parseStat reads comm, state and the kernel-thread flag of a
// /proc/<pid>/stat line: "141 (init) D 0 1 1 0 -1 4194624 ...". The
// comm may hold spaces and parentheses; it ends at the last ")".
func parseStat(s string) (Task, bool) {
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return Task{}, false
	}
	f := strings.Fields(s[close+1:])
	if len(f) < 7 {
		return Task{}, false
	}
	flags, _ := strconv.ParseUint(f[6], 10, 64)
	return Task{Comm: s[open+1 : close], State: f[0], Kernel: flags&pfKthread != 0}, true
}

// read reads a small procfs file within the bound.
func (c Collector) read(path string) (string, error) {
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() {
		b, err := os.ReadFile(path)
		ch <- res{b, err}
	}()
	select {
	case r := <-ch:
		return strings.TrimSpace(string(r.b)), r.err
	case <-time.After(c.bound()):
		return "", fmt.Errorf("read %s: no answer within %s", path, c.bound())
	}
}

func (c Collector) bound() time.Duration {
	if c.Bound > 0 {
		return c.Bound
	}
	return 5 * time.Second
}

// Summary is one line per blocked task and per task waiting for a FUSE
// server, user tasks first (the scenario's threads and the FUSE
// servers), then kernel threads: "init[141] (tgid 1) D in
// fuse_file_write_iter < vfs_write < ksys_write (down_write)", "init[140]
// (tgid 1) S in request_wait_answer < ... (schedule), waiting for WRITE
// unique 20 /dl, held at gate w".
func Summary(tasks []Task) []string {
	var blocked []Task
	for _, t := range tasks {
		if t.matters() {
			blocked = append(blocked, t)
		}
	}
	slices.SortStableFunc(blocked, func(a, b Task) int {
		if a.Kernel != b.Kernel {
			if a.Kernel {
				return 1
			}
			return -1
		}
		return a.TID - b.TID
	})
	var out []string
	for _, t := range blocked {
		where := t.Where()
		if where == "" {
			where = t.Wchan
		}
		line := fmt.Sprintf("%s[%d] (tgid %d) %s in %s", t.Comm, t.TID, t.TGID, t.State, where)
		if t.Waits != "" {
			line += ", waiting for " + t.Waits
		}
		out = append(out, line)
	}
	return out
}

// TaskLines lists the tasks for the evidence: a header line per
// non-sleeping task (state, wchan), and the stack of each blocked one.
func TaskLines(tasks []Task) []string {
	var out []string
	for _, t := range tasks {
		if (t.State == "S" || t.State == "I") && t.Waits == "" {
			continue
		}
		head := fmt.Sprintf("%s[%d] tgid %d state %s wchan %s", t.Comm, t.TID, t.TGID, t.State, orDash(t.Wchan))
		if t.Waits != "" {
			head += ", waiting for " + t.Waits
		}
		out = append(out, head)
		for _, l := range t.Stack {
			out = append(out, "    "+l)
		}
	}
	if len(out) == 0 {
		out = append(out, "no task is blocked or running: every task sleeps interruptibly")
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Server is a test FUSE server process found in procfs.
type Server struct {
	PID int
	// Ctl is its control socket as seen from its own root.
	Ctl string
}

// Servers finds the running test FUSE servers ("<agent> fuse-server
// ... -ctl <socket>").
func (c Collector) Servers() []Server {
	pids, _ := os.ReadDir(c.Proc)
	var out []Server
	for _, p := range pids {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		cl, err := c.read(filepath.Join(c.Proc, p.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(cl, "\x00"), "\x00")
		if len(args) < 2 || args[1] != "fuse-server" {
			continue
		}
		if i := slices.Index(args, "-ctl"); i > 0 && i+1 < len(args) {
			out = append(out, Server{PID: pid, Ctl: args[i+1]})
		}
	}
	return out
}

// FUSE asks each server for the requests it has not answered. waiting
// maps the thread that sent each of them to the request.
func (c Collector) FUSE(now time.Time) (lines []string, waiting map[int]string) {
	servers := c.Servers()
	if len(servers) == 0 {
		return []string{"no test FUSE server is running"}, nil
	}
	waiting = map[int]string{}
	for _, s := range servers {
		lines = append(lines, c.server(s, now, waiting)...)
	}
	return lines, waiting
}

func (c Collector) server(s Server, now time.Time, waiting map[int]string) []string {
	// Through the server's own root: an fstests guest switched it.
	sock := filepath.Join(c.Proc, strconv.Itoa(s.PID), "root", s.Ctl)
	head := fmt.Sprintf("server pid %d (%s)", s.PID, s.Ctl)
	ctx, cancel := context.WithTimeout(context.Background(), c.bound())
	defer cancel()
	type res struct {
		info    remote.InfoReply
		pending []fuse.Record
		err     error
	}
	ch := make(chan res, 1)
	var cl *remote.Client
	go func() {
		var r res
		cl, r.err = remote.Dial(sock)
		if r.err == nil {
			if r.info, r.err = cl.Info(); r.err == nil {
				r.pending, r.err = cl.Pending()
			}
		}
		ch <- r
	}()
	var r res
	select {
	case r = <-ch:
		if cl != nil {
			cl.Close()
		}
	case <-ctx.Done():
		return []string{head + ": no answer within " + c.bound().String()}
	}
	if r.err != nil {
		return []string{head + ": " + r.err.Error()}
	}
	head = fmt.Sprintf("server pid %d mounted on %s", s.PID, r.info.Mountpoint)
	if len(r.pending) == 0 {
		return []string{head + ": every request answered"}
	}
	out := []string{fmt.Sprintf("%s: %d requests not answered", head, len(r.pending))}
	for _, p := range r.pending {
		out = append(out, "    "+describe(p, now))
		waiting[int(p.PID)] = awaited(p)
	}
	return out
}

// awaited names a request its sender waits for: "WRITE unique 20 /dl,
// held at gate w".
func awaited(r fuse.Record) string {
	return fmt.Sprintf("%v unique %d %s, %s", r.Op, r.Unique, r.Path, holder(r, "the server's handler"))
}

// holder says what keeps an unanswered request: its gate, its fault, or
// else handler ("its handler").
func holder(r fuse.Record, handler string) string {
	switch {
	case r.Gate != "":
		return "held at gate " + r.Gate
	case r.Fault != "":
		return "delayed by fault " + r.Fault
	default:
		return "in " + handler
	}
}

// describe is one unanswered request: "WRITE unique 42 /mw offset 0
// size 4096 from tid 140, 61.2s, held at gate w".
func describe(r fuse.Record, now time.Time) string {
	s := fmt.Sprintf("%v unique %d node %d", r.Op, r.Unique, r.NodeID)
	if r.Path != "" {
		s += " " + r.Path
	}
	if r.Size > 0 || r.Offset > 0 {
		s += fmt.Sprintf(" offset %d size %d", r.Offset, r.Size)
	}
	return s + fmt.Sprintf(" from tid %d, %s, %s", r.PID, now.Sub(r.Start).Round(100*time.Millisecond), holder(r, "its handler"))
}

// Write gathers everything and writes it as one evidence frame: what
// names the trigger, goroutines (may be nil) is the caller's own
// goroutine dump. line writes one line to the agent port. It returns
// the summary (Summary).
func (c Collector) Write(what string, goroutines []byte, line func(string)) []string {
	line(guestproto.EvidenceBegin(what))
	defer line(guestproto.EvidenceEnd())
	fuseLines, waiting := c.FUSE(time.Now())
	tasks, err := c.Tasks(waiting)
	if err != nil {
		line(guestproto.EvidenceLine(guestproto.SectionTasks, err.Error()))
	}
	summary := Summary(tasks)
	for _, s := range summary {
		line(guestproto.EvidenceLine(guestproto.SectionSummary, s))
	}
	for _, s := range TaskLines(tasks) {
		line(guestproto.EvidenceLine(guestproto.SectionTasks, s))
	}
	for _, s := range fuseLines {
		line(guestproto.EvidenceLine(guestproto.SectionFUSE, s))
	}
	for _, s := range strings.Split(strings.TrimRight(string(goroutines), "\n"), "\n") {
		if s != "" {
			line(guestproto.EvidenceLine(guestproto.SectionGoroutines, s))
		}
	}
	return summary
}
