package report

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/kbase"
	"dioharness/harness/shard"
)

// selection is the run order of r: each scenario once, first
// occurrence first.
func selection(r Run) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range r.Scenarios {
		if !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s.Name)
		}
	}
	return out
}

// split cuts a whole run into the n runs its shards would have
// reported: the harness shards the selection and each shard repeats its
// part, so a scenario's every attempt lands in the shard of its
// position. Kernel reports stay with shard 1, timing with every shard.
func split(r Run, n int) []Run {
	pos := map[string]int{}
	for i, name := range selection(r) {
		pos[name] = i
	}
	out := make([]Run, n)
	for i := range out {
		out[i] = Run{Variant: r.Variant, Kernel: r.Kernel, Source: r.Source, Note: r.Note,
			Started: r.Started, Duration: r.Duration, Shard: shard.Shard{Index: i + 1, Count: n}.String()}
	}
	out[0].KernelReports = r.KernelReports
	for _, s := range r.Scenarios {
		i := shard.Of(pos[s.Name], n).Index - 1
		out[i].Scenarios = append(out[i].Scenarios, s)
	}
	return out
}

// repeated is r run twice in one boot (REPEAT=2).
func repeated(r Run) Run {
	r.Scenarios = append(append([]Scenario(nil), r.Scenarios...), r.Scenarios...)
	return r
}

// renderings are every output merge writes: summary.json, JUnit and
// the matrix in JSON and Markdown.
func renderings(t *testing.T, runs ...Run) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range runs {
		var js, junit bytes.Buffer
		if err := WriteJSON(&js, r); err != nil {
			t.Fatal(err)
		}
		if err := WriteJUnit(&junit, r); err != nil {
			t.Fatal(err)
		}
		out[r.Variant.Slug()+"/summary.json"] = js.String()
		out[r.Variant.Slug()+"/junit.xml"] = junit.String()
	}
	var mj, mm bytes.Buffer
	m := BuildMatrix(runs...)
	if err := WriteMatrixJSON(&mj, m); err != nil {
		t.Fatal(err)
	}
	if err := WriteMatrixMarkdown(&mm, m); err != nil {
		t.Fatal(err)
	}
	out["matrix.json"], out["matrix.md"] = mj.String(), mm.String()
	return out
}

// TestMergedShardsEqualWholeRun splits whole runs (one recorded on a
// real v7.3 base kernel, the synthetic fixtures with kernel reports,
// errors and skips, a REPEAT run) into 1 to 5 shards, merges the shards
// back and wants the whole run and every rendering of it unchanged.
func TestMergedShardsEqualWholeRun(t *testing.T) {
	recorded, err := LoadRun("testdata/v7.3-base-full.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		whole []Run
	}{
		{"recorded v7.3 base", []Run{recorded}},
		{"base and patched", []Run{baseRun(), patchedRun()}},
		{"repeat 2", []Run{repeated(baseRun())}},
		{"recorded and synthetic", []Run{recorded, patchedRun()}},
	}
	for _, tt := range tests {
		for n := 1; n <= 5; n++ {
			var shards []Run
			var order []string
			for _, w := range tt.whole {
				shards = append(shards, split(w, n)...)
				order = append(order, selection(w)...)
			}
			// Shards arrive in any order: reverse them.
			for i, j := 0, len(shards)-1; i < j; i, j = i+1, j-1 {
				shards[i], shards[j] = shards[j], shards[i]
			}
			got, err := Merge(order, shards...)
			if err != nil {
				t.Fatalf("%s in %d shards: %v", tt.name, n, err)
			}
			// Merge lists kernels as they first appear; reversed input
			// puts the last kernel first.
			want := append([]Run(nil), tt.whole...)
			if len(got) == len(want) && len(want) == 2 {
				want[0], want[1] = want[1], want[0]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s in %d shards: merged run differs (-whole +merged):\n%s", tt.name, n, diff)
				continue
			}
			if diff := cmp.Diff(renderings(t, want...), renderings(t, got...)); diff != "" {
				t.Errorf("%s in %d shards: renderings differ (-whole +merged):\n%s", tt.name, n, diff)
			}
		}
	}
}

// TestMergeKeepsEveryShardsInfraError: a shard that failed to boot is
// named in the merged run, which then does not verify.
func TestMergeKeepsEveryShardsInfraError(t *testing.T) {
	shards := split(baseRun(), 2)
	shards[1].Infra = "guest never reached the agent"
	got, err := Merge(selection(baseRun()), shards...)
	if err != nil {
		t.Fatal(err)
	}
	if want := "shard 2/2: guest never reached the agent"; got[0].Infra != want {
		t.Errorf("merged infra = %q, want %q", got[0].Infra, want)
	}
	if BuildMatrix(got...).OK() {
		t.Error("a matrix with a failed shard is OK")
	}
}

func TestMergeTiming(t *testing.T) {
	shards := split(baseRun(), 2)
	shards[1].Started = shards[0].Started.Add(-ms(1000))
	shards[1].Duration = ms(500)
	shards[0].Duration = ms(2000)
	got, err := Merge(selection(baseRun()), shards...)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Started != shards[1].Started || got[0].Duration != ms(3000) {
		t.Errorf("merged run started %s and lasted %s, want %s and 3s", got[0].Started, got[0].Duration, shards[1].Started)
	}
}

// TestMergeRefuses covers the inputs that would hide a runner or mix
// kernels.
func TestMergeRefuses(t *testing.T) {
	two := func() []Run { return split(baseRun(), 2) }
	whole := baseRun()
	tests := []struct {
		name string
		runs func() []Run
		want string
	}{
		{"missing shard", func() []Run { return two()[:1] }, "shard 2/2 missing"},
		{"shard twice", func() []Run { s := two(); return []Run{s[0], s[0], s[1]} }, "shard 1/2 given twice"},
		{"different splits", func() []Run { return append(two(), split(baseRun(), 3)[2]) }, "different splits"},
		{"whole run and shards", func() []Run { return append(two(), whole) }, "mixed"},
		{"overlap", func() []Run {
			a, b := whole, whole
			a.Scenarios, b.Scenarios = whole.Scenarios[:2], whole.Scenarios[1:]
			return []Run{a, b}
		}, "scenario short_read is in run 1 and in run 2"},
		{"different kernels", func() []Run { s := two(); s[1].Kernel = "other"; return s }, `has kernel "other"`},
		{"bad shard", func() []Run { s := two(); s[1].Shard = "3/2"; return s }, `bad shard "3/2"`},
	}
	for _, tt := range tests {
		_, err := Merge(selection(whole), tt.runs()...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// TestMergeDisjointWholeRuns: runs of disjoint selections on one kernel
// (fuse/* on one runner, ext4/* on another) merge in selection order.
func TestMergeDisjointWholeRuns(t *testing.T) {
	whole := baseRun()
	a, b := whole, whole
	a.Scenarios, b.Scenarios = whole.Scenarios[3:], whole.Scenarios[:3]
	b.KernelReports = nil
	got, err := Merge(selection(whole), a, b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Run{whole}, got); diff != "" {
		t.Errorf("merged (-want +got):\n%s", diff)
	}
	if got[0].Variant != (kbase.Variant{Base: "v7.3", Flavour: kbase.Base}) {
		t.Errorf("variant %s", got[0].Variant)
	}
}

// TestLoadMatrixRoundTrip: the page reads the committed matrix back.
func TestLoadMatrixRoundTrip(t *testing.T) {
	want := BuildMatrix(baseRun(), patchedRun())
	var b bytes.Buffer
	if err := WriteMatrixJSON(&b, want); err != nil {
		t.Fatal(err)
	}
	p := t.TempDir() + "/matrix.json"
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadMatrix(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("matrix round trip (-want +got):\n%s", diff)
	}
}
