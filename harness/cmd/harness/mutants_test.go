package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/catalogue"
	"dioharness/harness/kbase"
	"dioharness/harness/mutagen"
	"dioharness/harness/mutant"
)

// The committed mutants parse, name scenarios of the catalogue as their
// killers, sit in the folder of a base the repository has, and include
// the one bisect-demo plants; each base's triage of the generated
// survivors reads.
func TestCommittedMutants(t *testing.T) {
	const repo = "../../.."
	bases, err := kbase.Load(repo)
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := filepath.Glob(filepath.Join(repo, "mutants", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no mutants/<base>/ directories: %v", err)
	}
	total := 0
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		if !slices.Contains(bases.Names(), filepath.Base(d)) {
			t.Errorf("%s: no base %s in patches/*/%s (have %v)", d, filepath.Base(d), kbase.SpecFile, bases.Names())
		}
		cat, err := catalogue.Load()
		if err != nil {
			t.Fatal(err)
		}
		ms, err := mutant.Load(d, "", cat)
		if err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		total += len(ms)
		if _, err := mutant.ReadTriage(filepath.Join(d, mutant.TriageFile)); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	if total < 10 {
		t.Errorf("%d mutants, want at least 10", total)
	}
	if _, err := os.Stat(filepath.Join(repo, "mutants/v7.3", demoMutant)); err != nil {
		t.Errorf("bisect-demo's mutant: %v", err)
	}
}

// Each base's full run has a results directory of its own, so that a
// run of one base never overwrites the committed results of another;
// the default base keeps results/ itself, and a subset never lands in a
// full run's directory.
func TestMutantsOut(t *testing.T) {
	started := time.Date(2026, 12, 1, 13, 40, 5, 0, time.UTC)
	def := kbase.Spec{Name: "v7.3", Default: true}
	other := kbase.Spec{Name: "v6.12"}
	for _, tc := range []struct {
		name   string
		spec   kbase.Spec
		subset bool
		want   string
	}{
		{"default base, every mutant", def, false, "results"},
		{"other base, every mutant", other, false, "results/mutants-v6.12"},
		{"default base, subset", def, true, "results/mutants-v7.3-20261201-134005"},
		{"other base, subset", other, true, "results/mutants-v6.12-20261201-134005"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, mutantsOut("results", tc.spec, tc.subset, started)); d != "" {
				t.Errorf("mutantsOut (-want +got):\n%s", d)
			}
		})
	}
}

// A generated mutant applies on the patched flavour: the plan reads the
// patched source, and the runner finds no tree for an empty flavour.
func TestGeneratedMutantFlavour(t *testing.T) {
	c := mutagen.Candidate{Mutation: mutagen.Mutation{File: "fs/fuse/file.c", Func: "fuse_dio_lock", Class: "swap-lock", N: 5}}
	got := generatedMutant(c, "build/mutate/v7.3/x.patch")
	want := mutant.Mutant{Name: "g-fuse-file-fuse_dio_lock-swap-lock-5", Path: "build/mutate/v7.3/x.patch", Subject: c.Subject(), Flavour: kbase.Patched}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("generatedMutant (-want +got):\n%s", d)
	}
}

// A subset run folds into the committed mutants.{md,json} of a full
// run; with none committed, or only generated mutants, there is nothing
// to fold into.
func TestFoldMutants(t *testing.T) {
	dir := t.TempDir()
	sub := mutant.Report{Base: "v7.3", Started: time.Date(2026, 12, 7, 19, 30, 0, 0, time.UTC), Seconds: 60,
		Results: []mutant.Result{{Name: "13-new", Verdict: mutant.Killed}}}
	if err := foldMutants(dir, sub); err == nil {
		t.Error("fold with no committed mutants.json: no error")
	}
	// make mutate writes a mutants.json of generated mutants only: no
	// hand-written results to fold into, and its generated set stays
	// through the full run and the fold.
	if err := (mutant.Report{Base: "v7.3", Generated: &mutant.Generated{Seed: 1}}).WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	if err := foldMutants(dir, sub); err == nil {
		t.Error("fold into a mutants.json of generated mutants only: no error")
	}
	full := mutant.Report{Base: "v7.3", Results: []mutant.Result{{Name: "01-old", Verdict: mutant.Killed}}}
	if err := full.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	if err := foldMutants(dir, sub); err != nil {
		t.Fatal(err)
	}
	got, err := mutant.ReadReport(filepath.Join(dir, "mutants.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range got.Results {
		names = append(names, r.Name)
	}
	if d := cmp.Diff([]string{"01-old", "13-new"}, names); d != "" {
		t.Errorf("folded mutants (-want +got):\n%s", d)
	}
	if got.Totals.Killed != 2 || len(got.Folded) != 1 {
		t.Errorf("folded totals %+v, folded %+v", got.Totals, got.Folded)
	}
	if got.Generated == nil || got.Generated.Seed != 1 {
		t.Errorf("folded generated set %+v, want seed 1's kept", got.Generated)
	}
}
