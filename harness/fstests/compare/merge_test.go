package compare

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/fstests"
	"dioharness/harness/verdict"
)

func comparisonOf(setups []string, kernels map[string]string, v verdict.Verdict) Comparison {
	c := Comparison{Base: "v7.3", Tests: "generic/091", FSTests: "v2026.01.05", Root: "bookworm-1.img"}
	for _, s := range setups {
		c.Setups = append(c.Setups, setupNamed(s))
		r := Row{Setup: s, Test: "generic/091", Cells: map[string]Cell{}}
		for _, fl := range []string{"base", "patched"} {
			r.Cells[fl] = Cell{Verdict: v, Duration: 90 * time.Second, Calls: map[string]uint64{"fuse_direct_io": 3}}
		}
		c.Rows = append(c.Rows, r)
		c.Infra = append(c.Infra, "base "+s+": infra note")
	}
	for _, fl := range []string{"base", "patched"} {
		t := map[string]time.Duration{}
		for _, s := range setups {
			t[s] = 600 * time.Second
		}
		c.Columns = append(c.Columns, Column{Flavour: fl, Kernel: kernels[fl], Source: "Debian linux-source-7.3", Time: t})
	}
	return c
}

func setupNamed(name string) fstests.Setup {
	for _, s := range fstests.Setups {
		if s.Name == name {
			return s
		}
	}
	return fstests.Setup{Name: name}
}

var kernels = map[string]string{"base": "7.3.4+ aaa", "patched": "7.3.4+ bbb"}

func TestLoadComparisonRoundTrip(t *testing.T) {
	c := comparisonOf([]string{"ext4", "fuse-direct-io"}, kernels, verdict.Pass)
	var b bytes.Buffer
	if err := c.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fstests-v7.3.json")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("WriteJSON then LoadComparison (-want +got):\n%s", diff)
	}
}

func TestMerge(t *testing.T) {
	old := comparisonOf([]string{"ext4", "fuse-cached"}, kernels, verdict.Fail)
	next := comparisonOf([]string{"fuse-cached"}, kernels, verdict.Pass)
	got, err := Merge(old, next)
	if err != nil {
		t.Fatal(err)
	}
	type rowKey struct {
		Setup   string
		Verdict verdict.Verdict
	}
	var rows []rowKey
	for _, r := range got.Rows {
		rows = append(rows, rowKey{r.Setup, r.Cells["patched"].Verdict})
	}
	// ext4 kept as it was, fuse-cached replaced by the new run.
	if diff := cmp.Diff([]rowKey{{"ext4", verdict.Fail}, {"fuse-cached", verdict.Pass}}, rows); diff != "" {
		t.Errorf("merged rows (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"base ext4: infra note", "base fuse-cached: infra note"}, got.Infra); diff != "" {
		t.Errorf("merged infrastructure notes (-want +got):\n%s", diff)
	}
	if n := len(got.Setups); n != 2 {
		t.Errorf("%d setups after the merge, want 2", n)
	}

	// The same release and source from another commit of the tree: the
	// column names both builds.
	other := comparisonOf([]string{"fuse-cached"}, map[string]string{"base": "7.3.4+ aaa", "patched": "7.3.4+ ccc"}, verdict.Pass)
	got, err = Merge(old, other)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"7.3.4+ aaa", "7.3.4+ bbb (ext4); 7.3.4+ ccc (fuse-cached)"}, []string{got.Columns[0].Kernel, got.Columns[1].Kernel}); diff != "" {
		t.Errorf("merged kernel labels (-want +got):\n%s", diff)
	}

	tests := []struct {
		name string
		edit func(*Comparison)
	}{
		{"another base", func(c *Comparison) { c.Base = "v6.12" }},
		{"other tests", func(c *Comparison) { c.Tests = "generic/095" }},
		{"another root disk", func(c *Comparison) { c.Root = "bookworm-2.img" }},
		{"another patched release", func(c *Comparison) { c.Columns[1].Kernel = "7.3.5+ bbb" }},
		{"another source", func(c *Comparison) { c.Columns[1].Source = "Debian linux-source-7.3 7.3.5-1" }},
		{"a kernel the comparison lacks", func(c *Comparison) { c.Columns[0].Flavour = "custom" }},
	}
	for _, tt := range tests {
		n := comparisonOf([]string{"fuse-cached"}, kernels, verdict.Pass)
		tt.edit(&n)
		if _, err := Merge(old, n); err == nil {
			t.Errorf("%s: merged without an error", tt.name)
		}
	}
}

// TestOverwrites: what a fold would lose of the committed comparison;
// adding a setup loses nothing.
func TestOverwrites(t *testing.T) {
	committed := comparisonOf([]string{"ext4", "xfs", "fuse-cached"}, kernels, verdict.Pass)
	two := comparisonOf([]string{"fuse-cached"}, kernels, verdict.Pass)
	two.Tests = "generic/091 generic/095"
	all := comparisonOf([]string{"ext4", "xfs", "fuse-cached", "fuse-direct-io"}, kernels, verdict.Pass)
	tests := []struct {
		name string
		next Comparison
		ran  []string
		want string
	}{
		{"a new setup folded into the committed one", all, []string{"fuse-direct-io"}, ""},
		{"a committed setup run again", all, []string{"fuse-cached", "fuse-direct-io"}, "replace the committed runs of fuse-cached"},
		{"run directories alone, fewer setups, other tests", two, []string{"fuse-cached"},
			`replace the committed runs of fuse-cached, drop ext4, xfs, change its tests from "generic/091" to "generic/091 generic/095"`},
	}
	for _, tc := range tests {
		if got := Overwrites(committed, tc.next, tc.ran); got != tc.want {
			t.Errorf("%s: Overwrites = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestSummaryTestsPerSetup: one tests list when every setup ran the
// same tests, else each setup's own.
func TestSummaryTestsPerSetup(t *testing.T) {
	same := comparisonOf([]string{"ext4", "fuse-cached"}, kernels, verdict.Pass)
	if got, want := same.Summary(), "fstests generic/091 on v7.3 (ext4, fuse-cached): base 2 pass"; !strings.HasPrefix(got, want) {
		t.Errorf("Summary = %q, want it to start %q", got, want)
	}
	two := same
	two.Tests = "generic/091 generic/095"
	two.Rows = append(slices.Clone(same.Rows), Row{Setup: "ext4", Test: "generic/095", Cells: map[string]Cell{}})
	if got, want := two.Summary(), "fstests on v7.3 (ext4: generic/091 generic/095; fuse-cached: generic/091): base 2 pass"; !strings.HasPrefix(got, want) {
		t.Errorf("Summary = %q, want it to start %q", got, want)
	}
}
