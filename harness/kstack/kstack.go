// Package kstack reads kernel stack traces as the kernel prints them: a
// task's stack in /proc/<pid>/stack, a hung-task report, a task dump
// (sched_show_task, as sysrq w and panic_print print it) and an NMI
// backtrace on the console. It names the function a blocked task waits
// in: the first frame above the scheduler and the lock or wait
// primitive it sleeps in, which is what a kernel developer reads first.
// The guest's hang evidence and the host's console scanner both use it,
// so it imports only the standard library.
package kstack

import (
	"regexp"
	"strconv"
	"strings"
)

// frame matches one stack line: "[<0>] request_wait_answer+0x1a2/0x2c0"
// (/proc/<pid>/stack), " request_wait_answer+0x1a2/0x2c0" (a console
// trace) or " ? request_wait_answer+0x..." (an unreliable frame), with
// an optional module in brackets after it.
var frame = regexp.MustCompile(`^\s*(?:\[<[0-9a-fx]+>\]\s*)?(\?\s+)?([A-Za-z_.$][A-Za-z0-9_.$]*)\+0x([0-9a-f]+)/0x([0-9a-f]+)(?:\s+\[\S+\])?\s*$`)

// Frame returns the function of one stack line. reliable is false for
// a "? " frame, which the unwinder found on the stack but could not
// prove is a return address (every frame, under UNWINDER_GUESS). ok is
// false for a line that is not a frame, and for an address at the very
// end of a function, which is no return address but the start of the
// next function (a guessing unwinder finds those on the stack).
func Frame(line string) (fn string, reliable, ok bool) {
	m := frame.FindStringSubmatch(line)
	if m == nil {
		return "", false, false
	}
	off, err1 := strconv.ParseUint(m[3], 16, 64)
	size, err2 := strconv.ParseUint(m[4], 16, 64)
	if err1 != nil || err2 != nil || off >= size {
		return "", false, false
	}
	return m[2], m[1] == "", true
}

// Frames returns the functions of a stack, innermost first, skipping
// every line that is not a frame: the reliable ones when the unwinder
// proved any, else every frame it guessed.
func Frames(lines []string) []string {
	var reliable, guessed []string
	for _, l := range lines {
		fn, r, ok := Frame(l)
		switch {
		case !ok:
		case r:
			reliable = append(reliable, fn)
		default:
			guessed = append(guessed, fn)
		}
	}
	if len(reliable) > 0 {
		return reliable
	}
	return guessed
}

// waiting are the prefixes of the functions a task sleeps in on its way
// to the scheduler: the scheduler itself, the sleeping locks, wait
// queues, completions and the page and folio waits. Blocked skips them.
var waiting = []string{
	"__schedule", "schedule", "preempt_schedule", "io_schedule",
	"__switch_to", "context_switch",
	"rwsem_down_", "down_read", "down_write", "__down", "down",
	"percpu_down_", "__percpu_down_", "percpu_rwsem_wait",
	"__mutex_lock", "mutex_lock", "__rt_mutex", "rt_mutex", "rwbase_",
	"wait_for_completion", "__wait_for_common", "wait_for_common", "do_wait_for_common",
	"__wait_event", "wait_event", "wait_woken", "prepare_to_wait", "finish_wait",
	"__wait_on_bit", "out_of_line_wait_on_bit", "wait_on_bit",
	"folio_wait_", "__folio_lock", "folio_lock", "__lock_page", "lock_page", "wait_on_page",
	"__wait_on_buffer", "__lock_buffer",
	"schedule_timeout", "schedule_hrtimeout", "usleep_range", "msleep",
	"do_nanosleep", "hrtimer_nanosleep",
	"futex_wait", "__futex_wait", "futex_do_wait",
	"lock_mm_and_find_vma",
}

// Blocked names where a blocked task waits: fn is the first frame that
// is not a wait primitive (the function that decided to wait), via the
// primitive just below it ("rwsem_down_write_slowpath", "schedule").
// Both are empty for an empty stack; via is empty when the innermost
// frame is already fn.
func Blocked(frames []string) (fn, via string) {
	for _, f := range frames {
		if !isWaiting(f) {
			return f, via
		}
		via = f
	}
	return "", via
}

// isWaiting matches a primitive by name, with the suffixes the compiler
// adds (".constprop.0", ".isra.0", ".cold") and, for a name ending in
// "_", as a prefix ("rwsem_down_" covers rwsem_down_write_slowpath).
func isWaiting(fn string) bool {
	base, _, _ := strings.Cut(fn, ".")
	for _, p := range waiting {
		switch {
		case base == p:
			return true
		case strings.HasSuffix(p, "_") && strings.HasPrefix(base, p):
			return true
		case strings.HasPrefix(base, p+"_") && variant(base[len(p)+1:]):
			return true
		}
	}
	return false
}

// variant says whether s, the rest of a name after a primitive's and
// "_", only names variants of it: down_write_killable,
// mutex_lock_nested, schedule_timeout_uninterruptible,
// schedule_preempt_disabled.
func variant(s string) bool {
	for _, w := range strings.Split(s, "_") {
		switch w {
		case "killable", "interruptible", "uninterruptible", "nested", "slowpath", "common",
			"timeout", "io", "state", "exclusive", "preempt", "disabled", "range":
		default:
			return false
		}
	}
	return true
}

// Where formats Blocked with the two callers above fn, outermost last:
// "request_wait_answer < __fuse_simple_request < fuse_perform_write
// (schedule)", or "" for an empty stack.
func Where(frames []string) string {
	fn, via := Blocked(frames)
	if fn == "" {
		return via
	}
	chain := []string{fn}
	for i, f := range frames {
		if f != fn {
			continue
		}
		for _, c := range frames[i+1:] {
			if len(chain) == 3 {
				break
			}
			chain = append(chain, c)
		}
		break
	}
	s := strings.Join(chain, " < ")
	if via != "" {
		s += " (" + via + ")"
	}
	return s
}

// Task is a task as a task dump, a hung-task report or /proc shows it.
type Task struct {
	Comm  string
	PID   int
	State string
	// Stack holds the frames (Frames), innermost first.
	Stack []string
}

// taskLine matches sched_show_task's first line:
// "task:init            state:D stack:0     pid:130   tgid:1 ...".
var taskLine = regexp.MustCompile(`^task:(.*?)\s+state:(\S)\s.*?\bpid:\s*(\d+)`)

// Tasks reads the task dumps in console lines (timestamps removed):
// each "task:... state:X ... pid:N" line opens a task whose frames
// follow until the next task line or the end of its </TASK> block.
func Tasks(lines []string) []Task {
	var out []Task
	var stacks [][]string
	cur := -1
	for _, l := range lines {
		if m := taskLine.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			pid, _ := strconv.Atoi(m[3])
			out = append(out, Task{Comm: strings.TrimSpace(m[1]), State: m[2], PID: pid})
			stacks = append(stacks, nil)
			cur = len(out) - 1
			continue
		}
		if cur < 0 {
			continue
		}
		if strings.TrimSpace(l) == "</TASK>" {
			cur = -1
			continue
		}
		stacks[cur] = append(stacks[cur], l)
	}
	for i := range out {
		out[i].Stack = Frames(stacks[i])
	}
	return out
}

// CPU is one CPU's position in an NMI backtrace.
type CPU struct {
	CPU int
	// RIP is the function the CPU was executing ("" if not printed:
	// an idle CPU's backtrace is often skipped; "idle" then).
	RIP string
	// Stack holds the frames below it (Frames), innermost first.
	Stack []string
}

var (
	nmiLine = regexp.MustCompile(`^NMI backtrace for cpu (\d+)(?: skipped: idling at ([A-Za-z_.$][A-Za-z0-9_.$]*))?`)
	ripLine = regexp.MustCompile(`^RIP: [0-9a-f]{4}:([A-Za-z_.$][A-Za-z0-9_.$]*)\+0x`)
)

// CPUs reads the "NMI backtrace for cpu N" sections of console lines
// (timestamps removed).
func CPUs(lines []string) []CPU {
	var out []CPU
	var stacks [][]string
	cur := -1
	inNMI := false
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if m := nmiLine.FindStringSubmatch(t); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, CPU{CPU: n, RIP: m[2]})
			stacks = append(stacks, nil)
			cur, inNMI = len(out)-1, false
			if m[2] != "" {
				cur = -1 // skipped: nothing follows
			}
			continue
		}
		if cur < 0 {
			continue
		}
		switch {
		case out[cur].RIP == "" && ripLine.MatchString(t):
			out[cur].RIP = ripLine.FindStringSubmatch(t)[1]
		case t == "<NMI>":
			// The NMI handler's own frames say nothing of the CPU.
			inNMI = true
		case t == "</NMI>":
			inNMI = false
		case t == "</TASK>":
			cur = -1
		case !inNMI:
			stacks[cur] = append(stacks[cur], l)
		}
	}
	for i := range out {
		out[i].Stack = Frames(stacks[i])
	}
	return out
}
