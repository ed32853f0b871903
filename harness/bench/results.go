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
