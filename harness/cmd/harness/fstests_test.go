package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/fstests"
	"dioharness/harness/fstests/compare"
	"dioharness/harness/kbase"
	"dioharness/harness/testrun"
)

// comparisonOn is a comparison of the selection tests on setups, one
// test each, on the base kernel.
func comparisonOn(tests string, setups ...string) compare.Comparison {
	c := compare.Comparison{Base: "v7.3", Columns: []compare.Column{{Flavour: "base", Release: "7.3.4+"}}}
	for _, s := range setups {
		c.Setups = append(c.Setups, fstests.Setup{Name: s})
		c.Parts = append(c.Parts, compare.Part{Tests: tests, Setup: s, Count: 1, Kernels: map[string]string{"base": "7.3.4+ a"}})
		c.Rows = append(c.Rows, compare.Row{Tests: tests, Setup: s, Test: "generic/091", Cells: map[string]compare.Cell{}})
	}
	return c
}

// commitComparison writes the committed results/fstests-v7.3.json of a
// repository in a temporary directory: c, or raw when c is nil.
func commitComparison(t *testing.T, c *compare.Comparison, raw string) env {
	t.Helper()
	e := env{repo: t.TempDir()}
	path := filepath.Join(e.repo, "results", "fstests-v7.3.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if c != nil {
		var b bytes.Buffer
		if err := c.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		raw = b.String()
	}
	if err := os.WriteFile(path, []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestFoldKeepsCommitted: a FROM fold of run directories alone would
// replace the committed results/fstests-<base>.json with fewer runs:
// refused, with what it would lose; one that only adds a selection, or
// where nothing is committed, goes ahead.
func TestFoldKeepsCommitted(t *testing.T) {
	next := comparisonOn("generic/091 generic/095", "fuse-cached")
	if err := keepsCommitted(env{repo: t.TempDir()}, next); err != nil {
		t.Errorf("nothing committed: %v, want no objection", err)
	}
	committed := comparisonOn("generic/091", "ext4", "fuse-cached")
	e := commitComparison(t, &committed, "")
	err := keepsCommitted(e, next)
	want := `FROM: writing results/fstests-v7.3.json would drop its run of TESTS=generic/091 on ext4, drop its run of TESTS=generic/091 on fuse-cached: refused`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("fold over the committed comparison: %v, want %q", err, want)
	}
	added, err := compare.Merge(committed, next)
	if err != nil {
		t.Fatal(err)
	}
	if err := keepsCommitted(e, added); err != nil {
		t.Errorf("a selection folded in: %v, want no objection", err)
	}
}

// TestFullRunKeepsCommitted: a full run of a selection the committed
// file holds is refused before anything is built, another selection
// goes ahead; a committed file the run cannot be merged into is kept
// unless replace says otherwise.
func TestFullRunKeepsCommitted(t *testing.T) {
	committed := comparisonOn("generic/091", "ext4", "fuse-cached")
	e := commitComparison(t, &committed, "")
	all := fstests.Setups
	err := keepsSelection(e, "fstests-v7.3", "generic/091", all)
	want := "results/fstests-v7.3.json holds runs of TESTS=generic/091 on ext4, fuse-cached, which this run would replace: refused"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("the committed selection again: error %v, want %q", err, want)
	}
	if err := keepsSelection(e, "fstests-v7.3", "@iomap-dio", all); err != nil {
		t.Errorf("another selection: %v", err)
	}
	if merged, err := withCommitted(e, comparisonOn("@iomap-dio", "ext4"), false, io.Discard); err != nil || len(merged.Parts) != 3 {
		t.Errorf("another selection merged: %d runs, error %v; want 3 runs", len(merged.Parts), err)
	}

	old := commitComparison(t, nil, `{"base": "v7.3", "tests": "generic/091"}`)
	run := comparisonOn("generic/091", "ext4")
	if err := keepsSelection(old, "fstests-v7.3", "generic/091", all); err == nil {
		t.Errorf("a committed file this harness cannot read: no error")
	}
	if _, err := withCommitted(old, run, false, io.Discard); err == nil || !strings.Contains(err.Error(), "so it was not written") {
		t.Errorf("unmergeable, not asked to replace: error %v, want it refused", err)
	}
	if got, err := withCommitted(old, run, true, io.Discard); err != nil || len(got.Parts) != 1 {
		t.Errorf("unmergeable, asked to replace: %d runs, error %v; want the run alone", len(got.Parts), err)
	}
}

// TestKeepsSelectionOnSetups: a run replaces the committed runs of its
// selection on the setups it runs, not on others; a declared flavour's
// comparison is a file of its own, which a run of base and patched never
// reads.
func TestKeepsSelectionOnSetups(t *testing.T) {
	committed := comparisonOn("generic/091", "ext4", "fuse-cached")
	e := commitComparison(t, &committed, "")
	setups := func(names ...string) []fstests.Setup {
		var out []fstests.Setup
		for _, n := range names {
			s, ok := fstests.SetupNamed(n)
			if !ok {
				t.Fatalf("no setup %s", n)
			}
			out = append(out, s)
		}
		return out
	}
	tests := []struct {
		name, file string
		on         []fstests.Setup
		want       string
	}{
		{"both committed setups", "fstests-v7.3", setups("ext4", "fuse-cached"), "results/fstests-v7.3.json holds runs of TESTS=generic/091 on ext4, fuse-cached, which this run would replace: refused"},
		{"one of them", "fstests-v7.3", setups("fuse-cached", "fuse-parallel-odirect"), "results/fstests-v7.3.json holds runs of TESTS=generic/091 on fuse-cached, which this run would replace: refused"},
		{"another setup", "fstests-v7.3", setups("fuse-parallel-odirect"), ""},
		{"the flavour's file, none committed", "fstests-v7.3-pdio", setups("ext4", "fuse-parallel-odirect"), ""},
	}
	for _, tc := range tests {
		err := keepsSelection(e, tc.file, "generic/091", tc.on)
		got := ""
		if err != nil {
			got, _, _ = strings.Cut(err.Error(), " (REPLACE_COMMITTED")
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}

// TestKeptComparisons: which runs write results/, and to which file:
// base and patched on every setup without KERNEL=; base and a declared
// flavour named by KERNEL= on any setups; nothing else.
func TestKeptComparisons(t *testing.T) {
	on := func(vs ...string) []testrun.Options {
		var out []testrun.Options
		for _, v := range vs {
			b, fl, _ := strings.Cut(v, "/")
			out = append(out, testrun.Options{Variant: kbase.Variant{Base: b, Flavour: kbase.Flavour(fl)}})
		}
		return out
	}
	tests := []struct {
		name             string
		opts             []testrun.Options
		every, allSetups bool
		want             map[string]string
		err              string
	}{
		{"base and patched, every setup", on("v7.3/base", "v7.3/patched"), true, true, map[string]string{"v7.3": "fstests-v7.3"}, ""},
		{"every base", on("v7.3/base", "v7.3/patched", "v6.12/base", "v6.12/patched"), true, true,
			map[string]string{"v7.3": "fstests-v7.3", "v6.12": "fstests-v6.12"}, ""},
		{"base and patched, some setups", on("v7.3/base", "v7.3/patched"), true, false, map[string]string{}, ""},
		{"KERNEL=base,patched", on("v7.3/base", "v7.3/patched"), false, true, map[string]string{}, ""},
		{"KERNEL=base,pdio, one setup", on("v7.3/base", "v7.3/pdio"), false, false, map[string]string{"v7.3": "fstests-v7.3-pdio"}, ""},
		{"KERNEL=pdio,base, every setup", on("v7.3/pdio", "v7.3/base"), false, true, map[string]string{"v7.3": "fstests-v7.3-pdio"}, ""},
		{"KERNEL=base,pdio on a base without pdio", on("v7.3/base", "v7.3/pdio", "v6.12/base"), false, false, map[string]string{"v7.3": "fstests-v7.3-pdio"}, ""},
		{"KERNEL=pdio", on("v7.3/pdio"), false, false, map[string]string{}, ""},
		{"KERNEL=patched,pdio", on("v7.3/patched", "v7.3/pdio"), false, false, map[string]string{}, ""},
		{"KERNEL=base,patched,pdio", on("v7.3/base", "v7.3/patched", "v7.3/pdio"), false, false, map[string]string{}, ""},
		{"KSRC", on("/custom"), true, true, map[string]string{}, ""},
	}
	for _, tc := range tests {
		got, err := keptComparisons(tc.opts, tc.every, tc.allSetups)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if d := cmp.Diff(tc.want, got); d != "" || gotErr != tc.err {
			t.Errorf("%s: error %q, want %q; files (-want +got):\n%s", tc.name, gotErr, tc.err, d)
		}
	}
}

// TestQuotedBy: base vs patched is quoted by the patched flavour's
// series; base vs a declared flavour by the series only it applies.
func TestQuotedBy(t *testing.T) {
	spec := kbase.Spec{Name: "v7.3", Dir: "patches/v7.3", Series: []string{"iomap", "fuse", "stale"},
		Extra: []kbase.FlavourSpec{{Name: "pdio", Series: []string{"iomap", "fuse", "stale", "pdio"}}}}
	cols := func(fls ...string) compare.Comparison {
		c := compare.Comparison{Base: "v7.3"}
		for _, fl := range fls {
			c.Columns = append(c.Columns, compare.Column{Flavour: fl})
		}
		return c
	}
	tests := []struct {
		name string
		c    compare.Comparison
		want []string
		err  string
	}{
		{"base and patched", cols("base", "patched"), []string{"patches/v7.3/iomap", "patches/v7.3/fuse", "patches/v7.3/stale"}, ""},
		{"base alone", cols("base"), []string{"patches/v7.3/iomap", "patches/v7.3/fuse", "patches/v7.3/stale"}, ""},
		{"base and pdio", cols("base", "pdio"), []string{"patches/v7.3/pdio"}, ""},
		{"a flavour the base lacks", cols("base", "rfc2"), nil, `base v7.3 has no flavour "rfc2" (it has base, patched, pdio)`},
	}
	for _, tc := range tests {
		got, err := quotedBy(spec, tc.c)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if d := cmp.Diff(tc.want, got); d != "" || gotErr != tc.err {
			t.Errorf("%s: error %q, want %q; series (-want +got):\n%s", tc.name, gotErr, tc.err, d)
		}
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
