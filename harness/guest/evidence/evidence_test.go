package evidence

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"dioharness/harness/fuse"
	"dioharness/harness/fuse/remote"
	"dioharness/harness/guestproto"
)

// fakeTask writes the procfs files of one thread.
func fakeTask(t *testing.T, proc string, tgid, tid int, stat, wchan, stack string) {
	t.Helper()
	dir := filepath.Join(proc, strconv.Itoa(tgid), "task", strconv.Itoa(tid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"stat": stat, "wchan": wchan, "stack": stack} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const (
	writerStack = "[<0>] __schedule+0x2f1/0x7a0\n[<0>] schedule+0x3a/0xc0\n[<0>] rwsem_down_write_slowpath+0x1f5/0x6d0\n[<0>] down_write+0x8e/0xa0\n[<0>] fuse_file_write_iter+0x14c/0x3d0\n[<0>] vfs_write+0x29b/0x450\n[<0>] ksys_write+0x6d/0xf0\n"
	holderStack = "[<0>] __schedule+0x2f1/0x7a0\n[<0>] schedule+0x3a/0xc0\n[<0>] request_wait_answer+0x1a2/0x2c0\n[<0>] __fuse_simple_request+0x10e/0x2e0\n[<0>] fuse_perform_write+0x2a6/0x5a0\n"
	kworkStack  = "[<0>] __schedule+0x2f1/0x7a0\n[<0>] schedule+0x3a/0xc0\n[<0>] io_schedule+0x46/0x70\n[<0>] folio_wait_bit_common+0x13d/0x340\n[<0>] writeback_sb_inodes+0x1b2/0x4c0\n"
)

func fakeProc(t *testing.T) string {
	proc := t.TempDir()
	// The agent (tgid 1): an idle thread, a writer blocked on i_rwsem
	// and the one holding it, waiting for the FUSE server.
	fakeTask(t, proc, 1, 1, "1 (init) S 0 1 1 0 -1 4194560 0", "futex_wait_queue", "")
	fakeTask(t, proc, 1, 141, "141 (init) D 0 1 1 0 -1 4194624 0", "rwsem_down_write_slowpath", writerStack)
	fakeTask(t, proc, 1, 140, "140 (init) D 0 1 1 0 -1 4194624 0", "request_wait_answer", holderStack)
	// A writer waiting interruptibly for the FUSE server's answer.
	fakeTask(t, proc, 1, 142, "142 (init) S 0 1 1 0 -1 4194624 0", "request_wait_answer", holderStack)
	// A kernel thread in writeback, blocked too; an idle kworker.
	fakeTask(t, proc, 30, 30, "30 (kworker/u4:2) D 2 0 0 0 -1 69238880 0", "folio_wait_bit_common", kworkStack)
	fakeTask(t, proc, 31, 31, "31 (kworker/0:1 (events)) I 2 0 0 0 -1 69238880 0", "worker_thread", "")
	// Not a pid.
	os.MkdirAll(filepath.Join(proc, "sys"), 0o755)
	return proc
}

func TestTasksAndSummary(t *testing.T) {
	c := Collector{Proc: fakeProc(t)}
	tasks, err := c.Tasks(map[int]string{142: "WRITE unique 20 /dl, held at gate w"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 6 {
		t.Fatalf("Tasks = %d tasks, want 6: %+v", len(tasks), tasks)
	}
	want := []string{
		"init[140] (tgid 1) D in request_wait_answer < __fuse_simple_request < fuse_perform_write (schedule)",
		"init[141] (tgid 1) D in fuse_file_write_iter < vfs_write < ksys_write (down_write)",
		"init[142] (tgid 1) S in request_wait_answer < __fuse_simple_request < fuse_perform_write (schedule), waiting for WRITE unique 20 /dl, held at gate w",
		"kworker/u4:2[30] (tgid 30) D in writeback_sb_inodes (folio_wait_bit_common)",
	}
	if d := cmp.Diff(want, Summary(tasks)); d != "" {
		t.Errorf("Summary (-want +got):\n%s", d)
	}
	lines := TaskLines(tasks)
	joined := strings.Join(lines, "\n")
	for _, w := range []string{"init[141] tgid 1 state D wchan rwsem_down_write_slowpath", "    [<0>] down_write+0x8e/0xa0",
		"init[142] tgid 1 state S wchan request_wait_answer, waiting for WRITE unique 20 /dl, held at gate w"} {
		if !strings.Contains(joined, w) {
			t.Errorf("TaskLines lacks %q:\n%s", w, joined)
		}
	}
	// Sleeping and idle tasks are left out.
	if strings.Contains(joined, "init[1] ") || strings.Contains(joined, "kworker/0:1") {
		t.Errorf("TaskLines lists a sleeping task:\n%s", joined)
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		in   string
		want Task
		ok   bool
	}{
		{"141 (init) D 0 1 1 0 -1 4194624 0", Task{Comm: "init", State: "D"}, true},
		{"31 (kworker/0:1 (events)) I 2 0 0 0 -1 69238880 0", Task{Comm: "kworker/0:1 (events)", State: "I", Kernel: true}, true},
		{"12 (a) b) R 1 2 3", Task{}, false},
		{"garbage", Task{}, false},
	}
	for _, tt := range tests {
		got, ok := parseStat(tt.in)
		if ok != tt.ok || !cmp.Equal(got, tt.want) {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestReadBound(t *testing.T) {
	// A FIFO nobody writes blocks its reader: the bound gives up.
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	c := Collector{Bound: 50 * time.Millisecond}
	if _, err := c.read(fifo); err == nil || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Errorf("read of a blocked FIFO = %v, want the bound's error", err)
	}
	// Unblock the abandoned reader.
	if f, err := os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
		f.Close()
	}
}

func TestDescribe(t *testing.T) {
	now := time.Unix(1000, 0)
	r := fuse.Record{Op: fuse.OpWrite, Unique: 42, NodeID: 2, Path: "/mw", Offset: 4096, Size: 4096, PID: 140, Start: now.Add(-61200 * time.Millisecond), Gate: "w"}
	if got, want := describe(r, now), "WRITE unique 42 node 2 /mw offset 4096 size 4096 from tid 140, 1m1.2s, held at gate w"; got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
	r.Gate, r.Offset, r.Size = "", 0, 0
	if got := describe(r, now); !strings.HasSuffix(got, "from tid 140, 1m1.2s, in its handler") {
		t.Errorf("describe without a gate = %q", got)
	}
}

// TestFUSE asks a real server, found by its command line in a fake
// procfs, for the WRITE its gate holds.
func TestFUSE(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting FUSE needs root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no /dev/fuse: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := fuse.Mount(ctx, t.TempDir(), fuse.Config{Files: []fuse.FileSpec{{Path: "/f", Size: 8192}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go remote.Serve(ln, s)
	if err := s.ArmGate("w", fuse.OpWrite, "/f"); err != nil {
		t.Fatal(err)
	}
	defer s.DisarmGate("w")
	done := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(filepath.Join(s.Mountpoint(), "f"), os.O_RDWR|unix.O_DIRECT, 0)
		if err == nil {
			_, err = f.WriteAt(make([]byte, 4096), 0)
			f.Close()
		}
		done <- err
	}()
	if _, err := s.WaitHeld("w", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}

	proc := t.TempDir()
	const pid = "4242"
	os.MkdirAll(filepath.Join(proc, pid), 0o755)
	os.WriteFile(filepath.Join(proc, pid, "cmdline"), []byte("/init\x00fuse-server\x00-mount\x00/tmp/fuse1\x00-ctl\x00"+sock+"\x00"), 0o644)
	// The server's root, as procfs links it.
	os.Symlink("/", filepath.Join(proc, pid, "root"))
	os.MkdirAll(filepath.Join(proc, "77"), 0o755)
	os.WriteFile(filepath.Join(proc, "77", "cmdline"), []byte("/bin/sh\x00-c\x00true\x00"), 0o644)

	c := Collector{Proc: proc, Bound: 5 * time.Second}
	if d := cmp.Diff([]Server{{PID: 4242, Ctl: sock}}, c.Servers()); d != "" {
		t.Errorf("Servers (-want +got):\n%s", d)
	}
	lines, waiting := c.FUSE(time.Now())
	joined := strings.Join(lines, "\n")
	if len(waiting) != 1 {
		t.Errorf("waiting = %v, want the held writer's thread", waiting)
	}
	if !strings.Contains(joined, "server pid 4242 mounted on "+s.Mountpoint()+": 1 requests not answered") ||
		!strings.Contains(joined, "WRITE unique") || !strings.Contains(joined, "held at gate w") {
		t.Errorf("FUSE evidence:\n%s", joined)
	}
	s.ReleaseAll("w")
	if err := <-done; err != nil {
		t.Errorf("the held write: %v", err)
	}
}

// TestWrite: the frame the host reads back, in order.
func TestWrite(t *testing.T) {
	c := Collector{Proc: fakeProc(t), Bound: time.Second}
	var lines []string
	c.Write("scenario timeout of fuse/x", []byte("goroutine 1 [running]:\nmain.main()\n"), func(l string) { lines = append(lines, l) })
	var sections []string
	for i, l := range lines {
		e, ok := guestproto.ParseEvidence(l)
		if !ok {
			t.Fatalf("line %d is not evidence: %q", i, l)
		}
		switch {
		case i == 0 && !e.Begin, i == len(lines)-1 && !e.End:
			t.Fatalf("line %d: %q, want the frame's begin/end", i, l)
		case e.Section != "" && (len(sections) == 0 || sections[len(sections)-1] != e.Section):
			sections = append(sections, e.Section)
		}
	}
	want := []string{guestproto.SectionSummary, guestproto.SectionTasks, guestproto.SectionFUSE, guestproto.SectionGoroutines}
	if d := cmp.Diff(want, sections); d != "" {
		t.Errorf("sections (-want +got):\n%s", d)
	}
}
