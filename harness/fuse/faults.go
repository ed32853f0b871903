package fuse

import (
	"fmt"
	"sync"
)

// faultState is a Fault with its match counter.
type faultState struct {
	Fault
	matched int
}

// faults holds the fault rules in the order they were set.
type faults struct {
	mu   sync.Mutex
	list []*faultState
}

// set adds f, replacing a fault with the same non-empty name in place.
func (fs *faults) set(f Fault) error {
	if err := validateGlob(f.Glob); err != nil {
		return fmt.Errorf("set fault %s: %w", f.Name, err)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f.Name != "" {
		for i, x := range fs.list {
			if x.Name == f.Name {
				fs.list[i] = &faultState{Fault: f}
				return nil
			}
		}
	}
	fs.list = append(fs.list, &faultState{Fault: f})
	return nil
}

// clear removes all faults.
func (fs *faults) clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.list = nil
}

// all returns a copy of the faults.
func (fs *faults) all() []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, len(fs.list))
	for i, x := range fs.list {
		out[i] = x.Fault
	}
	return out
}

// match returns the first fault that applies to the request. Every matching
// fault counts the request, so each one's Skip/Count sees the same stream.
func (fs *faults) match(op Opcode, path string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var hit Fault
	found := false
	for _, f := range fs.list {
		if !matchOp(f.Op, op) || !matchGlob(f.Glob, path) {
			continue
		}
		f.matched++
		if !found && inWindow(f.Match, f.matched) {
			hit, found = f.Fault, true
		}
	}
	return hit, found
}
