package vm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
				"[    3.1] dioharness: start fuse/a",
				"[    3.2] ------------[ cut here ]------------",
				"[    3.2] WARNING: CPU: 0 PID: 33 at fs/fuse/file.c:1 f+0x1/0x2",
				"[    3.2] Modules linked in:",
				"[    3.3] ---[ end trace 0000000000000000 ]---",
				"[    3.4] after",
			},
			want: []Report{{
				Title:  "WARNING: CPU: 0 PID: 33 at fs/fuse/file.c:1 f+0x1/0x2",
				During: "fuse/a",
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
			name:  "hung task",
			lines: []string{"[ 61.0] INFO: task init:67 blocked for more than 61 seconds."},
			want:  []Report{{Title: "INFO: task init:67 blocked for more than 61 seconds.", Lines: []string{"INFO: task init:67 blocked for more than 61 seconds."}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newConsole(&strings.Builder{})
			c.consume(strings.NewReader(strings.Join(tc.lines, "\n") + "\n"))
			if d := cmp.Diff(tc.want, c.Reports()); d != "" {
				t.Errorf("reports (-want +got):\n%s", d)
			}
		})
	}
}

func TestConsolePanic(t *testing.T) {
	c := newConsole(&strings.Builder{})
	c.Feed("[ 9.0] Kernel panic - not syncing: Fatal exception")
	select {
	case <-c.Panicked():
	default:
		t.Fatal("panic line did not close Panicked")
	}
	c.Feed("Kernel panic - not syncing: again")
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "memory", cfg: Config{MemoryMiB: 64, Accel: "tcg"}, want: "bad guest memory: 64 MiB, want [256-16384]"},
		{name: "cpus", cfg: Config{CPUs: 99, Accel: "tcg"}, want: "bad guest CPUs: 99, want [1-8]"},
		{name: "accel", cfg: Config{Accel: "hvf"}, want: `bad accelerator "hvf", want kvm or tcg`},
		{name: "qemu missing", cfg: Config{QEMU: "/nonexistent/qemu", Accel: "tcg"}, want: "install Debian package qemu-system-x86"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("validate() = %v, want %q", err, tc.want)
			}
		})
	}
}
