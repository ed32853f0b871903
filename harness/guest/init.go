// Package guest is the agent that runs as PID 1 in the test VM: it
// mounts the pseudo filesystems, reads the host's plan, runs the planned
// scenarios, writes KTAP to the agent channel the plan names and ends
// the VM carrying its verdict out through QEMU's isa-debug-exit port.
// Everything it shares with the host is in harness/guestproto.
package guest

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"dioharness/harness/guestproto"
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

// poweroff ends the VM with the verdict: a write of v to QEMU's
// isa-debug-exit port (guestproto.Verdict.ExitStatus). Without a port
// (no plan was read) or if the write does not end the VM, it reboots,
// which -no-reboot turns into a QEMU exit the host reads as "no
// verdict".
func poweroff(port uint16, v guestproto.Verdict) {
	unix.Sync()
	if port != 0 {
		if f, err := os.OpenFile("/dev/port", os.O_WRONLY, 0); err == nil {
			f.WriteAt([]byte{byte(v)}, int64(port))
			f.Close()
		}
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
