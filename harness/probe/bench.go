package probe

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchOptions configure BenchDirectWrite.
type BenchOptions struct {
	// Path of the file to write; it is created (or truncated) and filled
	// first so the timed writes are overwrites of allocated blocks.
	Path string
	// BlockSize is the size of each O_DIRECT write (default 4096).
	BlockSize int
	// Blocks is how many distinct blocks the writes cycle over (default 16).
	Blocks int
	// Iterations is the number of writes per timed loop (default 10000).
	Iterations int
	// Rounds is how many times the three loops run, interleaved
	// (default 5).
	Rounds int
	// Probe configures Load for the probed loops.
	Probe Options
}

// BenchRound is one round: the mean cost of one direct write in each
// set-up, measured one after the other.
type BenchRound struct {
	// Bare: no probes loaded.
	Bare time.Duration
	// Idle: the probe set loaded, nothing recording (the programs on the
	// rwsem primitives are not attached, the rest are and return at
	// their gate).
	Idle time.Duration
	// Recording: the file watched and recording, every program attached:
	// the worst case.
	Recording time.Duration
	// Events recorded during the Recording loop, and how many of them
	// were i_rwsem acquisitions of the file.
	Events, LockEvents int
}

// BenchResult is the rounds of BenchDirectWrite (package bench takes
// their medians).
type BenchResult struct {
	Iterations int
	Rounds     []BenchRound
}

// BenchDirectWrite measures probe overhead on a loop of O_DIRECT overwrites.
// Each round times the loop with no probes, then loads the probe set and
// times it idle, then while recording the file, and closes the set; the
// rounds interleave the three set-ups so that drift on the host (other
// jobs, TCG's translation cache) spreads over all three. Meant for the
// guest, alone in its boot: the numbers are wall-clock means.
func BenchDirectWrite(opts BenchOptions) (BenchResult, error) {
	if opts.BlockSize == 0 {
		opts.BlockSize = 4096
	}
	if opts.Blocks == 0 {
		opts.Blocks = 16
	}
	if opts.Iterations == 0 {
		opts.Iterations = 10000
	}
	if opts.Rounds == 0 {
		opts.Rounds = 5
	}
	res := BenchResult{Iterations: opts.Iterations}
	f, buf, err := benchPrepare(opts)
	if err != nil {
		return res, err
	}
	defer f.Close()
	defer unix.Munmap(buf)

	loop := func() (time.Duration, error) {
		start := time.Now()
		for i := range opts.Iterations {
			off := int64(i%opts.Blocks) * int64(opts.BlockSize)
			if _, err := unix.Pwrite(int(f.Fd()), buf, off); err != nil {
				return 0, fmt.Errorf("probe: bench pwrite: %w", err)
			}
		}
		return time.Since(start) / time.Duration(opts.Iterations), nil
	}
	if _, err := loop(); err != nil { // warm up caches and the device
		return res, err
	}
	id, err := InodeOf(f)
	if err != nil {
		return res, err
	}
	for range opts.Rounds {
		r, err := benchRound(opts.Probe, f, id, loop)
		if err != nil {
			return res, err
		}
		res.Rounds = append(res.Rounds, r)
	}
	return res, nil
}

// benchRound is one bare, idle and recording loop.
func benchRound(po Options, f *os.File, id InodeID, loop func() (time.Duration, error)) (BenchRound, error) {
	var r BenchRound
	var err error
	if r.Bare, err = loop(); err != nil {
		return r, err
	}
	s, err := Load(po)
	if err != nil {
		return r, err
	}
	defer s.Close()
	if r.Idle, err = loop(); err != nil {
		return r, err
	}
	if err := s.Watch(f); err != nil {
		return r, err
	}
	if err := s.Start(); err != nil {
		return r, err
	}
	d, lerr := loop()
	evs, serr := s.Stop()
	if err := errors.Join(lerr, serr, s.Close()); err != nil {
		return r, err
	}
	r.Recording, r.Events = d, len(evs)
	r.LockEvents = len(evs.ForInode(id).Of(KindLockShared, KindLockExclusive))
	return r, nil
}

// benchPrepare creates the file, fills it and returns it opened O_DIRECT
// with a page-aligned buffer (O_DIRECT needs alignment).
func benchPrepare(opts BenchOptions) (*os.File, []byte, error) {
	buf, err := unix.Mmap(-1, 0, opts.BlockSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, nil, fmt.Errorf("probe: bench buffer: %w", err)
	}
	if uintptr(unsafe.Pointer(&buf[0]))%4096 != 0 {
		unix.Munmap(buf)
		return nil, nil, errors.New("probe: bench buffer not page aligned")
	}
	for i := range buf {
		buf[i] = byte(i)
	}
	fill, err := os.OpenFile(opts.Path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		unix.Munmap(buf)
		return nil, nil, fmt.Errorf("probe: bench create: %w", err)
	}
	for i := range opts.Blocks {
		if _, err := fill.WriteAt(buf, int64(i*opts.BlockSize)); err != nil {
			fill.Close()
			unix.Munmap(buf)
			return nil, nil, fmt.Errorf("probe: bench fill: %w", err)
		}
	}
	err = errors.Join(fill.Sync(), fill.Close())
	if err != nil {
		unix.Munmap(buf)
		return nil, nil, fmt.Errorf("probe: bench fill: %w", err)
	}
	f, err := os.OpenFile(opts.Path, os.O_RDWR|unix.O_DIRECT, 0)
	if err != nil {
		unix.Munmap(buf)
		return nil, nil, fmt.Errorf("probe: bench open O_DIRECT: %w", err)
	}
	return f, buf, nil
}
