package probe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// tracefsRoot is where the guest agent mounts tracefs.
const tracefsRoot = "/sys/kernel/tracing"

// kprobeGroup is the tracefs event group of every counter's kprobe event.
const kprobeGroup = "dioharness"

// CallCounter counts the calls one thread makes to one kernel function,
// with a tracefs kprobe event enabled in a private tracing instance. It
// covers functions the BPF objects have no program for (inode_dio_wait):
// a kprobe event needs CONFIG_KPROBE_EVENTS, not a BPF program, and a
// private instance leaves the global trace buffer alone.
type CallCounter struct {
	root  string // tracefs mount
	event string // kprobe event name
	inst  string // tracing instance directory
	// filter selects the returns a return counter counts ("" = all).
	filter string
}

// NewCallCounter defines a kprobe event on the kernel function fn. The
// error says why the calls are not observable (no tracefs, no kprobe
// events, fn not probeable). Close removes the instance and the event.
func NewCallCounter(fn string) (*CallCounter, error) {
	return newCallCounterAt(tracefsRoot, fn)
}

// newCallCounterAt is NewCallCounter on the tracefs mounted at root.
func newCallCounterAt(root, fn string) (*CallCounter, error) {
	c := &CallCounter{root: root, event: kprobeGroup + "_" + fn}
	err := appendLine(filepath.Join(root, "kprobe_events"), fmt.Sprintf("p:%s/%s %s", kprobeGroup, c.event, fn))
	// EBUSY/EEXIST: the event is already defined (a counter that was
	// not closed); it counts the same calls.
	if err != nil && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("probe: define kprobe event on %s: %w", fn, err)
	}
	c.inst = filepath.Join(root, "instances", fmt.Sprintf("%s-%d-%s", kprobeGroup, os.Getpid(), fn))
	if err := os.Mkdir(c.inst, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("probe: tracing instance for %s: %w", fn, err)
	}
	return c, nil
}

// NewReturnCounter defines a return probe on the kernel function fn that
// fetches its return value as a signed 32-bit "ret" and counts, in every
// task, the returns for which ret == want. It observes what a process
// tree outside the harness's control (a kselftest binary and the
// children it forks) makes the kernel do: CountAll runs the workload.
func NewReturnCounter(fn string, want int32) (*CallCounter, error) {
	return newReturnCounterAt(tracefsRoot, fn, want)
}

func newReturnCounterAt(root, fn string, want int32) (*CallCounter, error) {
	c := &CallCounter{root: root, event: kprobeGroup + "_ret_" + fn, filter: fmt.Sprintf("ret == %d", want)}
	err := appendLine(filepath.Join(root, "kprobe_events"), fmt.Sprintf("r:%s/%s %s ret=$retval:s32", kprobeGroup, c.event, fn))
	if err != nil && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("probe: define return probe event on %s: %w", fn, err)
	}
	c.inst = filepath.Join(root, "instances", fmt.Sprintf("%s-%d-ret-%s", kprobeGroup, os.Getpid(), fn))
	if err := os.Mkdir(c.inst, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("probe: tracing instance for %s: %w", fn, err)
	}
	return c, nil
}

// CountAll runs fn and returns how many matching events any task
// produced meanwhile (the counter's filter, no task filter).
func (c *CallCounter) CountAll(fn func()) (int, error) {
	return c.count(c.filter, fn)
}

// Count runs fn on the calling goroutine, locked to its OS thread, and
// returns how many times that thread called the function meanwhile.
// Calls made by other threads are filtered out in the kernel.
func (c *CallCounter) Count(fn func()) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	filter := fmt.Sprintf("common_pid == %d", unix.Gettid())
	if c.filter != "" {
		filter += " && " + c.filter
	}
	return c.count(filter, fn)
}

// count enables the event with filter around fn and counts its records.
func (c *CallCounter) count(filter string, fn func()) (int, error) {
	ev := filepath.Join(c.inst, "events", kprobeGroup, c.event)
	trace := filepath.Join(c.inst, "trace")
	if err := writeTracefs(trace, ""); err != nil {
		return 0, err
	}
	if filter == "" {
		filter = "0" // clears a filter left by an earlier count
	}
	if err := writeTracefs(filepath.Join(ev, "filter"), filter); err != nil {
		return 0, err
	}
	enable := filepath.Join(ev, "enable")
	if err := writeTracefs(enable, "1"); err != nil {
		return 0, err
	}
	disabled := false
	defer func() {
		// fn ended the goroutine (runtime.Goexit): stop counting anyway.
		if !disabled {
			writeTracefs(enable, "0")
		}
	}()
	fn()
	disabled = true
	if err := writeTracefs(enable, "0"); err != nil {
		return 0, err
	}
	out, err := os.ReadFile(trace)
	if err != nil {
		return 0, fmt.Errorf("probe: read %s: %w", trace, err)
	}
	return countTraceEvents(out, c.event), nil
}

// Close removes the tracing instance and the kprobe event. Counters on
// the same function in one process share both, so what is already gone
// (ENOENT) is not an error: the first Close removed it.
func (c *CallCounter) Close() error {
	var errs []error
	if err := os.Remove(c.inst); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("probe: remove tracing instance: %w", err))
	}
	err := appendLine(filepath.Join(c.root, "kprobe_events"), "-:"+kprobeGroup+"/"+c.event)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("probe: remove kprobe event %s: %w", c.event, err))
	}
	return errors.Join(errs...)
}

// countTraceEvents counts the lines of a trace buffer dump that record
// event ("<task>-<pid> [cpu] ... <timestamp>: <event>: (<fn>+0x0/...)");
// header lines start with '#'.
func countTraceEvents(trace []byte, event string) int {
	n := 0
	for _, l := range strings.Split(string(trace), "\n") {
		if !strings.HasPrefix(l, "#") && strings.Contains(l, event+":") {
			n++
		}
	}
	return n
}

// appendLine appends one line to a tracefs control file: kprobe_events
// takes additions and "-:" removals that way.
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func writeTracefs(path, s string) error {
	if err := os.WriteFile(path, []byte(s), 0); err != nil {
		return fmt.Errorf("probe: write %s: %w", path, err)
	}
	return nil
}
