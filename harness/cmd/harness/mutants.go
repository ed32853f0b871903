package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"dioharness/harness/catalogue"
	"dioharness/harness/kbase"
	"dioharness/harness/kernel"
	"dioharness/harness/mutant"
	"dioharness/harness/report"
	"dioharness/harness/testrun"
	"dioharness/harness/verdict"
)

// mutants applies each mutant of mutants/<base>/ on base + series,
// builds it, boots it once with the scenarios that could see it and
// writes mutants.{md,json} where mutantsOut says.
func mutantsFlags(fs *flag.FlagSet) action {
	glob := fs.String("mutant", "", "run only the mutants whose file name (without .patch) matches this glob")
	fold := fs.Bool("fold", false, "with -mutant, also fold the results into the base's committed mutants.{md,json} (make mutants FOLD=1)")
	return func(ctx context.Context, in invocation) int { return mutants(ctx, in, *glob, *fold) }
}

// mutants has no -ksrc, -kernel or -scenario: a mutant runs on the
// patched flavour with the scenarios its header names and their areas.
func mutants(ctx context.Context, in invocation, glob string, fold bool) int {
	f, cat, stdout, stderr := in.c, in.cat, in.stdout, in.stderr
	if fold && glob == "" {
		return badArgs(stderr, fmt.Errorf("FOLD=1 (-fold) takes MUTANT= (-mutant): a run of every mutant replaces the committed results itself"))
	}
	e, sel, err := f.selectedBases()
	if err != nil {
		return badArgs(stderr, err)
	}
	worst := testrun.ExitOK
	for _, spec := range sel {
		dir := filepath.Join(e.repo, "mutants", spec.Name)
		if _, err := os.Stat(dir); err != nil {
			fmt.Fprintf(stdout, "mutants: base %s has no mutants/%s/\n", spec.Name, spec.Name)
			continue
		}
		ms, err := mutant.Load(dir, glob, cat)
		if err != nil {
			return badArgs(stderr, err)
		}
		src, err := f.sources(e, spec, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return testrun.ExitInfra
		}
		r, err := newMutantRunner(cat, e, spec, f, src, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return testrun.ExitInfra
		}
		rep := mutant.Suite(ctx, spec.Name, r, cat, ms, stdout)
		fmt.Fprintln(stdout)
		rep.Markdown(stdout)
		out := mutantsOut(filepath.Join(e.repo, "results"), spec, glob != "", rep.Started)
		if err := os.MkdirAll(out, 0o755); err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return testrun.ExitInfra
		}
		if err := rep.WriteFiles(out); err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return testrun.ExitInfra
		}
		fmt.Fprintf(stdout, "mutants: %s written to %s\n", spec.Name, out)
		if fold {
			into := mutantsOut(filepath.Join(e.repo, "results"), spec, false, rep.Started)
			if err := foldMutants(into, rep); err != nil {
				fmt.Fprintf(stderr, "harness: %v\n", err)
				return testrun.ExitInfra
			}
			fmt.Fprintf(stdout, "mutants: %s folded into %s\n", spec.Name, into)
		}
		switch {
		case rep.Totals.NotRun > 0 || rep.Totals.Flaky > 0:
			// A mutant without a verdict: it did not run, or only
			// an unconfirmed TIMEOUT failed.
			worst = max(worst, testrun.ExitInfra)
		case rep.Totals.Survived > 0:
			worst = max(worst, testrun.ExitFailed)
		}
	}
	return worst
}

// mutantsOut is the directory for the mutants.{md,json} of one base.
// Only a run of every mutant of a base replaces its committed results:
// the default base's in results/ itself, any other base's in
// results/mutants-<base>/, so that a run of one base never overwrites
// another's. A MUTANT= subset goes to its own timestamped directory.
func mutantsOut(results string, spec kbase.Spec, subset bool, started time.Time) string {
	switch {
	case subset:
		return filepath.Join(results, "mutants-"+spec.Name+"-"+started.Format("20060102-150405"))
	case spec.Default:
		return results
	}
	return filepath.Join(results, "mutants-"+spec.Name)
}

// foldMutants folds a subset run into the committed mutants.{md,json}
// of dir, which a run of every mutant of the base wrote.
func foldMutants(dir string, sub mutant.Report) error {
	path := filepath.Join(dir, "mutants.json")
	committed, err := mutant.ReadReport(path)
	if err != nil {
		return fmt.Errorf("FOLD=1: read mutant results: %w", err)
	}
	// ReadReport reads a missing file as an empty report, and make
	// mutate writes one with generated mutants only.
	if len(committed.Results) == 0 {
		return fmt.Errorf("FOLD=1: no results of hand-written mutants in %s to fold into (a run of every mutant of %s writes them)", path, sub.Base)
	}
	folded, err := committed.Fold(sub)
	if err != nil {
		return err
	}
	return folded.WriteFiles(dir)
}

// mutantRunner is the real mutant.Runner: git am on the patched
// commit in the base's mutant worktree, an incremental build, one boot.
type mutantRunner struct {
	cat   catalogue.Catalogue
	e     env
	spec  kbase.Spec
	src   *kernel.Sources
	frags []string
	// opts are the run options of each flavour a mutant applies on, the
	// base's series read once: what the declarations are judged against.
	opts map[kbase.Flavour]testrun.Options
	f    *commonFlags
	out  io.Writer
}

func newMutantRunner(cat catalogue.Catalogue, e env, spec kbase.Spec, f *commonFlags, src *kernel.Sources, out io.Writer) (*mutantRunner, error) {
	mk, err := testrun.MachineKconfig(e.repo)
	if err != nil {
		return nil, err
	}
	frags, err := testrun.Fragments(e.repo, mk, &spec)
	if err != nil {
		return nil, err
	}
	return &mutantRunner{cat: cat, e: e, spec: spec, src: src, frags: frags, opts: map[kbase.Flavour]testrun.Options{}, f: f, out: out}, nil
}

// options are the run options of flavour fl, read once.
func (r *mutantRunner) options(fl kbase.Flavour) (testrun.Options, error) {
	if o, ok := r.opts[fl]; ok {
		return o, nil
	}
	o := r.f.options(r.e, r.out)
	o.Variant = kbase.Variant{Base: r.spec.Name, Flavour: fl}
	o, err := testrun.ForBase(o, r.spec)
	if err != nil {
		return o, err
	}
	r.opts[fl] = o
	return o, nil
}

func (r *mutantRunner) Run(ctx context.Context, m mutant.Mutant, scenarios []string) mutant.Run {
	o, err := r.options(m.Flavour)
	if err != nil {
		return mutant.Run{Stage: mutant.StageApply, Err: err.Error()}
	}
	t, err := r.src.Mutant(ctx, m.Path, m.Flavour)
	if err != nil {
		return mutant.Run{Stage: mutant.StageApply, Err: err.Error()}
	}
	start := time.Now()
	if err := kernel.Configure(ctx, t, r.frags, r.out); err != nil {
		return mutant.Run{Stage: mutant.StageBuild, Err: err.Error()}
	}
	built, err := kernel.Build(ctx, t, kernel.BuildOptions{
		Jobs: o.Jobs, CCacheDir: o.CCacheDir, Log: r.out, Interactive: o.Interactive,
		LogFile: filepath.Join(o.Build, "kernel", "build-mutant-"+r.spec.Name+".log"),
	})
	buildSecs := time.Since(start).Round(time.Second).Seconds()
	if err != nil {
		return mutant.Run{Stage: mutant.StageBuild, Err: err.Error(), BuildSeconds: buildSecs}
	}
	o.Scenarios = scenarios
	o.Built = &testrun.Built{Tree: t, BzImage: built.BzImage, Release: built.Release}
	o.ResultsName = "mutant-" + r.spec.Name + "-" + m.Name
	start = time.Now()
	res := testrun.Run(ctx, r.cat, o)
	run := mutant.Run{Stage: mutant.StageRun, Scenarios: res.Run.Scenarios, Dir: relResults(r.e.repo, res.Dir),
		BuildSeconds: buildSecs, RunSeconds: time.Since(start).Round(time.Second).Seconds()}
	if res.Exit == testrun.ExitInfra || res.Exit == testrun.ExitBadArgs {
		run.Err = res.Run.Infra
		if ran(res.Run.Scenarios) == 0 {
			run.Stage = mutant.StageBoot
		}
	}
	return run
}

// ran counts the scenarios that have a verdict.
func ran(ss []report.Scenario) int {
	n := 0
	for _, s := range ss {
		if s.Verdict != verdict.Error {
			n++
		}
	}
	return n
}

func relResults(repo, dir string) string {
	if rel, err := filepath.Rel(repo, dir); err == nil && dir != "" {
		return rel
	}
	return dir
}
