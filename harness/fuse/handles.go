package fuse

import "sync"

// handle is an open file or directory of the in-memory tree (the fh of
// OPEN/CREATE/OPENDIR).
type handle struct {
	node    *node
	dir     bool
	entries []dirEntry // directory snapshot taken at OPENDIR
	// backing is set when this open registered a passthrough backing id.
	backing *backing
}

// handleTable maps fh numbers to a file system's open handles. Numbers
// are never reused, so a stale fh from a confused kernel request cannot
// hit another open.
type handleTable[H any] struct {
	mu   sync.Mutex
	next uint64
	m    map[uint64]H
}

func (t *handleTable[H]) add(h H) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[uint64]H{}
	}
	t.next++
	t.m[t.next] = h
	return t.next
}

// get returns handle fh, ok false when there is none.
func (t *handleTable[H]) get(fh uint64) (H, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.m[fh]
	return h, ok
}

func (t *handleTable[H]) remove(fh uint64) (H, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.m[fh]
	delete(t.m, fh)
	return h, ok
}

// removeAll empties the table and returns what it held.
func (t *handleTable[H]) removeAll() []H {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []H
	for fh, h := range t.m {
		out = append(out, h)
		delete(t.m, fh)
	}
	return out
}
