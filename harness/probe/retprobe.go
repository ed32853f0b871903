package probe

import (
	"fmt"
	"strconv"
	"strings"
)

// ReturnProbe records the return values of the calls one thread makes to
// one kernel function, with a tracefs kretprobe event fetching $retval in
// a private tracing instance. Like CallCounter it covers functions the
// BPF objects have no program for (generic_update_time, ext4_iomap_begin)
// and needs CONFIG_KPROBE_EVENTS and CONFIG_KRETPROBES, not a BPF program.
type ReturnProbe struct {
	traceEvent
}

// NewReturnProbe defines a kretprobe event on the kernel function fn
// whose return value is a signed integer of bits (32 for int, 64 for
// long/ssize_t): the upper half of the return register is undefined for
// an int. The error says why the returns are not observable. Close
// removes the instance and the event.
func NewReturnProbe(fn string, bits int) (*ReturnProbe, error) {
	return newReturnProbeAt(tracefsRoot, fn, bits)
}

// newReturnProbeAt is NewReturnProbe on the tracefs mounted at root.
func newReturnProbeAt(root, fn string, bits int) (*ReturnProbe, error) {
	if bits != 32 && bits != 64 {
		return nil, fmt.Errorf("probe: return value of %s: %d bits, want 32 or 64", fn, bits)
	}
	event := kprobeGroup + "_ret_" + fn
	ev, err := newTraceEventAt(root, event, "r", fn, fmt.Sprintf("ret=$retval:s%d", bits), "ret-"+fn)
	if err != nil {
		return nil, err
	}
	return &ReturnProbe{*ev}, nil
}

// Returns runs fn on the calling goroutine, locked to its OS thread, and
// returns what each call that thread made to the function meanwhile
// returned, in order. Calls made by other threads are filtered out in
// the kernel.
func (r *ReturnProbe) Returns(fn func()) ([]int64, error) {
	out, err := r.trace(fn)
	if err != nil {
		return nil, err
	}
	return parseReturns(out, r.event)
}

// ReturnsAll runs fn and returns what each call any task made to the
// function meanwhile returned, in the order the trace buffer holds them.
func (r *ReturnProbe) ReturnsAll(fn func()) ([]int64, error) {
	out, err := r.traceAll(fn)
	if err != nil {
		return nil, err
	}
	return parseReturns(out, r.event)
}

// parseReturns reads the return values of event from a trace buffer dump:
// "<task>-<pid> [cpu] ... <ts>: <event>: (<caller>+0x../0x.. <- <fn>) ret=<n>".
func parseReturns(trace []byte, event string) ([]int64, error) {
	var rets []int64
	for _, l := range strings.Split(string(trace), "\n") {
		if strings.HasPrefix(l, "#") || !strings.Contains(l, event+":") {
			continue
		}
		i := strings.LastIndex(l, " ret=")
		if i < 0 {
			return nil, fmt.Errorf("probe: %s: no ret= in trace line %q", event, l)
		}
		f := strings.Fields(l[i+len(" ret="):])
		if len(f) == 0 {
			return nil, fmt.Errorf("probe: %s: empty ret= in trace line %q", event, l)
		}
		v, err := strconv.ParseInt(f[0], 0, 64)
		if err != nil {
			return nil, fmt.Errorf("probe: %s: bad ret= in trace line %q: %w", event, l, err)
		}
		rets = append(rets, v)
	}
	return rets, nil
}
