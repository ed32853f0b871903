package mutant

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"dioharness/harness/catalogue"
	"dioharness/harness/report"
	"dioharness/harness/verdict"
)

func TestReadTriage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body string
		want       map[string]Triage
		wantErr    string
	}{
		{name: "both kinds", body: "# comment\n\ng-a: equivalent: the branch is dead on x86\ng-b: missing test: nothing reads past EOF\n",
			want: map[string]Triage{"g-a": {Kind: TriageEquivalent, Reason: "the branch is dead on x86"}, "g-b": {Kind: TriageMissingTest, Reason: "nothing reads past EOF"}}},
		{name: "unknown kind", body: "g-a: harmless: x\n", wantErr: "generated-triage:1"},
		{name: "no reason", body: "g-a: equivalent: \n", wantErr: "generated-triage:1"},
		{name: "twice", body: "g-a: equivalent: x\ng-a: equivalent: y\n", wantErr: "triaged twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, TriageFile)
			if err := os.WriteFile(p, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadTriage(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ReadTriage: %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("ReadTriage (-want +got):\n%s", d)
			}
		})
	}
	if got, err := ReadTriage(filepath.Join(dir, "none")); err != nil || len(got) != 0 {
		t.Errorf("missing file: %v, %v; want an empty triage", got, err)
	}
}

// The score leaves equivalent survivors, discarded and not run mutants
// out, per file and per class; a later result replaces an earlier one.
func TestGeneratedScore(t *testing.T) {
	res := func(name, file, class string, v Verdict) GenResult {
		return GenResult{Result: Result{Name: name, Verdict: v}, Site: Site{File: file, Class: class}}
	}
	var g Generated
	g.Merge([]GenResult{
		res("a", "f.c", "boundary", Killed),
		res("b", "f.c", "boundary", Survived),
		res("c", "g.c", "drop-call", Survived),
		res("d", "g.c", "drop-call", Discarded),
		res("e", "g.c", "boundary", NotRun),
		res("f", "g.c", "boundary", Killed),
	}, map[string]Triage{"c": {Kind: TriageEquivalent, Reason: "x"}, "a": {Kind: TriageMissingTest, Reason: "ignored: killed"}})
	g.Merge([]GenResult{res("b", "f.c", "boundary", Killed)}, map[string]Triage{"c": {Kind: TriageEquivalent, Reason: "x"}})
	want := Score{Key: "all", Killed: 3, Survived: 1, Equivalent: 1, NotRun: 1, Discarded: 1, Score: 1}
	if d := cmp.Diff(want, g.Totals); d != "" {
		t.Errorf("totals (-want +got):\n%s", d)
	}
	wantFiles := []Score{
		{Key: "f.c", Killed: 2, Score: 1},
		{Key: "g.c", Killed: 1, Survived: 1, Equivalent: 1, NotRun: 1, Discarded: 1, Score: 1},
	}
	if d := cmp.Diff(wantFiles, g.ByFile); d != "" {
		t.Errorf("per file (-want +got):\n%s", d)
	}
	if len(g.Mutants) != 6 || g.Mutants[0].Triage != nil {
		t.Errorf("%d mutants, a killed one triaged: %+v", len(g.Mutants), g.Mutants[0].Triage)
	}
	g.Merge([]GenResult{res("f", "g.c", "boundary", Survived)}, nil)
	if d := cmp.Diff(Score{Key: "boundary", Killed: 2, Survived: 1, NotRun: 1, Score: 2.0 / 3}, g.ByClass[0], cmpopts.EquateApprox(0, 1e-9)); d != "" {
		t.Errorf("boundary after f survived (-want +got):\n%s", d)
	}
}

func TestJudgeGenerated(t *testing.T) {
	m := Mutant{Name: "g-x"}
	for _, c := range []struct {
		err  string
		want Verdict
	}{
		{"kernel v7.3/patched: build failed: exit status 2\nfs/fuse/file.c:1520:9: error: 'err' undeclared", Discarded},
		{"kernel v7.3/patched: build failed: signal: killed\n  CC fs/fuse/file.o", NotRun},
		{"kernel v7.3/patched: build failed: context canceled", NotRun},
	} {
		if r := JudgeGenerated(m, Run{Stage: StageBuild, Err: c.err}, Site{}); r.Verdict != c.want {
			t.Errorf("build failure %q: %s, want %s", c.err, r.Verdict, c.want)
		}
	}
	if r := JudgeGenerated(m, Run{Stage: StageBoot, Err: "no agent"}, Site{}); r.Verdict != NotRun {
		t.Errorf("a boot failure: %s, want not run", r.Verdict)
	}
	r := JudgeGenerated(m, Run{Stage: StageRun, Scenarios: []report.Scenario{
		{Name: "fuse/a", Verdict: verdict.Fail, Reason: "invariant extending-dio-write-exclusive: fuse_direct_write_iter: ..."},
		{Name: "fuse/b", Verdict: verdict.Fail, Reason: "workload fuse-direct seed 2: invariant write-advances-pos-and-size: x"},
	}}, Site{})
	if d := cmp.Diff([]string{"extending-dio-write-exclusive", "write-advances-pos-and-size"}, r.Rules); r.Verdict != Killed || d != "" {
		t.Errorf("verdict %s, rules (-want +got):\n%s", r.Verdict, d)
	}
}

func TestAreaScenarios(t *testing.T) {
	cat := catalogue.Catalogue{
		{Name: "fuse/a", Area: "fuse"}, {Name: "ext4/b", Area: "ext4"}, {Name: "fuse/m", Area: "fuse", Manual: true},
		{Name: "mixed/fio-fuse", Area: "mixed"}, {Name: "mixed/fio-xfs", Area: "mixed"}, {Name: "mixed/fuzz", Area: "mixed", Manual: true},
	}
	if d := cmp.Diff([]string{"fuse/a", "mixed/fio-fuse"}, AreaScenarios(cat, []string{"fuse"})); d != "" {
		t.Errorf("fuse (-want +got):\n%s", d)
	}
}
