// Package pid1 is what a Go program needs to run as /init of the test VM:
// the pseudo filesystems and limits of a bare initramfs, and the end of
// the VM with an exit code through QEMU's isa-debug-exit device. Which
// serial port and which exit port are the machine's (harness/guestproto
// carries them in the plan). The guest agent uses it, and
// so does the probe package's test binary when it boots as /init
// (harness/cmd/probeguest).
package pid1

import (
	"errors"
	"fmt"
	"os"

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

// Setup prepares a bare initramfs for the scenarios.
func Setup() error {
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

// PowerOff ends the VM with code, written to the I/O port of QEMU's
// isa-debug-exit device (the machine description assigns it; the guest
// learns it from its plan): QEMU exits (code<<1)|1. Without a port (0:
// no plan was read) or if the write does not end the VM, it reboots,
// which -no-reboot turns into a QEMU exit the host reads as "no
// verdict". It never returns.
func PowerOff(port uint16, code byte) {
	unix.Sync()
	if port != 0 {
		if f, err := os.OpenFile("/dev/port", os.O_WRONLY, 0); err == nil {
			f.WriteAt([]byte{code}, int64(port))
			f.Close()
		}
	}
	unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	select {}
}
