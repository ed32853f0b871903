// Package bench holds the schema of results/bench.json, the figures
// make bench measures, so that its writer and the results page read one
// definition.
package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Results is results/bench.json.
type Results struct {
	// Machine describes the host and guest the figures come from.
	Machine string    `json:"machine"`
	Started time.Time `json:"started"`
	// ParallelDIO is direct-write throughput through the test FUSE
	// server, one entry per configuration and writer count.
	ParallelDIO []ParallelDIO `json:"parallel_dio"`
	// ProbeOverhead is the cost of the probe set on a direct write, per
	// kernel (harness/probe-overhead).
	ProbeOverhead []ProbeOverhead `json:"probe_overhead"`
	// Fio is fio on the test FUSE server against ext4, for scale
	// (harness/bench-fio).
	Fio []Fio `json:"fio"`
	// EditLoop is edit -> verdict on one scenario.
	EditLoop []EditLoop `json:"edit_loop"`
	// FusePeer is the test FUSE server against go-fuse's memfs on host
	// mounts (scripts/bench-fuse-peer.sh).
	FusePeer []PeerRow `json:"fuse_peer"`
	// FusePeerSetup says what the peer rows compare, and where.
	FusePeerSetup string `json:"fuse_peer_setup,omitempty"`
	// NotMeasured names the figures of the issue this file lacks, each
	// with the reason.
	NotMeasured []string `json:"not_measured"`
}

// ParallelDIO is one configuration of the parallel direct-write bench.
type ParallelDIO struct {
	Base    string `json:"base"`
	Flavour string `json:"flavour"`
	// LatencyMS is the server's fixed delay per WRITE request.
	LatencyMS int `json:"latency_ms"`
	// Open is how the file was opened: OpenDirectIO or OpenODirectCached.
	Open string `json:"open"`
	// Parallel is whether the server set FOPEN_PARALLEL_DIRECT_WRITES.
	Parallel bool `json:"parallel_direct_writes"`
	Writers  int  `json:"writers"`
	// Runs is how many runs MiBps is the median of; MinMiBps and
	// MaxMiBps are their range.
	Runs     int     `json:"runs"`
	MiBps    float64 `json:"mib_per_s"`
	MinMiBps float64 `json:"min_mib_per_s"`
	MaxMiBps float64 `json:"max_mib_per_s"`
	// MaxInFlight is the most WRITEs the server held at once.
	MaxInFlight int `json:"max_in_flight"`
	// Speedup is MiBps over the one-writer figure of the same
	// configuration; the ideal is Writers.
	Speedup float64 `json:"speedup"`
}

// Load reads a bench.json.
func Load(path string) (Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Results{}, fmt.Errorf("bench: load results: %w", err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return Results{}, fmt.Errorf("bench: load results %s: %w", path, err)
	}
	return r, nil
}
