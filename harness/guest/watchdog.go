package guest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/guest/evidence"
	"dioharness/harness/guestproto"
	"dioharness/harness/ktap"
)

// Watchdog is the "watchdog TTY" subcommand: the process that answers
// the host's request for the evidence of a hang. It runs apart from the
// agent because the agent may be the one that hangs: a thread of it
// stuck in a page fault stops every goroutine at the next garbage
// collection. It reads the agent port (the host writes
// guestproto.DumpRequest there), gathers the blocked tasks and the
// FUSE servers' unanswered requests and writes them back as evidence
// lines; then it sends SIGQUIT to the agent. The Go runtime prints
// every goroutine of the agent on the console and exits, and the
// kernel, whose init died, panics: panic_print (qemu/x86_64.json) adds
// the backtrace of every CPU, the blocked tasks and the locks they
// hold, and QEMU exits.
func Watchdog(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: watchdog TTY")
		return 2
	}
	tty, err := os.OpenFile(args[0], os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "watchdog: %v\n", err)
		return 2
	}
	if err := quiet(int(tty.Fd())); err != nil {
		fmt.Fprintf(os.Stderr, "watchdog: %s: %v\n", args[0], err)
		return 2
	}
	// procfs through the working directory: an fstests guest moves
	// /proc into its new root, which this process never enters.
	if err := os.Chdir("/proc"); err != nil {
		fmt.Fprintf(os.Stderr, "watchdog: %v\n", err)
		return 2
	}
	c := evidence.Collector{Proc: ".", Bound: 5 * time.Second}
	return watch(tty, c, func() { unix.Kill(1, unix.SIGQUIT) })
}

// watch answers each dump request on r with the evidence, then calls
// end. It returns when r ends.
func watch(rw io.ReadWriter, c evidence.Collector, end func()) int {
	sc := bufio.NewScanner(rw)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != guestproto.DumpRequest {
			continue
		}
		c.Write("host request", nil, func(l string) { io.WriteString(rw, l+"\n") })
		end()
	}
	return 0
}

// quiet turns the echo of the agent port off, so that what the host
// writes (the dump request) never comes back into the KTAP stream, and
// the control characters' special meanings with it.
func quiet(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Lflag &^= unix.ECHO | unix.ECHOE | unix.ECHOK | unix.ECHONL | unix.ECHOCTL | unix.ECHOKE | unix.ISIG | unix.IEXTEN
	t.Iflag &^= unix.IXON
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// startWatchdog starts the watchdog on the agent port. Nothing waits
// for it: it lives as long as the guest.
func startWatchdog(exe, tty string) error {
	cmd := exec.Command(exe, "watchdog", tty)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the watchdog: %w", err)
	}
	return cmd.Process.Release()
}

// heartbeat writes guestproto.AliveLine to w every AliveInterval until
// stop is called: the host judges a guest hung when both this and the
// kernel console fall silent.
func heartbeat(w *ktap.Writer) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(guestproto.AliveInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				w.Other(guestproto.AliveLine(uptime()))
			}
		}
	}()
	return func() { close(done) }
}

// uptime is the guest's time since boot.
func uptime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// timeoutEvidence is the agent's Env.OnTimeout: the evidence of a
// scenario that outlived its own timeout, with the agent's goroutines,
// written to w; it returns who is blocked where, for the failure.
func timeoutEvidence(w *ktap.Writer) func(string) string {
	return func(name string) string {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		c := evidence.Collector{Proc: "/proc", Bound: 5 * time.Second}
		summary := c.Write("scenario timeout of "+name, buf, func(l string) { w.Other(l) })
		if len(summary) == 0 {
			return "no task blocked in the kernel"
		}
		return "blocked: " + summary[0]
	}
}
