package probe

import (
	"fmt"
	"strings"
)

// Events is the ordered record of one Start/Stop window, in ring-buffer
// order: the order in which the probes reserved their records, a total order
// across CPUs.
type Events []Event

// Count returns how many events are of kind k.
func (es Events) Count(k Kind) int {
	n := 0
	for _, e := range es {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// Has reports whether any event is of kind k.
func (es Events) Has(k Kind) bool { return es.Count(k) > 0 }

// Of returns the events of any of the given kinds, in order.
func (es Events) Of(kinds ...Kind) Events {
	return es.Where(func(e Event) bool {
		for _, k := range kinds {
			if e.Kind == k {
				return true
			}
		}
		return false
	})
}

// Where returns the events for which keep returns true, in order.
func (es Events) Where(keep func(Event) bool) Events {
	var out Events
	for _, e := range es {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// ForInode returns the events about one inode.
func (es Events) ForInode(id InodeID) Events {
	return es.Where(func(e Event) bool { return e.Inode == id })
}

// ForPID returns the events of one process (thread group).
func (es Events) ForPID(pid int) Events {
	return es.Where(func(e Event) bool { return int(e.PID) == pid })
}

// First returns the first event of kind k.
func (es Events) First(k Kind) (Event, bool) {
	for _, e := range es {
		if e.Kind == k {
			return e, true
		}
	}
	return Event{}, false
}

// Last returns the last event of kind k.
func (es Events) Last(k Kind) (Event, bool) {
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Kind == k {
			return es[i], true
		}
	}
	return Event{}, false
}

// InOrder reports whether the kinds occur in this order, not necessarily
// adjacent (a subsequence match, each kind matched at its earliest
// occurrence after the previous match).
func (es Events) InOrder(kinds ...Kind) bool { return es.CheckOrder(kinds...) == nil }

// CheckOrder is InOrder with an explanation: the error names the first kind
// that did not occur after its predecessor and lists the events.
func (es Events) CheckOrder(kinds ...Kind) error {
	i := 0
	for n, k := range kinds {
		found := false
		for ; i < len(es); i++ {
			if es[i].Kind == k {
				found = true
				i++
				break
			}
		}
		if !found {
			after := "at all"
			if n > 0 {
				after = "after " + kinds[n-1].String()
			}
			return fmt.Errorf("probe: want order %v: no %s %s; events:\n%s", kinds, k, after, es)
		}
	}
	return nil
}

// Kinds returns the kinds of the events, in order.
func (es Events) Kinds() []Kind {
	out := make([]Kind, len(es))
	for i, e := range es {
		out[i] = e.Kind
	}
	return out
}

// String renders one event per line with times relative to the first
// event, for failure messages.
func (es Events) String() string {
	if len(es) == 0 {
		return "(no events)\n"
	}
	var b strings.Builder
	t0 := es[0].TS
	for i, e := range es {
		fmt.Fprintf(&b, "%4d %+12.6fms %s\n", i, float64(e.TS-t0)/1e6, e)
	}
	return b.String()
}
