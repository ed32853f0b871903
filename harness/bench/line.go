package bench

import (
	"fmt"
	"strconv"
)

// LinePrefix starts the KTAP diagnostic line in which the guest reports
// one configuration of the parallel direct-write bench.
const LinePrefix = "bench parallel_dio "

// Sample is what the guest measured for one configuration: the median
// and range of its runs and the most WRITEs the server saw at once.
type Sample struct {
	LatencyMS        int
	Open             string // OpenDirectIO or OpenODirectCached
	Parallel         bool
	Writers, Runs    int
	Median, Min, Max float64 // MiB/s
	MaxInFlight      int
}

// How the bench's file is opened (ParallelDIO.Open).
const (
	// OpenDirectIO: the server answers every open with FOPEN_DIRECT_IO.
	OpenDirectIO = "direct_io"
	// OpenODirectCached: an O_DIRECT open the server answers without
	// FOPEN_DIRECT_IO, the file keeping the page cache, from a server
	// that replies FUSE_PARALLEL_ODIRECT_WRITES (the pdio RFC).
	OpenODirectCached = "odirect_cached"
)

// Line formats s as the guest logs it.
func (s Sample) Line() string {
	return fmt.Sprintf("%slatency_ms=%d open=%s parallel=%t writers=%d runs=%d mib_s=%.3f min=%.3f max=%.3f max_in_flight=%d",
		LinePrefix, s.LatencyMS, s.Open, s.Parallel, s.Writers, s.Runs, s.Median, s.Min, s.Max, s.MaxInFlight)
}

// ParseLine reads a line written by Line; ok is false for any other
// diagnostic line.
func ParseLine(line string) (s Sample, ok bool, err error) {
	f, ok := parseKV(line, "parallel_dio")
	if !ok {
		return Sample{}, false, nil
	}
	s = Sample{
		LatencyMS: int(f.num("latency_ms")), Writers: int(f.num("writers")), Runs: int(f.num("runs")),
		Median: f.num("mib_s"), Min: f.num("min"), Max: f.num("max"), MaxInFlight: int(f.num("max_in_flight")),
	}
	if s.Parallel, err = strconv.ParseBool(f.m["parallel"]); err != nil {
		f.bad = append(f.bad, "parallel")
	}
	switch s.Open = f.m["open"]; s.Open {
	case "":
		s.Open = OpenDirectIO // lines from before the pdio RFC's row
	case OpenDirectIO, OpenODirectCached:
	default:
		f.bad = append(f.bad, "open")
	}
	if err := f.err(); err != nil {
		return Sample{}, true, err
	}
	return s, true, nil
}

// FromSamples turns one kernel's samples into bench.json entries, each
// with its speedup over one writer of the same latency and flag.
func FromSamples(base, flavour string, ss []Sample) ([]ParallelDIO, error) {
	type key struct {
		lat  int
		open string
		par  bool
	}
	one := map[key]float64{}
	for _, s := range ss {
		if s.Writers == 1 {
			one[key{s.LatencyMS, s.Open, s.Parallel}] = s.Median
		}
	}
	var out []ParallelDIO
	for _, s := range ss {
		base1, ok := one[key{s.LatencyMS, s.Open, s.Parallel}]
		if !ok || base1 <= 0 {
			return nil, fmt.Errorf("bench: no one-writer figure for latency %d ms, open %s, parallel %t", s.LatencyMS, s.Open, s.Parallel)
		}
		out = append(out, ParallelDIO{
			Base: base, Flavour: flavour, LatencyMS: s.LatencyMS, Open: s.Open, Parallel: s.Parallel, Writers: s.Writers,
			Runs: s.Runs, MiBps: s.Median, MinMiBps: s.Min, MaxMiBps: s.Max, MaxInFlight: s.MaxInFlight,
			Speedup: s.Median / base1,
		})
	}
	return out, nil
}
