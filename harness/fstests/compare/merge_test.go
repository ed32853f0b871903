package compare

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/fstests"
	"dioharness/harness/verdict"
)

// comparisonOf is a comparison of one selection on setups: one test per
// setup with the verdict on both kernels, and an infrastructure note.
func comparisonOf(tests string, setups []string, kernels map[string]string, v verdict.Verdict) Comparison {
	c := Comparison{Base: "v7.3", FSTests: "v2026.01.05", Root: "bookworm-1.img"}
	for _, fl := range []string{"base", "patched"} {
		c.Columns = append(c.Columns, Column{Flavour: fl, Release: release(kernels[fl]), Source: "Debian linux-source-7.3"})
	}
	for _, s := range setups {
		setup, _ := fstests.SetupNamed(s)
		c.Setups = append(c.Setups, setup)
		c.Parts = append(c.Parts, Part{Tests: tests, Setup: s, Count: 1, Kernels: kernels,
			Time:  map[string]time.Duration{"base": 600 * time.Second, "patched": 610 * time.Second},
			Picks: []fstests.Pick{{Test: "generic/091", Why: "group aio"}}})
		r := Row{Tests: tests, Setup: s, Test: "generic/091", Cells: map[string]Cell{}}
		for _, fl := range []string{"base", "patched"} {
			r.Cells[fl] = Cell{Verdict: v, Duration: 90 * time.Second, Calls: map[string]uint64{"fuse_direct_io": 3}}
		}
		c.Rows = append(c.Rows, r)
		c.Infra = append(c.Infra, Note{Flavour: "base", Setup: s, Tests: tests, Text: "infra note"})
	}
	return c
}

var kernels = map[string]string{"base": "7.3.4+ aaa", "patched": "7.3.4+ bbb"}

func writeComparison(t *testing.T, c Comparison) string {
	var b bytes.Buffer
	if err := c.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fstests-v7.3.json")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadRoundTrip(t *testing.T) {
	c := comparisonOf("@iomap-dio", []string{"ext4", "fuse-direct-io"}, kernels, verdict.Pass)
	c.Parts[0].Dirs = map[string]string{"base": "results/fstests-v7.3-base-ext4-20261207-130000"}
	got, err := Load(writeComparison(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("WriteJSON then Load (-want +got):\n%s", diff)
	}
}

func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	orphan := comparisonOf("generic/091", []string{"ext4"}, kernels, verdict.Pass)
	orphan.Rows[0].Tests = "generic/095"
	tests := []struct {
		name, json, want string
	}{
		// The form before runs were recorded (one selection for all).
		{"format 1", `{"base": "v7.3", "tests": "generic/091", "kernels": [{"flavour": "base"}]}`, "format 0, this harness reads format 2"},
		{"no runs", `{"format": 2, "base": "v7.3", "kernels": [{"flavour": "base"}]}`, "no runs"},
		{"not json", `{`, "unexpected end of JSON input"},
	}
	for _, tc := range tests {
		p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
		if err := os.WriteFile(p, []byte(tc.json), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := Load(writeComparison(t, orphan)); err == nil || !strings.Contains(err.Error(), "belongs to no run") {
		t.Errorf("a row outside every run: error %v, want belongs to no run", err)
	}
}

// rowKey is a row as the merge tests compare it.
type rowKey struct {
	Tests, Setup string
	Verdict      verdict.Verdict
}

func rowKeys(c Comparison) []rowKey {
	var rows []rowKey
	for _, r := range c.Rows {
		rows = append(rows, rowKey{r.Tests, r.Setup, r.Cells["patched"].Verdict})
	}
	return rows
}

func TestMerge(t *testing.T) {
	old := comparisonOf("generic/091", []string{"ext4", "fuse-cached"}, kernels, verdict.Fail)

	// The same selection on one setup again: that run is replaced.
	got, err := Merge(old, comparisonOf("generic/091", []string{"fuse-cached"}, kernels, verdict.Pass))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]rowKey{{"generic/091", "ext4", verdict.Fail}, {"generic/091", "fuse-cached", verdict.Pass}}, rowKeys(got)); diff != "" {
		t.Errorf("merged rows (-want +got):\n%s", diff)
	}
	wantInfra := []Note{{"base", "ext4", "generic/091", "infra note"}, {"base", "fuse-cached", "generic/091", "infra note"}}
	if diff := cmp.Diff(wantInfra, got.Infra); diff != "" {
		t.Errorf("merged infrastructure notes (-want +got):\n%s", diff)
	}
	if n, m := len(got.Setups), len(got.Parts); n != 2 || m != 2 {
		t.Errorf("%d setups and %d runs after the merge, want 2 and 2", n, m)
	}

	// Another selection on a setup the comparison has and on a new
	// one, on another build of the same release: everything is kept,
	// each run with its build.
	newer := map[string]string{"base": "7.3.4+ aaa", "patched": "7.3.4+ ccc"}
	got, err = Merge(old, comparisonOf("@iomap-dio", []string{"ext4", "xfs"}, newer, verdict.Pass))
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []rowKey{{"generic/091", "ext4", verdict.Fail}, {"generic/091", "fuse-cached", verdict.Fail}, {"@iomap-dio", "ext4", verdict.Pass}, {"@iomap-dio", "xfs", verdict.Pass}}
	if diff := cmp.Diff(wantRows, rowKeys(got)); diff != "" {
		t.Errorf("merged rows (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ext4", "fuse-cached", "xfs"}, names(got.Setups)); diff != "" {
		t.Errorf("merged setups (-want +got):\n%s", diff)
	}
	want := "fstests on v7.3: generic/091 on ext4, fuse-cached: base 0 pass, 2 fail, 0 notrun, 0 timeout; patched 0 pass, 2 fail, 0 notrun, 0 timeout; " +
		"@iomap-dio (1 tests) on ext4, xfs: base 2 pass, 0 fail, 0 notrun, 0 timeout; patched 2 pass, 0 fail, 0 notrun, 0 timeout; 0 new failures on patched; 0 kernel reports"
	if s := got.Summary(); s != want {
		t.Errorf("Summary:\n got %s\nwant %s", s, want)
	}
	var md bytes.Buffer
	if err := got.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"- patched: 7.3.4+ (Debian linux-source-7.3), local tree commits bbb, ccc\n",
		"| generic/091 | ext4 | aaa, 10m0s: 0 pass, 1 fail, 0 notrun, 0 timeout | bbb, 10m10s: 0 pass, 1 fail, 0 notrun, 0 timeout | 0 |\n",
		"| @iomap-dio (1 tests) | xfs | aaa, 10m0s: 1 pass, 0 fail, 0 notrun, 0 timeout | ccc, 10m10s: 1 pass, 0 fail, 0 notrun, 0 timeout | 0 |\n",
		"## ext4: generic/091\n", "## ext4: @iomap-dio (1 tests)\n",
		"## Why @iomap-dio took each test (ext4, xfs)\n", "| generic/091 | group aio |\n",
		"- ext4 generic/091 (@iomap-dio): fuse_direct_io 3 / 3\n",
	} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("markdown lacks %q:\n%s", s, md.String())
		}
	}
	// ext4's tables come before xfs's.
	if i, j := strings.Index(md.String(), "## ext4: @iomap-dio"), strings.Index(md.String(), "## xfs:"); i < 0 || j < i {
		t.Errorf("tables out of setup order:\n%s", md.String())
	}

	// A run of one flavour leaves the other missing, not passed.
	one := comparisonOf("@iomap-dio", []string{"xfs"}, kernels, verdict.Pass)
	one.Columns = one.Columns[1:]
	for i := range one.Rows {
		delete(one.Rows[i].Cells, "base")
	}
	got, err = Merge(old, one)
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Rows[2].Cells["base"].Verdict; v != verdict.Missing {
		t.Errorf("base verdict of a patched-only run: %s, want missing", v)
	}

	tests := []struct {
		name, want string
		edit       func(*Comparison)
	}{
		{"another base", "bases v7.3 and v6.12", func(c *Comparison) { c.Base = "v6.12" }},
		{"another fstests", "fstests", func(c *Comparison) { c.FSTests = "v2026.02.01" }},
		{"another root disk", "bookworm-2.img", func(c *Comparison) { c.Root = "bookworm-2.img" }},
		{"another patched release", "patched kernel 7.3.4+", func(c *Comparison) { c.Columns[1].Release = "7.3.5+" }},
		{"another source", "7.3.5-1", func(c *Comparison) { c.Columns[1].Source = "Debian linux-source-7.3 7.3.5-1" }},
		{"a kernel the comparison lacks", "custom kernel", func(c *Comparison) { c.Columns[0].Flavour = "custom" }},
		{"a row outside its runs", "belongs to no run", func(c *Comparison) { c.Rows[0].Tests = "generic/095" }},
	}
	for _, tt := range tests {
		n := comparisonOf("@iomap-dio", []string{"fuse-cached"}, kernels, verdict.Pass)
		tt.edit(&n)
		if _, err := Merge(old, n); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestDropped: what a comparison written in place of a committed one
// loses of it. Adding runs loses nothing; anything else is named.
func TestDropped(t *testing.T) {
	committed := func() Comparison {
		c := comparisonOf("generic/091 generic/095", []string{"ext4", "fuse-cached"}, kernels, verdict.Pass)
		c.Parts[0].Count = 2
		c.Rows = append(c.Rows[:1], Row{Tests: c.Rows[0].Tests, Setup: "ext4", Test: "generic/095", Cells: maps.Clone(c.Rows[0].Cells)}, c.Rows[1])
		return c
	}
	// Load's view of it: durations in whole seconds, as committed.
	c, err := Load(writeComparison(t, committed()))
	if err != nil {
		t.Fatal(err)
	}
	merged := func(next Comparison) Comparison {
		m, err := Merge(c, next)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	again := committed()
	for _, r := range again.Rows {
		for f, cell := range r.Cells {
			cell.Duration += 300 * time.Millisecond
			r.Cells[f] = cell
		}
	}
	for _, p := range again.Parts {
		p.Time["base"] += 200 * time.Millisecond
	}
	shorter := comparisonOf("generic/091 generic/095", []string{"ext4"}, kernels, verdict.Pass)
	tests := []struct {
		name string
		next Comparison
		want []string
	}{
		{"itself", c, nil},
		// Build's times to the nanosecond, the committed ones in seconds.
		{"the same runs folded again", merged(again), nil},
		{"another selection added", merged(comparisonOf("@iomap-dio", []string{"ext4", "xfs"}, kernels, verdict.Pass)), nil},
		{"run directories alone, without the committed file",
			comparisonOf("generic/091", []string{"fuse-cached"}, kernels, verdict.Pass),
			[]string{"drop its run of TESTS=generic/091 generic/095 on ext4", "drop its run of TESTS=generic/091 generic/095 on fuse-cached"}},
		{"the same selection on a setup, another build",
			merged(comparisonOf("generic/091 generic/095", []string{"fuse-cached"}, map[string]string{"base": "7.3.4+ aaa", "patched": "7.3.4+ ccc"}, verdict.Pass)),
			[]string{"replace its run of TESTS=generic/091 generic/095 on fuse-cached (base aaa, patched bbb) by another (base aaa, patched ccc)"}},
		{"the same selection on a setup, fewer tests", merged(shorter),
			[]string{"cut its run of TESTS=generic/091 generic/095 on ext4 from 2 tests to 1"}},
	}
	for _, tc := range tests {
		if d := cmp.Diff(tc.want, Dropped(c, tc.next)); d != "" {
			t.Errorf("%s: (-want +got):\n%s", tc.name, d)
		}
	}
}
