package fuse

import "sync"

// handle is an open file or directory (the fh of OPEN/CREATE/OPENDIR).
type handle struct {
	node    *node
	dir     bool
	entries []dirEntry // directory snapshot taken at OPENDIR
	// backing is set when this open registered a passthrough backing id.
	backing *backing
}

// handleTable maps fh numbers to handles. Numbers are never reused, so a
// stale fh from a confused kernel request cannot hit another open.
type handleTable struct {
	mu   sync.Mutex
	next uint64
	m    map[uint64]*handle
}

func (t *handleTable) add(h *handle) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[uint64]*handle{}
	}
	t.next++
	t.m[t.next] = h
	return t.next
}

func (t *handleTable) get(fh uint64) *handle {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[fh]
}

func (t *handleTable) remove(fh uint64) *handle {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.m[fh]
	delete(t.m, fh)
	return h
}
