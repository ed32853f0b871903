package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"dioharness/harness/fstests"
	"dioharness/harness/fstests/compare"
	"dioharness/harness/kbase"
	"dioharness/harness/testrun"
)

// TestFoldKeepsCommitted: a FROM fold of run directories alone would
// replace the committed results/fstests-<base>.json with fewer runs:
// refused, with what it would lose; where nothing is committed it goes
// ahead.
func TestFoldKeepsCommitted(t *testing.T) {
	comparison := func(tests string, setups ...string) compare.Comparison {
		c := compare.Comparison{Base: "v7.3", Columns: []compare.Column{{Flavour: "base", Release: "7.3.4+"}}}
		for _, s := range setups {
			c.Setups = append(c.Setups, fstests.Setup{Name: s})
			c.Parts = append(c.Parts, compare.Part{Tests: tests, Setup: s, Count: 1, Kernels: map[string]string{"base": "7.3.4+ a"}})
			c.Rows = append(c.Rows, compare.Row{Tests: tests, Setup: s, Test: "generic/091", Cells: map[string]compare.Cell{}})
		}
		return c
	}
	e := env{repo: t.TempDir()}
	next := comparison("generic/091 generic/095", "fuse-cached")
	if err := keepsCommitted(e, next); err != nil {
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
	err = keepsCommitted(e, next)
	want := `FROM: writing results/fstests-v7.3.json would drop its run of TESTS=generic/091 on ext4, drop its run of TESTS=generic/091 on fuse-cached: refused`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("fold over the committed comparison: %v, want %q", err, want)
	}
}

// TestRunEachAtOnce: with two guests allowed, base and patched run one
// setup at the same time; the outcomes keep the order of the kernels.
func TestRunEachAtOnce(t *testing.T) {
	opts := []testrun.Options{{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}}, {Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Patched}}}
	for _, tc := range []struct {
		guests   int
		together bool
	}{{1, false}, {2, true}} {
		var started sync.WaitGroup
		started.Add(len(opts))
		var mu sync.Mutex
		together := true
		run := func(o testrun.Options) []testrun.FSTestsOutcome {
			started.Done()
			// Wait for the other kernel's run, a bounded time.
			all := make(chan struct{})
			go func() { started.Wait(); close(all) }()
			select {
			case <-all:
			case <-time.After(300 * time.Millisecond):
				mu.Lock()
				together = false
				mu.Unlock()
			}
			fmt.Fprintf(o.Out, "%s ext4: ok 1 generic/091\n", o.Variant)
			return []testrun.FSTestsOutcome{{Setup: fstests.Setup{Name: "ext4 on " + o.Variant.String()}}}
		}
		var out strings.Builder
		for i := range opts {
			opts[i].Out = &out
		}
		got := runEach(context.Background(), opts, tc.guests, &out, run)
		if together != tc.together {
			t.Errorf("guests %d: ran together %v, want %v", tc.guests, together, tc.together)
		}
		if len(got) != 2 || got[0][0].Setup.Name != "ext4 on v7.3/base" || got[1][0].Setup.Name != "ext4 on v7.3/patched" {
			t.Errorf("guests %d: outcomes %+v, want base then patched", tc.guests, got)
		}
		if !strings.Contains(out.String(), "v7.3/patched ext4: ok 1 generic/091\n") {
			t.Errorf("guests %d: output %q lacks the patched run's progress line", tc.guests, out.String())
		}
	}
}
