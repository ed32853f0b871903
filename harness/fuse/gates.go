package fuse

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrWaitTimeout is returned (wrapped) when WaitHeld or WaitStats gives up.
var ErrWaitTimeout = errors.New("wait timed out")

// ErrNoGate is returned (wrapped) for an operation on an unknown gate.
var ErrNoGate = errors.New("no such gate")

// GateState reports one gate.
type GateState struct {
	Name string   `json:"name"`
	Spec GateSpec `json:"spec"`
	// Held is the number of requests held now.
	Held int `json:"held"`
	// Matched counts matching requests (including skipped ones); Released
	// counts held requests that were let go.
	Matched  int `json:"matched"`
	Released int `json:"released"`
}

// holder is one request held at a gate.
type holder struct {
	unique  uint64
	release chan struct{}
}

type gate struct {
	spec     GateSpec
	matched  int
	released int
	held     []*holder
}

// gates holds armed gates. Every change closes and replaces changed, so
// waiters block on a channel instead of polling.
type gates struct {
	mu      sync.Mutex
	byName  map[string]*gate
	order   []string // arm order: the first matching gate holds
	changed chan struct{}
}

func newGates() *gates {
	return &gates{byName: map[string]*gate{}, changed: make(chan struct{})}
}

// notify wakes every waiter; the caller holds mu.
func (g *gates) notify() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// arm creates a gate or updates the spec of an existing one (keeping the
// requests it holds, and restarting its Skip/Count accounting).
func (g *gates) arm(spec GateSpec) error {
	if spec.Name == "" {
		return errors.New("arm gate: empty name")
	}
	if err := validateGlob(spec.Glob); err != nil {
		return fmt.Errorf("arm gate %s: %w", spec.Name, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if gt, ok := g.byName[spec.Name]; ok {
		gt.spec, gt.matched = spec, 0
	} else {
		g.byName[spec.Name] = &gate{spec: spec}
		g.order = append(g.order, spec.Name)
	}
	g.notify()
	return nil
}

// hold returns a holder if a gate takes the request, or nil.
func (g *gates) hold(op Opcode, path string, unique uint64) (string, *holder) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, name := range g.order {
		gt := g.byName[name]
		if !matchOp(gt.spec.Op, op) || !matchGlob(gt.spec.Glob, path) {
			continue
		}
		gt.matched++
		if !inWindow(gt.spec.Match, gt.matched) {
			continue
		}
		h := &holder{unique: unique, release: make(chan struct{})}
		gt.held = append(gt.held, h)
		g.notify()
		return name, h
	}
	return "", nil
}

// drop removes a holder that stopped waiting (interrupt or shutdown).
func (g *gates) drop(name string, h *holder) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gt, ok := g.byName[name]
	if !ok {
		return
	}
	for i, x := range gt.held {
		if x == h {
			gt.held = append(gt.held[:i], gt.held[i+1:]...)
			g.notify()
			return
		}
	}
}

// release lets the n oldest held requests go (n < 0: all) and returns how
// many were released.
func (g *gates) release(name string, n int) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gt, ok := g.byName[name]
	if !ok {
		return 0, fmt.Errorf("release %q: %w", name, ErrNoGate)
	}
	return g.releaseLocked(gt, n), nil
}

func (g *gates) releaseLocked(gt *gate, n int) int {
	if n < 0 || n > len(gt.held) {
		n = len(gt.held)
	}
	for _, h := range gt.held[:n] {
		close(h.release)
	}
	gt.held = append(gt.held[:0], gt.held[n:]...)
	gt.released += n
	if n > 0 {
		g.notify()
	}
	return n
}

// disarm releases everything a gate holds and removes it.
func (g *gates) disarm(name string) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gt, ok := g.byName[name]
	if !ok {
		return 0, fmt.Errorf("disarm %q: %w", name, ErrNoGate)
	}
	n := g.releaseLocked(gt, -1)
	delete(g.byName, name)
	for i, x := range g.order {
		if x == name {
			g.order = append(g.order[:i], g.order[i+1:]...)
			break
		}
	}
	g.notify()
	return n, nil
}

// disarmAll removes every gate, releasing what they hold.
func (g *gates) disarmAll() int {
	g.mu.Lock()
	names := append([]string(nil), g.order...)
	g.mu.Unlock()
	total := 0
	for _, name := range names {
		n, _ := g.disarm(name)
		total += n
	}
	return total
}

// waitHeld blocks until gate name holds at least n requests, the timeout
// passes or ctx ends. It returns the number held when it stopped.
func (g *gates) waitHeld(ctx context.Context, name string, n int, timeout time.Duration) (int, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		g.mu.Lock()
		gt, ok := g.byName[name]
		if !ok {
			g.mu.Unlock()
			return 0, fmt.Errorf("wait for gate %q: %w", name, ErrNoGate)
		}
		held := len(gt.held)
		ch := g.changed
		g.mu.Unlock()
		if held >= n {
			return held, nil
		}
		select {
		case <-ch:
		case <-timer.C:
			return held, fmt.Errorf("gate %q holds %d of %d requests after %v: %w", name, held, n, timeout, ErrWaitTimeout)
		case <-ctx.Done():
			return held, fmt.Errorf("wait for gate %q: %w", name, ctx.Err())
		}
	}
}

// states reports all gates in arm order.
func (g *gates) states() []GateState {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]GateState, 0, len(g.order))
	for _, name := range g.order {
		gt := g.byName[name]
		out = append(out, GateState{Name: name, Spec: gt.spec, Held: len(gt.held), Matched: gt.matched, Released: gt.released})
	}
	return out
}

// matchOp reports whether a rule opcode selects op. OpAny selects every
// opcode that has a reply except the connection-level ones, which a catch-all
// rule delaying or failing would only wedge the mount.
func matchOp(rule, op Opcode) bool {
	if rule == OpAny {
		switch op {
		case OpInit, OpDestroy, OpForget, OpBatchForget, OpInterrupt:
			return false
		}
		return true
	}
	return rule == op
}

// inWindow applies Skip/Count to the nth (1-based) matching request.
func inWindow(m Match, nth int) bool {
	if nth <= m.Skip {
		return false
	}
	return m.Count <= 0 || nth <= m.Skip+m.Count
}
