package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"dioharness/harness/kbase"
	"dioharness/harness/mutagen"
	"dioharness/harness/mutant"
	"dioharness/harness/testrun"
)

// mutateFlags: generate mutants of the covered functions
// (harness/mutagen) and boot each with the scenarios of its area.
func mutateFlags(fs *flag.FlagSet) action {
	seed := fs.Uint64("seed", 1, "seed of the sample of candidates")
	glob := fs.String("mutant", "", "run only the generated mutants whose name matches this glob")
	list := fs.Bool("list", false, "print the targets and the sample, run nothing")
	again := fs.Bool("again", false, "run mutants that already have a verdict again (new checks since)")
	return func(ctx context.Context, in invocation) int {
		return mutate(ctx, in, mutateArgs{seed: *seed, glob: *glob, list: *list, again: *again})
	}
}

type mutateArgs struct {
	seed        uint64
	glob        string
	list, again bool
}

// mutate generates the sample of each selected base and runs the
// mutants that have no verdict yet (all matching -mutant with -again),
// writing the base's mutants.{json,md} after each one: an interrupted
// run goes on where it stopped.
func mutate(ctx context.Context, in invocation, a mutateArgs) int {
	f, stderr := in.c, in.stderr
	if a.glob != "" {
		if _, err := filepath.Match(a.glob, ""); err != nil {
			return badArgs(stderr, fmt.Errorf("-mutant %q: %w", a.glob, err))
		}
	}
	e, sel, err := f.selectedBases()
	if err != nil {
		return badArgs(stderr, err)
	}
	worst := testrun.ExitOK
	for _, spec := range sel {
		code := mutateBase(ctx, in, e, spec, a)
		if code == testrun.ExitBadArgs {
			return code
		}
		worst = max(worst, code)
	}
	return worst
}

func mutateBase(ctx context.Context, in invocation, e env, spec kbase.Spec, a mutateArgs) int {
	f, cat, stdout, stderr := in.c, in.cat, in.stdout, in.stderr
	fail := func(err error) int {
		fmt.Fprintf(stderr, "harness: mutate %s: %v\n", spec.Name, err)
		return testrun.ExitInfra
	}
	src, err := f.sources(e, spec, stdout)
	if err != nil {
		return fail(err)
	}
	base, err := src.Base(ctx)
	if err != nil {
		return fail(err)
	}
	patched, err := src.Patched(ctx)
	if err != nil {
		return fail(err)
	}
	diff, err := exec.CommandContext(ctx, "git", "-C", patched.Src, "diff", "-U0", base.Commit, patched.Commit, "--", "*.c").Output()
	if err != nil {
		return fail(fmt.Errorf("the series' diff: %w", err))
	}
	objs, err := filepath.Glob(filepath.Join(e.repo, "harness", "probe", "*_x86_bpfel.o"))
	if err != nil {
		return fail(err)
	}
	plan, err := mutagen.NewPlan(patched.Src, objs, string(diff), a.seed)
	if err != nil {
		return fail(err)
	}
	var todo []mutagen.Candidate
	for _, c := range plan.Selected {
		if ok, _ := filepath.Match(a.glob, c.Name()); a.glob == "" || ok {
			todo = append(todo, c)
		}
	}
	if a.glob != "" && len(todo) == 0 {
		return badArgs(stderr, fmt.Errorf("no generated mutant of %s matches %q (harness mutate -list shows them)", spec.Name, a.glob))
	}
	if a.list {
		printPlan(stdout, spec.Name, plan, todo)
		return testrun.ExitOK
	}
	dir := filepath.Join(f.build, "mutate", spec.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	out := mutantsOut(filepath.Join(e.repo, "results"), spec, false, time.Time{})
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fail(err)
	}
	triage, err := mutant.ReadTriage(filepath.Join(e.repo, "mutants", spec.Name, mutant.TriageFile))
	if err != nil {
		return badArgs(stderr, err)
	}
	rep, err := mutant.ReadReport(filepath.Join(out, "mutants.json"))
	if err != nil {
		return fail(err)
	}
	if rep.Base == "" {
		rep.Base = spec.Name
	}
	gen := rep.Generated
	if gen == nil || gen.Seed != a.seed {
		gen = &mutant.Generated{Seed: a.seed}
	}
	gen.Targets, gen.Candidates = len(plan.Targets), len(plan.Candidates)
	rep.Generated = gen
	runner, err := newMutantRunner(cat, e, spec, f, src, stdout)
	if err != nil {
		return fail(err)
	}
	commit := harnessCommit(ctx, e.repo)
	for i, c := range todo {
		if ctx.Err() != nil {
			break
		}
		if !a.again && judged(gen, c.Name()) {
			continue
		}
		p, err := plan.Patch(c)
		if err != nil {
			return fail(err)
		}
		path := filepath.Join(dir, c.Name()+".patch")
		if err := os.WriteFile(path, p, 0o644); err != nil {
			return fail(err)
		}
		area, _ := mutagen.AreaOf(c.File)
		scen := mutant.AreaScenarios(cat, area.Scenarios)
		fmt.Fprintf(stdout, "mutate: [%d/%d] %s (%s): %d scenarios\n", i+1, len(todo), c.Name(), c.Describe(), len(scen))
		m := generatedMutant(c, path)
		site := mutant.Site{Area: c.Area, File: c.File, Func: c.Func, Class: string(c.Class), Line: c.Line + 1, Change: c.Describe(), Why: c.Why}
		res := mutant.JudgeGenerated(m, runner.Run(ctx, m, scen), site)
		res.Commit = commit
		fmt.Fprintf(stdout, "mutate: [%d/%d] %s: %s%s\n", i+1, len(todo), c.Name(), res.Verdict, describeGen(res))
		gen.Merge([]mutant.GenResult{res}, triage)
		if err := rep.WriteFiles(out); err != nil {
			return fail(err)
		}
	}
	gen.Merge(nil, triage)
	if err := rep.WriteFiles(out); err != nil {
		return fail(err)
	}
	t := gen.Totals
	scoreText := "no score (nothing killed or survived)"
	if t.Score >= 0 {
		scoreText = fmt.Sprintf("score %.0f %%", 100*t.Score)
	}
	fmt.Fprintf(stdout, "mutate: %s: killed %d, survived %d (%d equivalent), not run %d, discarded %d; %s; written to %s\n",
		spec.Name, t.Killed, t.Survived, t.Equivalent, t.NotRun, t.Discarded, scoreText, relResults(e.repo, out))
	for _, s := range gen.Survivors() {
		tr := "NOT TRIAGED"
		if s.Triage != nil {
			tr = s.Triage.Kind + ": " + s.Triage.Reason
		}
		fmt.Fprintf(stdout, "mutate: survivor %s (%s): %s\n", s.Name, s.Site.Change, tr)
	}
	if t.NotRun > 0 {
		return testrun.ExitInfra
	}
	return testrun.ExitOK
}

// generatedMutant is the mutant a candidate's patch at path makes: it
// applies on the patched flavour, whose source the plan was read from.
func generatedMutant(c mutagen.Candidate, path string) mutant.Mutant {
	return mutant.Mutant{Name: c.Name(), Path: path, Subject: c.Subject(), Flavour: kbase.Patched}
}

func judged(g *mutant.Generated, name string) bool {
	for _, r := range g.Mutants {
		if r.Name == name {
			return r.Verdict == mutant.Killed || r.Verdict == mutant.Survived || r.Verdict == mutant.Discarded
		}
	}
	return false
}

func describeGen(r mutant.GenResult) string {
	switch r.Verdict {
	case mutant.Killed:
		var names []string
		for _, k := range r.KilledBy {
			names = append(names, k.Scenario)
		}
		s := " by " + strings.Join(names, ", ")
		if len(r.Rules) > 0 {
			s += " (rules: " + strings.Join(r.Rules, ", ") + ")"
		}
		return s
	case mutant.NotRun, mutant.Discarded:
		msg, _, _ := strings.Cut(r.Error, "\n")
		return " (" + string(r.Stage) + ": " + msg + ")"
	}
	return ""
}

// harnessCommit names the repository's HEAD, "+dirty" when the work
// tree has changes: what judged a mutant.
func harnessCommit(ctx context.Context, repo string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", repo, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "-C", repo, "status", "--porcelain", "--", "harness").Output(); err == nil && len(st) > 0 {
		c += "+dirty"
	}
	return c
}

func printPlan(w io.Writer, base string, p *mutagen.Plan, todo []mutagen.Candidate) {
	fmt.Fprintf(w, "mutate: %s: %d target functions, %d candidates, %d sampled\n", base, len(p.Targets), len(p.Candidates), len(p.Selected))
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tFILE\tWHY")
	for _, t := range p.Targets {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Func, t.File, t.Why)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "MUTANT\tLINE\tCHANGE")
	for _, c := range todo {
		fmt.Fprintf(tw, "%s\t%s:%d\t%s\n", c.Name(), c.File, c.Line+1, c.Describe())
	}
	tw.Flush()
}
