package probe

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
)

// drainTimeout bounds how long Stop waits for its marker to come through
// the ring buffer; it only expires if the reader is broken.
const drainTimeout = 10 * time.Second

// recording is one Start/Stop window; its goroutine owns events until done
// is closed.
type recording struct {
	startCookie uint64
	stopCookie  atomic.Uint64 // set before the stop marker is emitted
	aborted     atomic.Bool
	done        chan struct{}
	events      Events
	err         error
	dropped0    uint64
}

// RecordOptions say which events attached only on request a recording
// asks for (see target.onRequest).
type RecordOptions struct {
	// PageCache records the page-cache membership of the watched
	// inodes (KindCacheAdd, KindCacheDelete): one event per folio added
	// or deleted, so a recording over megabytes of file pays for it.
	PageCache bool
}

// String says who records the events of a target attached on request.
func (r onRequest) String() string {
	switch r {
	case pageCache:
		return "the page-cache events are recorded only by recordings that ask for them (RecordOptions.PageCache)"
	}
	return "recorded by every recording"
}

func (o RecordOptions) asks(r onRequest) bool {
	switch r {
	case always:
		return true
	case pageCache:
		return o.PageCache
	}
	return false
}

// Recorded returns nil when a recording with options o holds the
// events of the named probe (program name or attach point): it is
// attached and, if it is attached only on request, o asks for it.
// Otherwise it returns a *SkipError saying why not; an unknown name is
// a plain error, as for Require.
func (s *Set) Recorded(name string, o RecordOptions) error {
	if err := s.Require(name); err != nil {
		return err
	}
	s.mu.Lock()
	st := s.statusOf(name)
	s.mu.Unlock()
	if req := targets[st.Target].onRequest; !o.asks(req) {
		return &SkipError{Probe: name, Reason: "not recorded: " + req.String()}
	}
	return nil
}

// Start begins a recording with the zero RecordOptions: see StartWith.
func (s *Set) Start() error { return s.StartWith(RecordOptions{}) }

// StartWith begins recording. It attaches the programs on the rwsem
// primitives (target.whileRecording) and those o asks for (the
// page-cache tracepoints), which stay attached until Stop. Anything
// left in the ring buffer from before is discarded: StartWith emits a
// marker and the recorder skips up to it.
func (s *Set) StartWith(o RecordOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("probe: Start on closed Set")
	}
	if s.rec != nil {
		return errors.New("probe: already recording")
	}
	d, err := s.dropped()
	if err != nil {
		return err
	}
	if err := s.attachRecording(o); err != nil {
		return err
	}
	s.cookie++
	rec := &recording{
		startCookie: s.cookie,
		done:        make(chan struct{}),
		dropped0:    d,
	}
	if err := s.emitMarker(rec.startCookie); err != nil {
		return errors.Join(err, s.detachRecording())
	}
	s.config.Active = 1
	if err := s.writeConfig(); err != nil {
		return errors.Join(err, s.detachRecording())
	}
	s.rec = rec
	go rec.run(s.reader)
	return nil
}

// Stop ends recording and returns every event recorded since Start. It
// disables recording, emits a marker, detaches what Start attached and
// reads the ring buffer up to the marker:
// events of syscalls that returned before Stop are all included. If events
// were dropped, the events that arrived are returned with a *DropError.
func (s *Set) Stop() (Events, error) {
	s.mu.Lock()
	rec := s.rec
	if rec == nil {
		s.mu.Unlock()
		return nil, ErrNotRecording
	}
	s.rec = nil
	s.config.Active = 0
	errCfg := s.writeConfig()
	s.cookie++
	rec.stopCookie.Store(s.cookie)
	errMarker := s.emitMarker(s.cookie)
	errDetach := s.detachRecording()
	s.mu.Unlock()

	if errCfg != nil || errMarker != nil || errDetach != nil {
		rec.abort()
		return nil, errors.Join(errCfg, errMarker, errDetach)
	}
	select {
	case <-rec.done:
	case <-time.After(drainTimeout):
		rec.abort()
		return rec.events, fmt.Errorf("probe: stop marker not seen within %v", drainTimeout)
	}
	if rec.err != nil {
		return rec.events, rec.err
	}
	d, err := s.dropped()
	if err != nil {
		return rec.events, err
	}
	if d > rec.dropped0 {
		return rec.events, &DropError{Dropped: d - rec.dropped0}
	}
	return rec.events, nil
}

// emitMarker runs the marker program, which writes a KindMarker event with
// the cookie. Callers hold s.mu.
func (s *Set) emitMarker(cookie uint64) error {
	if _, err := s.marker.Run(&ebpf.RunOptions{Context: []uint64{cookie}}); err != nil {
		return fmt.Errorf("probe: run drain marker: %w", err)
	}
	return nil
}

// dropped sums the per-CPU drop counters.
func (s *Set) dropped() (uint64, error) {
	var per []uint64
	if err := s.maps["dropped"].Lookup(uint32(0), &per); err != nil {
		return 0, fmt.Errorf("probe: read drop counter: %w", err)
	}
	var n uint64
	for _, v := range per {
		n += v
	}
	return n, nil
}

// run reads records until the stop marker: up to the start marker it
// discards (leftovers of an earlier window), after it it collects.
func (r *recording) run(rd *ringbuf.Reader) {
	defer close(r.done)
	started := false
	var rec ringbuf.Record
	for !r.aborted.Load() {
		// The deadline only bounds how late an abort is noticed; the
		// marker's submit wakes the reader.
		rd.SetDeadline(time.Now().Add(100 * time.Millisecond))
		err := rd.ReadInto(&rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if err != nil {
			if !errors.Is(err, ringbuf.ErrClosed) {
				r.err = fmt.Errorf("probe: read ring buffer: %w", err)
			}
			return
		}
		e, err := decodeEvent(rec.RawSample)
		if err != nil {
			r.err = err
			return
		}
		switch {
		case e.Kind != KindMarker:
			if started {
				r.events = append(r.events, e)
			}
		case e.A0 == r.startCookie:
			started = true
		case e.A0 == r.stopCookie.Load():
			return
		}
	}
}

// abort ends the goroutine without waiting for a marker.
func (r *recording) abort() { r.aborted.Store(true) }
