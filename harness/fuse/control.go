package fuse

import (
	"context"
	"fmt"
	"time"
)

// This file is the control surface scenarios use, in process or through
// package remote. Paths are relative to the mount root ("/a/b" or "a/b").

// SetRules replaces the open rules.
func (s *Server) SetRules(rules []OpenRule) error { return s.rules.set(rules) }

// AddRule appends an open rule (it applies after the existing ones).
func (s *Server) AddRule(rule OpenRule) error { return s.rules.add(rule) }

// Rules returns the open rules.
func (s *Server) Rules() []OpenRule { return s.rules.all() }

// SetOpenHook installs (or with nil removes) the in-process open hook; it is
// asked before the rules.
func (s *Server) SetOpenHook(h func(OpenInfo) (OpenPolicy, bool)) { s.rules.setHook(h) }

// SetFault adds a fault, replacing one with the same non-empty name.
func (s *Server) SetFault(f Fault) error { return s.faults.set(f) }

// ClearFaults removes all faults.
func (s *Server) ClearFaults() { s.faults.clear() }

// Faults returns the faults in order.
func (s *Server) Faults() []Fault { return s.faults.all() }

// ArmGate arms a gate holding every request with opcode op (OpAny: all
// but INIT/DESTROY/FORGET/INTERRUPT) whose path matches glob.
func (s *Server) ArmGate(name string, op Opcode, glob string) error {
	return s.ArmGateSpec(GateSpec{Name: name, Match: Match{Op: op, Glob: glob}})
}

// ArmGateSpec arms a gate with Skip/Count control. Arming an existing name
// updates its spec and keeps what it holds.
func (s *Server) ArmGateSpec(spec GateSpec) error { return s.gates.arm(spec) }

// WaitHeld blocks until gate name holds at least n requests, or timeout
// passes (error wrapping ErrWaitTimeout), or the server closes. It returns
// the number held. Waiting is event driven: no polling.
func (s *Server) WaitHeld(name string, n int, timeout time.Duration) (int, error) {
	return s.gates.waitHeld(s.ctx, name, n, timeout)
}

// Release lets the n oldest requests held at gate name proceed (n < 0: all)
// and returns how many were released. The gate stays armed.
func (s *Server) Release(name string, n int) (int, error) { return s.gates.release(name, n) }

// ReleaseAll releases every request held at gate name; the gate stays armed.
func (s *Server) ReleaseAll(name string) (int, error) { return s.gates.release(name, -1) }

// DisarmGate releases what gate name holds and removes it.
func (s *Server) DisarmGate(name string) (int, error) { return s.gates.disarm(name) }

// Stats returns the counters and gate states.
func (s *Server) Stats() Stats {
	st := s.recorder.snapshot()
	st.Gates = s.gates.states()
	return st
}

// Log returns the request log (oldest first, bounded by Config.LogLimit).
func (s *Server) Log() []Record { return s.recorder.records() }

// Pending returns the requests the server has not answered, oldest
// first: held at a gate (Record.Gate), delayed by a fault or still in
// their handler. A hang's evidence lists them; the log may have dropped
// them, this never does.
func (s *Server) Pending() []Record { return s.recorder.inFlight() }

// ResetStats clears counts, maxima, the malformed counter and the log.
// Requests in flight stay counted as current.
func (s *Server) ResetStats() { s.recorder.reset() }

// WaitStats blocks until cond holds for the counters (Gates is not filled
// in), timeout passes or the server closes. It is woken by every request
// start and end, never polls.
func (s *Server) WaitStats(timeout time.Duration, cond func(Stats) bool) (Stats, error) {
	return s.recorder.wait(s.ctx, timeout, cond)
}

// WaitCount blocks until at least n requests with opcode op were received.
func (s *Server) WaitCount(op Opcode, n uint64, timeout time.Duration) (Stats, error) {
	st, err := s.WaitStats(timeout, func(st Stats) bool { return st.Count(op) >= n })
	if err != nil {
		return st, fmt.Errorf("wait for %d %v: %w", n, op, err)
	}
	return st, nil
}

// FileContent returns the bytes of a regular file as the server holds them
// (read from the backing file for passthrough files).
func (s *Server) FileContent(path string) ([]byte, error) {
	b, err := s.store.content(path)
	if err != nil {
		return nil, fmt.Errorf("file content %s: %w", path, err)
	}
	return b, nil
}

// WriteFile sets a file's content server side, creating it and its parent
// directories. The kernel may still cache the old content until its
// attributes expire (AUTO_INVAL_DATA then invalidates on the size/mtime
// change).
func (s *Server) WriteFile(path string, data []byte) error {
	if _, err := s.store.writeFile(path, data, 0, 0); err != nil {
		return fmt.Errorf("write file %s: %w", path, err)
	}
	return nil
}

// CreateFile creates or replaces a file of size bytes starting with data
// (the rest reads as zeros) and permission bits perm (0: 0644).
func (s *Server) CreateFile(spec FileSpec) error {
	data := spec.Data
	if data == nil {
		data = []byte(spec.Text)
	}
	if _, err := s.store.writeFile(spec.Path, data, spec.Size, spec.Mode); err != nil {
		return fmt.Errorf("create file %s: %w", spec.Path, err)
	}
	return nil
}

// Mkdir creates a directory and its parents server side.
func (s *Server) Mkdir(path string) error {
	if err := s.store.mkdirPath(path); err != nil {
		return fmt.Errorf("mkdir %s: %w", path, err)
	}
	return nil
}

// NodeID returns the FUSE node ID of a path (what Stats and Log report).
func (s *Server) NodeID(path string) (uint64, error) {
	id, err := s.store.nodeID(path)
	if err != nil {
		return 0, fmt.Errorf("node id %s: %w", path, err)
	}
	return id, nil
}

// Context is cancelled when Close starts; handy for helpers that must not
// outlive the server.
func (s *Server) Context() context.Context { return s.ctx }
