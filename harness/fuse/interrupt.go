package fuse

import (
	"sync"
	"syscall"
	"time"
)

// interrupts tracks requests that wait (at a gate or in a delay) so an
// INTERRUPT from the kernel can end the wait with EINTR, as a real server
// would abandon a slow operation for a signalled caller.
type interrupts struct {
	mu      sync.Mutex
	waiting map[uint64]chan struct{}
}

// track registers unique before its waiting goroutine starts, so an
// INTERRUPT read by another worker right after cannot miss it.
func (in *interrupts) track(unique uint64) <-chan struct{} {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.waiting == nil {
		in.waiting = map[uint64]chan struct{}{}
	}
	ch := make(chan struct{})
	in.waiting[unique] = ch
	return ch
}

func (in *interrupts) untrack(unique uint64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	delete(in.waiting, unique)
}

// fire interrupts unique; false if it is not waiting.
func (in *interrupts) fire(unique uint64) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	ch, ok := in.waiting[unique]
	if ok {
		close(ch)
		delete(in.waiting, unique)
	}
	return ok
}

// opInterrupt handles FUSE_INTERRUPT. A waiting target is finished with
// EINTR by its own goroutine; a target that is not waiting runs to
// completion, so the interrupt needs no reply.
func (s *Server) opInterrupt(r *request) {
	r.noReply = true
	s.begin(r)
	d := decoder{b: r.body}
	target := d.u64()
	if d.err != nil {
		s.malformed("INTERRUPT unique %d: %v", r.hdr.Unique, d.err)
		s.finish(r, Errno(syscall.EIO))
		return
	}
	s.recorder.annotate(r.seq, func(rec *Record) { rec.Offset = target })
	s.interrupts.fire(target)
	s.finish(r, nil)
}

// waitGate holds r until released. It returns false if the request was
// interrupted and already answered.
func (s *Server) waitGate(r *request, name string, h *holder, intr <-chan struct{}) bool {
	select {
	case <-h.release:
		return true
	case <-s.ctx.Done():
		// Shutdown releases held requests rather than failing them: the
		// reply may still reach a kernel that is unmounting cleanly.
		s.gates.drop(name, h)
		return true
	case <-intr:
		s.gates.drop(name, h)
		s.finish(r, Errno(syscall.EINTR))
		return false
	}
}

// sleep delays r; shutdown cuts the delay short. It returns false if the
// request was interrupted and already answered.
func (s *Server) sleep(r *request, d time.Duration, intr <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return true
	case <-intr:
		s.finish(r, Errno(syscall.EINTR))
		return false
	}
}
