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
	// Iterations is the number of writes per timed run (default 10000).
	Iterations int
	// Probe configures Load for the probed runs.
	Probe Options
}

// BenchResult is the mean cost of one direct write in three set-ups.
type BenchResult struct {
	Iterations int
	// Bare: no probes loaded.
	Bare time.Duration
	// Idle: every probe attached, nothing watched (the global gate closed).
	Idle time.Duration
	// Recording: the file watched and recording, the worst case.
	Recording time.Duration
	// Events recorded during the Recording run.
	Events int
}

func (r BenchResult) String() string {
	pct := func(d time.Duration) float64 { return 100 * (float64(d) - float64(r.Bare)) / float64(r.Bare) }
	return fmt.Sprintf("direct write x%d: bare %v/op, probes idle %v/op (%+.1f%%), recording %v/op (%+.1f%%, %d events)",
		r.Iterations, r.Bare, r.Idle, pct(r.Idle), r.Recording, pct(r.Recording), r.Events)
}

// BenchDirectWrite measures probe overhead on a loop of O_DIRECT overwrites:
// once with no probes, once with all probes attached but idle, once while
// recording the file. Meant for the guest (2 vCPUs, run it on an otherwise
// idle machine); the numbers are wall-clock means, so repeat for variance.
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
	if res.Bare, err = loop(); err != nil {
		return res, err
	}

	s, err := Load(opts.Probe)
	if err != nil {
		return res, err
	}
	defer s.Close()
	if res.Idle, err = loop(); err != nil {
		return res, err
	}
	if err := s.Watch(f); err != nil {
		return res, err
	}
	if err := s.Start(); err != nil {
		return res, err
	}
	d, lerr := loop()
	evs, serr := s.Stop()
	if err := errors.Join(lerr, serr); err != nil {
		return res, err
	}
	res.Recording, res.Events = d, len(evs)
	return res, nil
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
