package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/report"
)

// TestMergeRecordedShards merges two shards recorded on this project's
// machine (make qemu-test BASE=v7.3 KERNEL=patched SCENARIO='fuse/*'
// SHARD=1/2 and 2/2) and compares them with a whole run of the same
// selection on the same kernel build: the same scenarios in the same
// order with the same verdicts, declarations and attempts. Durations
// and diagnostics differ between runs and are not compared.
func TestMergeRecordedShards(t *testing.T) {
	const dir = "testdata/shards"
	out := t.TempDir()
	var stdout, stderr strings.Builder
	code := run([]string{"merge", "-o", out, "-scenario", "fuse/*",
		filepath.Join(dir, "shard2of2"), filepath.Join(dir, "shard1of2")}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("merge exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	whole, err := report.LoadRun(filepath.Join(dir, "whole", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	merged, err := report.LoadRun(filepath.Join(out, "v7.3-patched", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if merged.Kernel != whole.Kernel {
		t.Errorf("merged kernel %q, whole run's %q", merged.Kernel, whole.Kernel)
	}
	if diff := cmp.Diff(report.BuildMatrix(whole), report.BuildMatrix(merged)); diff != "" {
		t.Errorf("merged shards differ from the whole run (-whole +merged):\n%s", diff)
	}
	if got, want := merged.Totals(), whole.Totals(); got != want {
		t.Errorf("merged totals %s, whole run %s", got, want)
	}
	if !strings.Contains(stdout.String(), "matrix: 20 passed, 0 failed (20 scenarios x 1 kernels)") {
		t.Errorf("merge summary line missing:\n%s", stdout.String())
	}
}
