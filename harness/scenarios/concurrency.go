package scenarios

import (
	"runtime"
	"sync/atomic"
	"time"

	"dioharness/harness/scenario"
)

// Concurrency helpers: a writer that keeps re-dirtying a shared mapping,
// and a bound on a call that might deadlock.

// mapWriter stores the same bytes into a MAP_SHARED mapping in a loop on
// its own OS thread, re-dirtying the pages whenever writeback cleans
// them. It always finishes with one complete copy, so after stop the
// mapped pages hold exactly src whatever interleaved with it.
type mapWriter struct {
	dst, src []byte
	stopping atomic.Bool
	rounds   atomic.Int64
	done     chan struct{}
}

func startMapWriter(dst, src []byte) *mapWriter {
	w := &mapWriter{dst: dst, src: src, done: make(chan struct{})}
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(w.done)
		for !w.stopping.Load() {
			copy(w.dst, w.src)
			w.rounds.Add(1)
		}
		copy(w.dst, w.src)
	}()
	return w
}

// started waits until the writer completed a round.
func (w *mapWriter) started(t *scenario.T) {
	for w.rounds.Load() == 0 {
		select {
		case <-t.Context().Done():
			t.Fatalf("map writer did not start")
		default:
			runtime.Gosched()
		}
	}
}

func (w *mapWriter) stop() int64 {
	w.stopping.Store(true)
	<-w.done
	return w.rounds.Load()
}

// bounded runs fn on its own goroutine and fails the scenario if it does
// not return within d: a deadlock shows as a failure naming what, not as
// a hung run. fn must not call t.Fatalf (it runs on another goroutine);
// it reports through its closure. The goroutine of a call that hangs is
// abandoned.
func bounded(t *scenario.T, what string, d time.Duration, fn func()) time.Duration {
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s did not return within %s: deadlock?", what, d)
	case <-t.Context().Done():
		t.Fatalf("%s did not return before the scenario timeout: deadlock?", what)
	}
	return time.Since(start)
}
