package kstack

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFrame(t *testing.T) {
	tests := []struct {
		line     string
		fn       string
		reliable bool
		ok       bool
	}{
		{"[<0>] request_wait_answer+0x1a2/0x2c0", "request_wait_answer", true, true},
		{" __schedule+0x2f1/0x7a0", "__schedule", true, true},
		{" ? fuse_flush+0x10/0x24", "fuse_flush", false, true},
		// An address at the end of a function is the next one's start.
		{" ? fuse_perform_write+0x486/0x486", "", false, false},
		{" fuse_dev_do_read+0x33/0x540 [fuse]", "fuse_dev_do_read", true, true},
		{" rwsem_down_write_slowpath.constprop.0+0x1f5/0x6d0", "rwsem_down_write_slowpath.constprop.0", true, true},
		{" <TASK>", "", false, false},
		{"Call Trace:", "", false, false},
		{"RIP: 0010:default_idle+0xb/0x10", "", false, false},
	}
	for _, tt := range tests {
		fn, reliable, ok := Frame(tt.line)
		if fn != tt.fn || reliable != tt.reliable || ok != tt.ok {
			t.Errorf("Frame(%q) = %q, %v, %v; want %q, %v, %v", tt.line, fn, reliable, ok, tt.fn, tt.reliable, tt.ok)
		}
	}
}

func TestWhere(t *testing.T) {
	tests := []struct {
		name   string
		frames []string
		want   string
	}{
		{"empty", nil, ""},
		{"fuse request", []string{"__schedule", "schedule", "request_wait_answer", "__fuse_simple_request", "fuse_perform_write", "fuse_file_write_iter", "vfs_write"},
			"request_wait_answer < __fuse_simple_request < fuse_perform_write (schedule)"},
		{"i_rwsem", []string{"__schedule", "schedule", "schedule_preempt_disabled", "rwsem_down_write_slowpath.constprop.0", "down_write", "fuse_file_write_iter", "vfs_write", "ksys_write"},
			"fuse_file_write_iter < vfs_write < ksys_write (down_write)"},
		{"page fault behind mmap_lock", []string{"__schedule", "schedule", "rwsem_down_read_slowpath", "down_read_killable", "lock_mm_and_find_vma", "do_user_addr_fault", "exc_page_fault", "asm_exc_page_fault"},
			"do_user_addr_fault < exc_page_fault < asm_exc_page_fault (lock_mm_and_find_vma)"},
		{"not waiting", []string{"fuse_file_cached_io_open", "fuse_file_mmap"}, "fuse_file_cached_io_open < fuse_file_mmap"},
		{"only primitives", []string{"__schedule", "schedule"}, "schedule"},
		{"a name that only starts like a primitive", []string{"schedule", "down_trylock_sem_wrapper", "x"}, "down_trylock_sem_wrapper < x (schedule)"},
	}
	for _, tt := range tests {
		if got := Where(tt.frames); got != tt.want {
			t.Errorf("%s: Where = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A hung-task report of v7.3 with the blocker it names, timestamps
// removed as the console scanner does.
const hungReport = `INFO: task init:141 blocked for more than 30 seconds.
      Not tainted 7.3.4+ #1
"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
task:init            state:D stack:0     pid:141   tgid:1     ppid:0      task_flags:0x400140 flags:0x00004000
Call Trace:
 <TASK>
 __schedule+0x2f1/0x7a0
 ? lock_release+0xc6/0x290
 schedule+0x3a/0xc0
 schedule_preempt_disabled+0x15/0x30
 rwsem_down_write_slowpath+0x1f5/0x6d0
 down_write+0x8e/0xa0
 fuse_file_write_iter+0x14c/0x3d0
 vfs_write+0x29b/0x450
 ksys_write+0x6d/0xf0
 do_syscall_64+0x6b/0x1a0
 entry_SYSCALL_64_after_hwframe+0x76/0x7e
RIP: 0033:0x40ab2e
 </TASK>
task:init            state:D stack:0     pid:140   tgid:1     ppid:0      task_flags:0x400140 flags:0x00004000
Call Trace:
 <TASK>
 __schedule+0x2f1/0x7a0
 schedule+0x3a/0xc0
 request_wait_answer+0x1a2/0x2c0
 __fuse_simple_request+0x10e/0x2e0
 fuse_perform_write+0x2a6/0x5a0
 </TASK>`

func TestTasks(t *testing.T) {
	got := Tasks(strings.Split(hungReport, "\n"))
	want := []Task{
		{Comm: "init", PID: 141, State: "D", Stack: []string{"__schedule", "schedule", "schedule_preempt_disabled", "rwsem_down_write_slowpath", "down_write", "fuse_file_write_iter", "vfs_write", "ksys_write", "do_syscall_64", "entry_SYSCALL_64_after_hwframe"}},
		{Comm: "init", PID: 140, State: "D", Stack: []string{"__schedule", "schedule", "request_wait_answer", "__fuse_simple_request", "fuse_perform_write"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Tasks (-want +got):\n%s", d)
	}
	if w := Where(got[0].Stack); w != "fuse_file_write_iter < vfs_write < ksys_write (down_write)" {
		t.Errorf("Where(task 141) = %q", w)
	}
}

const nmiBacktrace = `NMI backtrace for cpu 0
CPU: 0 UID: 0 PID: 0 Comm: swapper/0 Not tainted 7.3.4+ #1 PREEMPT(voluntary)
RIP: 0010:default_idle+0xb/0x10
Code: 07 76 e8 ...
Call Trace:
 <TASK>
 default_idle_call+0x2d/0x130
 do_idle+0x1ff/0x250
 </TASK>
NMI backtrace for cpu 1
CPU: 1 UID: 0 PID: 131 Comm: init Not tainted 7.3.4+ #1
RIP: 0010:fuse_dev_do_read+0x33/0x540
Call Trace:
 <NMI>
 nmi_cpu_backtrace+0xd1/0x110
 </NMI>
 <TASK>
 fuse_dev_read+0x5b/0x90
 vfs_read+0x1d4/0x300
 </TASK>`

func TestCPUs(t *testing.T) {
	got := CPUs(strings.Split(nmiBacktrace, "\n"))
	want := []CPU{
		{CPU: 0, RIP: "default_idle", Stack: []string{"default_idle_call", "do_idle"}},
		{CPU: 1, RIP: "fuse_dev_do_read", Stack: []string{"fuse_dev_read", "vfs_read"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("CPUs (-want +got):\n%s", d)
	}
}

// console reads a console excerpt of a real run (v7.3 with tinyconfig's
// UNWINDER_GUESS: every frame is a "? " frame) without timestamps.
func console(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	ts := regexp.MustCompile(`^\[\s*\d+\.\d+\]\s?`)
	var out []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		out = append(out, ts.ReplaceAllString(l, ""))
	}
	return out
}

// TestGuessedStacks: with no reliable frame, the guessed ones name the
// blocked function, the hung writer's and the blocker's it names.
func TestGuessedStacks(t *testing.T) {
	tasks := Tasks(console(t, "hung-task-guess-unwinder.txt"))
	var got []string
	for _, tk := range tasks {
		got = append(got, tk.Comm+"["+strconv.Itoa(tk.PID)+"] "+tk.State+" "+Where(tk.Stack))
	}
	want := []string{
		"init[63] D fuse_file_write_iter < rcu_read_lock_any_held < vfs_write (down_write)",
		"init[61] S request_wait_answer < fuse_chan_send < fuse_perform_write (schedule)",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("tasks (-want +got):\n%s", d)
	}
	cpus := CPUs(console(t, "nmi-backtrace-guess-unwinder.txt"))
	var where []string
	for _, c := range cpus {
		where = append(where, strconv.Itoa(c.CPU)+" "+c.RIP)
	}
	if d := cmp.Diff([]string{"0 ", "1 delay_tsc", "1 default_idle"}, where); d != "" {
		t.Errorf("CPUs (-want +got):\n%s", d)
	}
	if len(cpus[1].Stack) == 0 || cpus[1].Stack[0] != "wait_for_lsr" {
		t.Errorf("CPU 1's stack = %q", cpus[1].Stack)
	}
}
