// Package guest is the agent that runs as PID 1 in the test VM: it
// mounts the pseudo filesystems, runs the requested scenarios, writes
// KTAP to the agent channel (ttyS1) and ends the VM carrying the verdict
// out through QEMU's isa-debug-exit port.
package guest

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

type mountPoint struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
}

// pseudoFS are mounted in this order; each needs its parent.
var pseudoFS = []mountPoint{
	{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
	{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
	{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
	{"tracefs", "/sys/kernel/tracing", "tracefs", 0, ""},
	{"debugfs", "/sys/kernel/debug", "debugfs", 0, ""},
	{"bpf", "/sys/fs/bpf", "bpf", 0, ""},
	{"fusectl", "/sys/fs/fuse/connections", "fusectl", 0, ""},
}

// setupPID1 prepares a bare initramfs for the scenarios.
func setupPID1() error {
	for _, m := range pseudoFS {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", m.target, err)
		}
		if err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
		}
	}
	// devtmpfs lacks the fd links that some tools expect.
	for link, target := range map[string]string{
		"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
		"/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2",
	} {
		os.Symlink(target, link)
	}
	// BPF maps and ring buffers are charged to memlock before 5.11
	// and in some configurations still are.
	inf := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &inf); err != nil {
		return fmt.Errorf("rlimit memlock: %w", err)
	}
	os.Setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin")
	os.Setenv("HOME", "/tmp")
	return nil
}

// Cmdline is what the host asks of this boot, read from /proc/cmdline.
type Cmdline struct {
	// Run is the comma-separated scenario glob list.
	Run string
	// Flavour is base, patched or custom.
	Flavour string
	// Probe asks the agent only to prove it started (accelerator probe).
	Probe bool
	// Repeat runs the selection this many times (flake checks).
	Repeat int
}

// ParseCmdline reads dioharness.* words from a kernel command line.
func ParseCmdline(s string) Cmdline {
	c := Cmdline{Flavour: "custom", Repeat: 1}
	for _, w := range strings.Fields(s) {
		k, v, _ := strings.Cut(w, "=")
		switch k {
		case "dioharness.run":
			c.Run = v
		case "dioharness.flavour":
			c.Flavour = v
		case "dioharness.probe":
			c.Probe = v == "1"
		case "dioharness.repeat":
			fmt.Sscan(v, &c.Repeat)
			if c.Repeat < 1 {
				c.Repeat = 1
			}
		}
	}
	return c
}

// exitPort is QEMU's isa-debug-exit device.
const exitPort = 0xf4

// poweroff ends the VM with the verdict: QEMU exits (code<<1)|1. If the
// port is missing it falls back to a reboot, which -no-reboot turns into
// a QEMU exit the host reads as "no verdict".
func poweroff(code byte) {
	unix.Sync()
	if f, err := os.OpenFile("/dev/port", os.O_WRONLY, 0); err == nil {
		f.WriteAt([]byte{code}, exitPort)
		f.Close()
	}
	unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	select {}
}

// OpenFile is the "open-file PATH" subcommand: a separate process that
// waits for a line on stdin, then opens PATH read-write, prints "opened"
// and exits. A scenario starts it before it opens any file of its own
// (a forked child flushes every inherited FUSE file at exec) and kills
// it while it waits in the kernel.
func OpenFile(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: open-file PATH")
		return 2
	}
	fmt.Println("ready")
	var go_ string
	fmt.Scanln(&go_)
	f, err := os.OpenFile(args[0], os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "open-file: %v\n", err)
		return 1
	}
	fmt.Println("opened")
	f.Close()
	return 0
}
