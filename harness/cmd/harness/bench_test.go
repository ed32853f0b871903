package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/bench"
	"dioharness/harness/report"
)

func TestBenchFiguresFromScenarioDetails(t *testing.T) {
	var lines []string
	for _, n := range []int{1, 4} {
		lines = append(lines, bench.Sample{LatencyMS: 1, Parallel: true, Writers: n, Runs: 5, Median: float64(10 * n)}.Line())
	}
	lines = append(lines, "lock path parallel=true: 32 shared acquisitions")
	r := report.Run{Scenarios: []report.Scenario{
		{Name: benchScenario, Detail: lines},
		{Name: benchFioScenario, Detail: []string{
			bench.FioRun{FS: "fuse", Job: "write", Run: 1, MiBps: 5}.Line(),
			bench.FioRun{FS: "ext4", Job: "write", Run: 1, MiBps: 10}.Line(),
		}},
	}}
	var res bench.Results
	if err := benchFigures(&res, "v7.3", "patched", r); err != nil {
		t.Fatal(err)
	}
	got := []float64{res.ParallelDIO[0].Speedup, res.ParallelDIO[1].Speedup, res.Fio[0].ToExt4, res.Fio[1].ToExt4}
	if diff := cmp.Diff([]float64{1, 4, 1, 0.5}, got); diff != "" {
		t.Errorf("speedups and ratios to ext4 (-want +got):\n%s", diff)
	}
	if err := benchFigures(&res, "v7.3", "patched", report.Run{Scenarios: r.Scenarios[:1]}); err == nil {
		t.Error("a run without fio lines gave figures")
	}

	o := bench.OverheadRound{Round: 1, Iterations: 10, BareUS: 100, IdleUS: 101, RecordingUS: 150}
	p, err := overheadFigures("v7.3", "patched", "w", report.Run{Scenarios: []report.Scenario{{Name: overheadScenario, Detail: []string{o.Line()}}}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float64{1, 50}, []float64{p.IdlePct, p.RecordingPct}); diff != "" {
		t.Errorf("overheads (-want +got):\n%s", diff)
	}
	if _, err := overheadFigures("v7.3", "patched", "w", report.Run{}); err == nil {
		t.Error("a run without overhead lines gave figures")
	}
}
