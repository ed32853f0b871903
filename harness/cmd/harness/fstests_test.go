package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dioharness/harness/fstests"
	"dioharness/harness/fstests/compare"
)

// TestFoldKeepsCommitted: a FROM fold of run directories alone would
// replace the committed results/fstests-<base>.json with fewer setups:
// refused, with what it would lose; where nothing is committed it goes
// ahead.
func TestFoldKeepsCommitted(t *testing.T) {
	comparison := func(tests string, setups ...string) compare.Comparison {
		c := compare.Comparison{Base: "v7.3", Tests: tests, Columns: []compare.Column{{Flavour: "base", Kernel: "7.3.4+ a"}}}
		for _, s := range setups {
			c.Setups = append(c.Setups, fstests.Setup{Name: s})
			c.Rows = append(c.Rows, compare.Row{Setup: s, Test: "generic/091", Cells: map[string]compare.Cell{}})
		}
		return c
	}
	e := env{repo: t.TempDir()}
	next := comparison("generic/091 generic/095", "fuse-cached")
	runs := []compare.SetupRun{{Setup: fstests.Setup{Name: "fuse-cached"}}}
	if err := keepsCommitted(e, "v7.3", next, runs); err != nil {
		t.Errorf("nothing committed: %v, want no objection", err)
	}
	results := filepath.Join(e.repo, "results")
	if err := os.MkdirAll(results, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(results, "fstests-v7.3.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := comparison("generic/091", "ext4", "fuse-cached").WriteJSON(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	err = keepsCommitted(e, "v7.3", next, runs)
	want := `FROM: writing results/fstests-v7.3.json would replace the committed runs of fuse-cached, drop ext4, change its tests from "generic/091" to "generic/091 generic/095": refused`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("fold over the committed comparison: %v, want %q", err, want)
	}
}
