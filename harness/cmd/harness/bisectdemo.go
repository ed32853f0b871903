package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"dioharness/harness/bisect"
	"dioharness/harness/kernel"
	"dioharness/harness/testrun"
)

// The demo plants mutants/<base>/<demoMutant> in a history of sixteen
// commits after base + series and bisects it with demoScenario, which
// kills that mutant.
const (
	demoMutant   = "03-fuse-parallel-dio-append.patch"
	demoScenario = "fuse/dio-exclusive-append"
)

// demoStep is one commit of the demo history after GOOD.
type demoStep struct {
	subject string
	// file and text: append text to file (created when missing).
	file, text string
	// mutant: git am the planted mutant instead.
	mutant bool
}

// demoHistory is the range GOOD..BAD: harmless commits (a comment, an
// unrelated file), one commit that breaks the build and the next that
// repairs it, the mutant in the middle, and more harmless commits.
func demoHistory() []demoStep {
	return []demoStep{
		{subject: "demo: add a note outside the kernel's build", file: "Documentation/dioharness-demo.txt", text: "A note that nothing builds.\n"},
		{subject: "demo: comment at the end of fs/fuse/fuse_i.h", file: "fs/fuse/fuse_i.h", text: "/* dioharness bisect demo: a comment */\n"},
		{subject: "demo: second line of the note", file: "Documentation/dioharness-demo.txt", text: "Second line.\n"},
		{subject: "demo: comment at the end of fs/iomap/direct-io.c", file: "fs/iomap/direct-io.c", text: "/* dioharness bisect demo: another comment */\n"},
		{subject: "demo: third line of the note", file: "Documentation/dioharness-demo.txt", text: "Third line.\n"},
		{subject: "demo: break the build of fs/fuse/inode.c", file: "fs/fuse/inode.c", text: "this does not compile;\n"},
		{subject: "demo: repair the build of fs/fuse/inode.c", file: "fs/fuse/inode.c"},
		{subject: "(the planted mutant)", mutant: true},
		{subject: "demo: fourth line of the note", file: "Documentation/dioharness-demo.txt", text: "Fourth line.\n"},
		{subject: "demo: comment at the end of fs/fuse/iomode.c", file: "fs/fuse/iomode.c", text: "/* dioharness bisect demo: a third comment */\n"},
		{subject: "demo: fifth line of the note", file: "Documentation/dioharness-demo.txt", text: "Fifth line.\n"},
		{subject: "demo: sixth line of the note", file: "Documentation/dioharness-demo.txt", text: "Sixth line.\n"},
		{subject: "demo: comment at the end of fs/fuse/dir.c", file: "fs/fuse/dir.c", text: "/* dioharness bisect demo: a fourth comment */\n"},
		{subject: "demo: seventh line of the note", file: "Documentation/dioharness-demo.txt", text: "Seventh line.\n"},
		{subject: "demo: eighth line of the note", file: "Documentation/dioharness-demo.txt", text: "Eighth line.\n"},
		{subject: "demo: ninth line of the note", file: "Documentation/dioharness-demo.txt", text: "Ninth line.\n"},
	}
}

// demoTree is the history the demo built.
type demoTree struct {
	dir, good, bad, planted, broken string
}

// buildDemoHistory makes a detached worktree of the base's repository
// holding base + series (GOOD) then demoHistory (the last is BAD).
func buildDemoHistory(ctx context.Context, src *kernel.Sources, mutantPatch string, dir string) (demoTree, error) {
	base, err := src.Base(ctx)
	if err != nil {
		return demoTree{}, err
	}
	if _, err := os.Stat(dir); err == nil {
		gitIn(ctx, base.Src, "worktree", "remove", "--force", dir)
		os.RemoveAll(dir)
	}
	if _, err := gitIn(ctx, base.Src, "worktree", "add", "-q", "--detach", dir, base.Commit); err != nil {
		return demoTree{}, err
	}
	patches, err := src.AllPatches()
	if err != nil {
		return demoTree{}, err
	}
	for _, p := range patches {
		if err := kernel.Am(ctx, dir, p); err != nil {
			return demoTree{}, err
		}
	}
	t := demoTree{dir: dir}
	if t.good, err = gitIn(ctx, dir, "rev-parse", "HEAD"); err != nil {
		return demoTree{}, err
	}
	var broken string
	for _, s := range demoHistory() {
		switch {
		case s.mutant:
			if err := kernel.Am(ctx, dir, mutantPatch); err != nil {
				return demoTree{}, err
			}
		case s.text == "":
			// Repair: undo the file change of the breaking commit.
			if _, err := gitIn(ctx, dir, "checkout", broken+"~1", "--", s.file); err != nil {
				return demoTree{}, err
			}
			if _, err := gitIn(ctx, dir, "commit", "-q", "-a", "-m", s.subject); err != nil {
				return demoTree{}, err
			}
		default:
			f, err := os.OpenFile(filepath.Join(dir, s.file), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return demoTree{}, err
			}
			_, err = f.WriteString(s.text)
			f.Close()
			if err != nil {
				return demoTree{}, err
			}
			if _, err := gitIn(ctx, dir, "add", "-f", s.file); err != nil {
				return demoTree{}, err
			}
			if _, err := gitIn(ctx, dir, "commit", "-q", "-m", s.subject); err != nil {
				return demoTree{}, err
			}
		}
		head, err := gitIn(ctx, dir, "rev-parse", "HEAD")
		if err != nil {
			return demoTree{}, err
		}
		if s.mutant {
			t.planted = head
		}
		if s.file != "" && s.text == "this does not compile;\n" {
			broken, t.broken = head, head
		}
	}
	t.bad, err = gitIn(ctx, dir, "rev-parse", "HEAD")
	return t, err
}

// checkDemo is the demo's test: the culprit is the planted mutant,
// confirmed by its revert and not suspect, and the commit that does
// not build was tested and skipped.
func checkDemo(res bisect.Result, planted, broken string) error {
	var errs []error
	if res.Outcome != bisect.Found || res.Culprit == nil {
		errs = append(errs, fmt.Errorf("no culprit: %s", bisect.Summary(res)))
	} else if res.Culprit.Hash != planted {
		errs = append(errs, fmt.Errorf("culprit %s is not the planted mutant %s", short(res.Culprit.Hash), short(planted)))
	}
	if !res.Confirmed {
		errs = append(errs, errors.New("the revert of the culprit on BAD did not pass"))
	}
	if res.Suspect {
		errs = append(errs, errors.New("the culprit is flagged suspect"))
	}
	skippedBroken := false
	for _, t := range res.Tested {
		if t.Commit.Hash == broken {
			skippedBroken = t.Verdict == bisect.Skip && t.BuildError != ""
		}
	}
	if !skippedBroken {
		errs = append(errs, fmt.Errorf("the commit that does not build (%s) was not tested and skipped", short(broken)))
	}
	return errors.Join(errs...)
}

// bisectDemo builds the demo history for a base and bisects it.
func bisectDemoFlags(fs *flag.FlagSet) action {
	runs := fs.Int("runs", 3, "runs per commit, judged by majority")
	historyOnly := fs.Bool("history-only", false, "build the history and print it; no kernel build, no bisection")
	return func(ctx context.Context, in invocation) int { return bisectDemo(ctx, in, *runs, *historyOnly) }
}

func bisectDemo(ctx context.Context, in invocation, runs int, historyOnly bool) int {
	f, cat, stdout, stderr := in.c, in.cat, in.stdout, in.stderr
	e, err := loadEnv()
	if err != nil {
		return badArgs(stderr, err)
	}
	spec, err := e.bases.Get(f.base)
	if f.base == "" {
		sel, serr := e.bases.Select("")
		if serr != nil || len(sel) != 1 {
			return badArgs(stderr, fmt.Errorf("bisect-demo needs one BASE"))
		}
		spec, err = sel[0], nil
	}
	if err != nil {
		return badArgs(stderr, err)
	}
	mutantPatch := filepath.Join(e.repo, "mutants", spec.Name, demoMutant)
	if _, err := os.Stat(mutantPatch); err != nil {
		return badArgs(stderr, fmt.Errorf("bisect-demo plants %s: %v", demoMutant, err))
	}
	src, err := f.sources(e, spec, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitInfra
	}
	build, _ := filepath.Abs(f.build)
	t, err := buildDemoHistory(ctx, src, mutantPatch, filepath.Join(build, "bisect-demo", spec.Name))
	if err != nil {
		fmt.Fprintf(stderr, "harness: bisect-demo: %v\n", err)
		return testrun.ExitInfra
	}
	fmt.Fprintf(stdout, "bisect-demo: GOOD %s (base + series), BAD %s, planted %s, broken %s\n",
		short(t.good), short(t.bad), short(t.planted), short(t.broken))
	if historyOnly {
		log, err := gitIn(ctx, t.dir, "log", "--oneline", "--no-decorate", t.good+".."+t.bad)
		if err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return testrun.ExitInfra
		}
		fmt.Fprintln(stdout, log)
		return testrun.ExitOK
	}
	c := *f
	c.ksrc, c.scenario = t.dir, []string{demoScenario}
	dir, res, code := runBisectResult(ctx, cat, e, c, t.good, t.bad, runs, stdout, stderr)
	if code == testrun.ExitBadArgs || res == nil {
		return code
	}
	if err := checkDemo(*res, t.planted, t.broken); err != nil {
		fmt.Fprintf(stderr, "harness: bisect-demo failed (%s):\n%v\n", dir, err)
		return testrun.ExitFailed
	}
	fmt.Fprintf(stdout, "bisect-demo: the culprit is the planted mutant, confirmed by revert; the broken commit was skipped; %.0f s to the culprit, %.0f s in all\n",
		res.ToCulprit, res.Seconds)
	return testrun.ExitOK
}
