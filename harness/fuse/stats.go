package fuse

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Record is one request in the log. End is zero while the request is in
// flight (for example held at a gate).
type Record struct {
	Op     Opcode    `json:"op"`
	Unique uint64    `json:"unique"`
	NodeID uint64    `json:"nodeid"`
	Path   string    `json:"path,omitempty"`
	Offset uint64    `json:"offset,omitempty"`
	Size   uint32    `json:"size,omitempty"`
	Flags  uint32    `json:"flags,omitempty"` // open flags, write_flags, fsync_flags, mode...
	PID    uint32    `json:"pid"`             // the caller's thread ID, as the kernel sends it
	Start  time.Time `json:"start"`
	End    time.Time `json:"end,omitzero"`
	Errno  Errno     `json:"errno,omitempty"`
	Gate   string    `json:"gate,omitempty"`  // gate that held the request
	Fault  string    `json:"fault,omitempty"` // fault that applied ("" if unnamed: see Delayed/Errno)
	// Reply is the FOPEN_* flags of an OPEN/CREATE/OPENDIR reply.
	Reply uint32 `json:"reply_flags,omitempty"`
	// Worker is the index of the worker (device descriptor) that read it.
	Worker int `json:"worker"`
}

// Duration is End-Start, or 0 while in flight.
func (r Record) Duration() time.Duration {
	if r.End.IsZero() {
		return 0
	}
	return r.End.Sub(r.Start)
}

// InFlight is the concurrency of one (nodeid, opcode) pair.
type InFlight struct {
	NodeID  uint64 `json:"nodeid"`
	Op      Opcode `json:"op"`
	Current int    `json:"current"`
	Max     int    `json:"max"`
}

// Stats is a snapshot of the counters.
type Stats struct {
	// Counts is the number of requests received per opcode name.
	Counts map[string]uint64 `json:"counts"`
	// InFlight lists every (nodeid, opcode) seen since the last reset,
	// sorted by nodeid then opcode.
	InFlight []InFlight `json:"inflight"`
	// Malformed counts messages that could not be parsed.
	Malformed uint64 `json:"malformed"`
	// Gates reports the armed gates.
	Gates []GateState `json:"gates,omitempty"`
}

// Count returns the number of requests received with opcode op.
func (s Stats) Count(op Opcode) uint64 { return s.Counts[op.String()] }

// MaxInFlight returns the maximum number of concurrent op requests on
// nodeID observed since the last reset.
func (s Stats) MaxInFlight(nodeID uint64, op Opcode) int {
	for _, f := range s.InFlight {
		if f.NodeID == nodeID && f.Op == op {
			return f.Max
		}
	}
	return 0
}

// CurrentInFlight returns the number of op requests on nodeID in flight.
func (s Stats) CurrentInFlight(nodeID uint64, op Opcode) int {
	for _, f := range s.InFlight {
		if f.NodeID == nodeID && f.Op == op {
			return f.Current
		}
	}
	return 0
}

// Gate returns the state of a gate by name.
func (s Stats) Gate(name string) (GateState, bool) {
	for _, g := range s.Gates {
		if g.Name == name {
			return g, true
		}
	}
	return GateState{}, false
}

type flightKey struct {
	node uint64
	op   Opcode
}

type flight struct{ cur, max int }

// recorder keeps the log and the counters. A waiter registers interest and
// gets a channel that is closed on the next change, so WaitStats is event
// driven and requests pay for notification only while someone waits.
type recorder struct {
	mu        sync.Mutex
	counts    map[Opcode]uint64
	flights   map[flightKey]*flight
	malformed uint64
	log       []Record
	base      uint64 // sequence number of log[0]
	next      uint64 // sequence number of the next record
	limit     int
	waiters   int
	changed   chan struct{}
	// pending are the requests not answered yet, by sequence number,
	// whatever the log keeps: what a hang's evidence lists.
	pending map[uint64]Record
}

func newRecorder(limit int) *recorder {
	return &recorder{
		counts: map[Opcode]uint64{}, flights: map[flightKey]*flight{},
		limit: limit, changed: make(chan struct{}), pending: map[uint64]Record{},
	}
}

func (r *recorder) notify() {
	if r.waiters > 0 {
		close(r.changed)
		r.changed = make(chan struct{})
	}
}

// begin counts a request and logs it; the returned sequence number finds
// the record again in end.
func (r *recorder) begin(rec Record) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[rec.Op]++
	k := flightKey{rec.NodeID, rec.Op}
	f := r.flights[k]
	if f == nil {
		f = &flight{}
		r.flights[k] = f
	}
	f.cur++
	f.max = max(f.max, f.cur)
	seq := r.next
	r.next++
	r.pending[seq] = rec
	if r.limit > 0 {
		if len(r.log) >= r.limit {
			// Drop the older half at once so trimming is amortised O(1).
			drop := len(r.log) - r.limit/2
			r.log = append(r.log[:0], r.log[drop:]...)
			r.base += uint64(drop)
		}
		r.log = append(r.log, rec)
	} else {
		r.base = r.next
	}
	r.notify()
	return seq
}

// end completes the record with sequence seq.
func (r *recorder) end(seq uint64, node uint64, op Opcode, update func(*Record)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.flights[flightKey{node, op}]; f != nil && f.cur > 0 {
		f.cur--
	}
	delete(r.pending, seq)
	if seq >= r.base && seq-r.base < uint64(len(r.log)) {
		update(&r.log[seq-r.base])
	}
	r.notify()
}

// annotate updates a record that is still in flight (gate, fault).
func (r *recorder) annotate(seq uint64, update func(*Record)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec, ok := r.pending[seq]; ok {
		update(&rec)
		r.pending[seq] = rec
	}
	if seq >= r.base && seq-r.base < uint64(len(r.log)) {
		update(&r.log[seq-r.base])
	}
}

func (r *recorder) addMalformed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.malformed++
	r.notify()
}

// reset clears counts, log and maxima; requests in flight stay counted as
// current (and so as the new maxima), so their completion balances.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts = map[Opcode]uint64{}
	for k, f := range r.flights {
		if f.cur == 0 {
			delete(r.flights, k)
			continue
		}
		f.max = f.cur
	}
	r.malformed = 0
	r.log = nil
	r.base = r.next
	r.notify()
}

func (r *recorder) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapshotLocked()
}

func (r *recorder) snapshotLocked() Stats {
	st := Stats{Counts: make(map[string]uint64, len(r.counts)), Malformed: r.malformed}
	for op, n := range r.counts {
		st.Counts[op.String()] = n
	}
	for k, f := range r.flights {
		st.InFlight = append(st.InFlight, InFlight{NodeID: k.node, Op: k.op, Current: f.cur, Max: f.max})
	}
	sort.Slice(st.InFlight, func(i, j int) bool {
		a, b := st.InFlight[i], st.InFlight[j]
		if a.NodeID != b.NodeID {
			return a.NodeID < b.NodeID
		}
		return a.Op < b.Op
	})
	return st
}

// inFlight returns the requests not answered yet, oldest first.
func (r *recorder) inFlight() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Record, 0, len(r.pending))
	for _, rec := range r.pending {
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

func (r *recorder) records() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Record(nil), r.log...)
}

// wait blocks until cond holds for a snapshot, ctx ends or timeout passes.
func (r *recorder) wait(ctx context.Context, timeout time.Duration, cond func(Stats) bool) (Stats, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	r.mu.Lock()
	r.waiters++
	defer func() {
		r.mu.Lock()
		r.waiters--
		r.mu.Unlock()
	}()
	for {
		st := r.snapshotLocked()
		ch := r.changed
		r.mu.Unlock()
		if cond(st) {
			return st, nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return st, fmt.Errorf("stats condition not met after %v: %w", timeout, ErrWaitTimeout)
		case <-ctx.Done():
			return st, fmt.Errorf("wait for stats: %w", ctx.Err())
		}
		r.mu.Lock()
	}
}
