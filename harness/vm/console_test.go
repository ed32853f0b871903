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
			want:  []Report{{Title: "INFO: task init:67 blocked for more than 61 seconds.", Lines: []string{"INFO: task init:67 blocked for more than 61 seconds."}}},
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
