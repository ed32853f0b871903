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
	traceEvent
}

// traceEvent is a dynamic probe event (kprobe or kretprobe) in the
// dioharness group with a private tracing instance, traced for one thread.
type traceEvent struct {
	root  string // tracefs mount
	event string // probe event name
	inst  string // tracing instance directory
}

// NewCallCounter defines a kprobe event on the kernel function fn. The
// error says why the calls are not observable (no tracefs, no kprobe
// events, fn not probeable). Close removes the instance and the event.
func NewCallCounter(fn string) (*CallCounter, error) {
	return newCallCounterAt(tracefsRoot, fn)
}

// newCallCounterAt is NewCallCounter on the tracefs mounted at root.
func newCallCounterAt(root, fn string) (*CallCounter, error) {
	ev, err := newTraceEventAt(root, kprobeGroup+"_"+fn, "p", fn, "", fn)
	if err != nil {
		return nil, err
	}
	return &CallCounter{*ev}, nil
}

// newTraceEventAt defines the probe event "<kind>:dioharness/<event> <fn>
// <fetch>" on the tracefs mounted at root and makes its tracing instance,
// named after instSuffix.
func newTraceEventAt(root, event, kind, fn, fetch, instSuffix string) (*traceEvent, error) {
	c := &traceEvent{root: root, event: event}
	def := fmt.Sprintf("%s:%s/%s %s", kind, kprobeGroup, c.event, fn)
	if fetch != "" {
		def += " " + fetch
	}
	err := appendLine(filepath.Join(root, "kprobe_events"), def)
	// EBUSY/EEXIST: the event is already defined (a probe that was not
	// closed); it traces the same calls.
	if err != nil && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("probe: define kprobe event on %s: %w", fn, err)
	}
	c.inst = filepath.Join(root, "instances", fmt.Sprintf("%s-%d-%s", kprobeGroup, os.Getpid(), instSuffix))
	if err := os.Mkdir(c.inst, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("probe: tracing instance for %s: %w", fn, err)
	}
	return c, nil
}

// Count runs fn on the calling goroutine, locked to its OS thread, and
// returns how many times that thread called the function meanwhile.
// Calls made by other threads are filtered out in the kernel.
func (c *CallCounter) Count(fn func()) (int, error) {
	out, err := c.trace(fn)
	if err != nil {
		return 0, err
	}
	return countTraceEvents(out, c.event), nil
}

// CountAll runs fn and returns how many calls any task made to the
// function meanwhile. It observes what a process tree outside the
// harness's control does (a kselftest binary and the children it forks).
func (c *CallCounter) CountAll(fn func()) (int, error) {
	out, err := c.traceAll(fn)
	if err != nil {
		return 0, err
	}
	return countTraceEvents(out, c.event), nil
}

// trace runs fn on the calling goroutine, locked to its OS thread, with
// the event enabled for that thread only, and returns the instance's
// trace buffer.
func (c *traceEvent) trace(fn func()) ([]byte, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return c.traceFiltered(fmt.Sprintf("common_pid == %d", unix.Gettid()), fn)
}

// traceAll runs fn with the event enabled for every task and returns the
// instance's trace buffer.
func (c *traceEvent) traceAll(fn func()) ([]byte, error) {
	// "0" clears a filter an earlier trace left on the shared event.
	return c.traceFiltered("0", fn)
}

// traceFiltered runs fn with the event enabled under filter and returns
// the instance's trace buffer.
func (c *traceEvent) traceFiltered(filter string, fn func()) ([]byte, error) {
	ev := filepath.Join(c.inst, "events", kprobeGroup, c.event)
	trace := filepath.Join(c.inst, "trace")
	if err := writeTracefs(trace, ""); err != nil {
		return nil, err
	}
	if err := writeTracefs(filepath.Join(ev, "filter"), filter); err != nil {
		return nil, err
	}
	enable := filepath.Join(ev, "enable")
	if err := writeTracefs(enable, "1"); err != nil {
		return nil, err
	}
	disabled := false
	defer func() {
		// fn ended the goroutine (runtime.Goexit): stop tracing anyway.
		if !disabled {
			writeTracefs(enable, "0")
		}
	}()
	fn()
	disabled = true
	if err := writeTracefs(enable, "0"); err != nil {
		return nil, err
	}
	out, err := os.ReadFile(trace)
	if err != nil {
		return nil, fmt.Errorf("probe: read %s: %w", trace, err)
	}
	return out, nil
}

// Close removes the tracing instance and the probe event. Probes on the
// same function in one process share both, so what is already gone
// (ENOENT) is not an error: the first Close removed it.
func (c *traceEvent) Close() error {
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
