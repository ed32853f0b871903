package bench

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLineRoundTrip(t *testing.T) {
	for _, open := range []string{OpenDirectIO, OpenODirectCached} {
		s := Sample{LatencyMS: 10, Open: open, Parallel: true, Writers: 4, Runs: 5, Median: 12.5, Min: 11, Max: 13.25, MaxInFlight: 4}
		got, ok, err := ParseLine(s.Line())
		if !ok || err != nil {
			t.Fatalf("ParseLine(%q) = ok %t, %v", s.Line(), ok, err)
		}
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	// A line from before the open= key is a FOPEN_DIRECT_IO figure.
	old, ok, err := ParseLine(LinePrefix + "latency_ms=1 parallel=true writers=1 runs=5 mib_s=1 min=1 max=1 max_in_flight=1")
	if !ok || err != nil || old.Open != OpenDirectIO {
		t.Errorf("old line: %+v, %t, %v; want open %s", old, ok, err, OpenDirectIO)
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		line    string
		ok      bool
		wantErr bool
	}{
		{"shared acquisitions: 1/1", false, false},
		{LinePrefix + "latency_ms=1 parallel=maybe writers=1 runs=5 mib_s=1 min=1 max=1 max_in_flight=1", true, true},
		{LinePrefix + "latency_ms=1 parallel=true writers=1 runs=5 min=1 max=1 max_in_flight=1", true, true},
		{LinePrefix + "latency_ms=1 open=sometimes parallel=true writers=1 runs=5 mib_s=1 min=1 max=1 max_in_flight=1", true, true},
	}
	for _, tt := range tests {
		_, ok, err := ParseLine(tt.line)
		if ok != tt.ok || (err != nil) != tt.wantErr {
			t.Errorf("ParseLine(%q) = ok %t, err %v; want ok %t, error %t", tt.line, ok, err, tt.ok, tt.wantErr)
		}
	}
}

func TestFromSamples(t *testing.T) {
	ss := []Sample{
		{LatencyMS: 1, Parallel: true, Writers: 1, Runs: 5, Median: 10},
		{LatencyMS: 1, Parallel: true, Writers: 4, Runs: 5, Median: 36},
		{LatencyMS: 1, Parallel: false, Writers: 1, Runs: 5, Median: 10},
		{LatencyMS: 1, Parallel: false, Writers: 4, Runs: 5, Median: 11},
		{LatencyMS: 1, Open: OpenODirectCached, Parallel: true, Writers: 1, Runs: 5, Median: 5},
		{LatencyMS: 1, Open: OpenODirectCached, Parallel: true, Writers: 4, Runs: 5, Median: 19},
	}
	got, err := FromSamples("v7.3", "patched", ss)
	if err != nil {
		t.Fatal(err)
	}
	var speedups []float64
	for _, p := range got {
		speedups = append(speedups, p.Speedup)
	}
	if diff := cmp.Diff([]float64{1, 3.6, 1, 1.1, 1, 3.8}, speedups, cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })); diff != "" {
		t.Errorf("speedups (-want +got):\n%s", diff)
	}
	if _, err := FromSamples("v7.3", "patched", ss[1:2]); err == nil {
		t.Error("samples without a one-writer figure gave speedups")
	}
}
