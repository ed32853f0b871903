package vm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/guestproto"
)

func TestConsoleReports(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []Report
	}{
		{
			name:  "clean boot",
			lines: []string{"[    0.000000] Linux version 6.12.117", "[    1.0] Run /init as init process"},
		},
		{
			name: "warn attributed to the running scenario",
			lines: []string{
				"[    3.1] " + guestproto.KmsgStart(1, "fuse/a"),
				"[    3.2] ------------[ cut here ]------------",
				"[    3.2] WARNING: CPU: 0 PID: 33 at fs/fuse/file.c:1 f+0x1/0x2",
				"[    3.2] Modules linked in:",
				"[    3.3] ---[ end trace 0000000000000000 ]---",
				"[    3.4] after",
			},
			want: []Report{{
				Title:  "WARNING: CPU: 0 PID: 33 at fs/fuse/file.c:1 f+0x1/0x2",
				During: "fuse/a",
				Test:   1,
				Lines: []string{
					"WARNING: CPU: 0 PID: 33 at fs/fuse/file.c:1 f+0x1/0x2",
					"Modules linked in:",
					"---[ end trace 0000000000000000 ]---",
				},
			}},
		},
		{
			name: "lockdep opens with a rule line",
			lines: []string{
				"[    5.0] ======================================================",
				"[    5.0] WARNING: possible circular locking dependency detected",
				"[    5.0] ---[ end trace 1 ]---",
			},
			want: []Report{{
				Title: "WARNING: possible circular locking dependency detected",
				Lines: []string{
					"======================================================",
					"WARNING: possible circular locking dependency detected",
					"---[ end trace 1 ]---",
				},
			}},
		},
		{
			name:  "a rule line alone is not a report",
			lines: []string{"======================================================", "hello", "BUG: kernel NULL pointer dereference"},
			want:  []Report{{Title: "BUG: kernel NULL pointer dereference", Lines: []string{"BUG: kernel NULL pointer dereference"}}},
		},
		{
			name: "a repeated scenario: the report names the repetition",
			lines: []string{
				"[    3.1] " + guestproto.KmsgStart(1, "fuse/a"),
				"[    3.2] " + guestproto.KmsgEnd(1, "fuse/a", "pass"),
				"[    3.3] " + guestproto.KmsgStart(2, "fuse/a"),
				"[    3.4] BUG: kernel NULL pointer dereference, address: 0000000000000000",
			},
			want: []Report{{
				Title: "BUG: kernel NULL pointer dereference, address: 0000000000000000", During: "fuse/a", Test: 2,
				Lines: []string{"BUG: kernel NULL pointer dereference, address: 0000000000000000"},
			}},
		},
		{
			name:  "hung task",
			lines: []string{"[ 61.0] INFO: task init:67 blocked for more than 61 seconds."},
			want:  []Report{{Title: "INFO: task init:67 blocked for more than 61 seconds.", Lines: []string{"INFO: task init:67 blocked for more than 61 seconds."}, Hang: true}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newConsole(&strings.Builder{}, nil)
			c.consume(strings.NewReader(strings.Join(tc.lines, "\n") + "\n"))
			if d := cmp.Diff(tc.want, c.Reports()); d != "" {
				t.Errorf("reports (-want +got):\n%s", d)
			}
		})
	}
}

func TestConsoleEcho(t *testing.T) {
	var log, echo strings.Builder
	c := newConsole(&log, &echo)
	c.consume(strings.NewReader("one\r\ntwo\n"))
	if log.String() != "one\ntwo\n" || echo.String() != log.String() {
		t.Errorf("log %q, echo %q; want both %q", log.String(), echo.String(), "one\ntwo\n")
	}
}

func TestConsolePanic(t *testing.T) {
	c := NewConsole()
	c.Feed("[ 9.0] Kernel panic - not syncing: Fatal exception")
	select {
	case <-c.Panicked():
	default:
		t.Fatal("panic line did not close Panicked")
	}
	c.Feed("Kernel panic - not syncing: again")
}

func TestConfigValidate(t *testing.T) {
	m := testMachine(t)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "memory", cfg: Config{Machine: m, MemoryMiB: 64, Accel: "tcg"}, want: "bad memory_mib 64, want [256-16384]"},
		{name: "cpus", cfg: Config{Machine: m, CPUs: 99, Accel: "tcg"}, want: "bad cpus 99, want [1-8]"},
		{name: "accel", cfg: Config{Machine: m, Accel: "hvf"}, want: `bad accelerator "hvf", want kvm or tcg`},
		{name: "no machine", cfg: Config{Accel: "tcg"}, want: "machine: bad arch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("validate() = %v, want %q", err, tc.want)
			}
		})
	}
	m.QEMU = "/nonexistent/qemu"
	cfg := Config{Machine: m, Accel: "tcg"}
	if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), "install Debian package qemu-system-x86") {
		t.Errorf("validate() with a missing QEMU = %v, want the Debian package named", err)
	}
}

// TestConsoleHangReport: a hung-task report is a hang and names the
// function the task waits in.
func TestConsoleHangReport(t *testing.T) {
	c := NewConsole()
	for _, l := range []string{
		"[   40.1] " + guestproto.KmsgStart(3, "harness/deadlock"),
		"[   75.2] INFO: task init:141 blocked for more than 30 seconds.",
		"[   75.2]       Not tainted 7.3.4+ #1",
		`[   75.2] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.`,
		"[   75.2] task:init            state:D stack:0     pid:141   tgid:1     ppid:0      task_flags:0x400140 flags:0x00004000",
		"[   75.2] Call Trace:",
		"[   75.2]  <TASK>",
		"[   75.2]  __schedule+0x2f1/0x7a0",
		"[   75.2]  schedule+0x3a/0xc0",
		"[   75.2]  rwsem_down_write_slowpath+0x1f5/0x6d0",
		"[   75.2]  down_write+0x8e/0xa0",
		"[   75.2]  fuse_file_write_iter+0x14c/0x3d0",
		"[   75.2]  vfs_write+0x29b/0x450",
		"[   75.2]  ksys_write+0x6d/0xf0",
		"[   75.2]  </TASK>",
		"[   76.0] WARNING: CPU: 0 PID: 9 at x.c:1 f+0x1/0x2",
		"[   76.0] ---[ end trace 0 ]---",
	} {
		c.Feed(l)
	}
	r := c.Reports()
	if len(r) != 2 {
		t.Fatalf("%d reports, want 2: %+v", len(r), r)
	}
	if !r[0].Hang || r[0].Blocked != "fuse_file_write_iter < vfs_write < ksys_write (down_write)" || r[0].During != "harness/deadlock" {
		t.Errorf("hung-task report: hang %v, blocked %q, during %q", r[0].Hang, r[0].Blocked, r[0].During)
	}
	if r[1].Hang || r[1].Blocked != "" {
		t.Errorf("a WARN is not a hang: %+v", r[1])
	}
}

// TestConsoleInduce: what follows the host's request for evidence (the
// panic it causes and its dumps) is kept aside, not reported, and the
// panic still ends the wait.
func TestConsoleInduce(t *testing.T) {
	c := NewConsole()
	c.Feed("[ 5.0] WARNING: CPU: 0 PID: 9 at x.c:1 f+0x1/0x2")
	c.Induce()
	for _, l := range []string{
		"[ 99.0] goroutine 1 [select]:",
		"[ 99.1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000200",
		"[ 99.2] NMI backtrace for cpu 1",
	} {
		c.Feed(l)
	}
	select {
	case <-c.Panicked():
	default:
		t.Fatal("the induced panic did not close Panicked")
	}
	r := c.Reports()
	if len(r) != 1 || !strings.HasPrefix(r[0].Title, "WARNING: ") {
		t.Errorf("reports %+v, want only the WARN before the request", r)
	}
	want := []string{"goroutine 1 [select]:", "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000200", "NMI backtrace for cpu 1"}
	if d := cmp.Diff(want, c.After()); d != "" {
		t.Errorf("After (-want +got):\n%s", d)
	}
	if n, last := c.Activity(); n != 4 || last.IsZero() {
		t.Errorf("Activity = %d, %v; want 4 lines", n, last)
	}
}
