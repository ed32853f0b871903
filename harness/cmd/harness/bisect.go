package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"dioharness/harness/bisect"
	"dioharness/harness/catalogue"
	"dioharness/harness/kbase"
	"dioharness/harness/kernel"
	"dioharness/harness/report"
	"dioharness/harness/testrun"
	"dioharness/harness/verdict"
)

// Exit codes of bisect-step, as git bisect run reads them.
const (
	bisectGood  = bisect.ExitGood
	bisectBad   = bisect.ExitBad
	bisectSkip  = bisect.ExitSkip // no verdict on this commit: build or boot trouble
	bisectAbort = 128             // bad arguments: stop the bisection
)

// bisectStep is one `git bisect run` step in a kernel tree: build it,
// boot it, run one scenario. A skipped scenario or an infrastructure
// problem says nothing about the commit and skips it instead of blaming it.
func bisectStep(ctx context.Context, in invocation) int {
	c, cat, stdout, stderr := in.c, in.cat, in.stdout, in.stderr
	if len(c.scenario) == 0 || c.ksrc == "" {
		fmt.Fprintln(stderr, "harness: bisect-step needs -ksrc and -scenario")
		return bisectAbort
	}
	sel, err := cat.Lookup(c.scenario)
	if err != nil || len(sel) != 1 {
		fmt.Fprintf(stderr, "harness: bisect-step needs exactly one scenario (%v)\n", err)
		return bisectAbort
	}
	e, err := loadEnv()
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return bisectAbort
	}
	o := c.options(e, stdout)
	o.Variant = kbase.Variant{Flavour: kbase.Custom}
	res := testrun.Run(ctx, cat, o)
	run := bisect.Run{Exit: res.Exit, Skipped: skipped(res.Run.Scenarios), Unconfirmed: res.Run.OnlyUnconfirmedTimeouts()}
	switch v := bisect.VerdictOf(run); {
	case res.Exit == testrun.ExitBadArgs:
		return bisectAbort
	case v == bisect.Good:
		return bisectGood
	case v == bisect.Bad:
		return bisectBad
	}
	return bisectSkip
}

func skipped(ss []report.Scenario) bool {
	for _, s := range ss {
		if s.Verdict == verdict.Skip {
			return true
		}
	}
	return false
}

// bisect finds the first commit of GOOD..BAD in a kernel tree on which
// the scenario fails (package bisect), and writes results/bisect-<ts>/.
func bisectFlags(fs *flag.FlagSet) action {
	good := fs.String("good", "", "a commit where the scenario passes")
	bad := fs.String("bad", "", "a commit where it fails")
	runs := fs.Int("runs", 3, "runs per commit, judged by majority")
	return func(ctx context.Context, in invocation) int { return bisectCmd(ctx, in, *good, *bad, *runs) }
}

func bisectCmd(ctx context.Context, in invocation, good, bad string, runs int) int {
	c, cat, stdout, stderr := *in.c, in.cat, in.stdout, in.stderr
	if c.ksrc == "" || good == "" || bad == "" || len(c.scenario) == 0 {
		return badArgs(stderr, fmt.Errorf("bisect needs KSRC, GOOD, BAD and SCENARIO"))
	}
	if runs < 1 || runs > 15 {
		return badArgs(stderr, fmt.Errorf("bad runs %d, want [1-15]", runs))
	}
	if sel, err := cat.Lookup(c.scenario); err != nil || len(sel) != 1 {
		return badArgs(stderr, fmt.Errorf("bisect needs exactly one scenario (%v)", err))
	}
	e, err := loadEnv()
	if err != nil {
		return badArgs(stderr, err)
	}
	return runBisect(ctx, cat, e, c, good, bad, runs, stdout, stderr)
}

// runBisect bisects and writes the result.
func runBisect(ctx context.Context, cat catalogue.Catalogue, e env, c commonFlags, good, bad string, runs int, stdout, stderr io.Writer) int {
	_, _, code := runBisectResult(ctx, cat, e, c, good, bad, runs, stdout, stderr)
	return code
}

// runBisectResult bisects, writes results/bisect-<ts>/ and returns it
// with the result (nil when nothing was bisected) and the exit status.
func runBisectResult(ctx context.Context, cat catalogue.Catalogue, e env, c commonFlags, good, bad string, runs int, stdout, stderr io.Writer) (string, *bisect.Result, int) {
	dir := filepath.Join(e.repo, "results", "bisect-"+time.Now().UTC().Format("20060102-150405"))
	be, err := newBisectEnv(ctx, cat, e, c, dir, stdout)
	if err != nil {
		return dir, nil, badArgs(stderr, err)
	}
	res := bisect.Bisect(ctx, be, good, bad, bisect.Options{Runs: runs, Log: stdout})
	req := bisect.Request{Tree: c.ksrc, Good: good, Bad: bad, Scenario: strings.Join(c.scenario, ","), Runs: runs}
	if err := bisect.Write(dir, req, res); err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return dir, &res, testrun.ExitInfra
	}
	fmt.Fprintf(stdout, "bisect: %s\nbisect: %s\n", bisect.Summary(res), dir)
	switch {
	case res.Outcome == bisect.GoodNotGood || res.Outcome == bisect.BadNotBad:
		fmt.Fprintf(stderr, "harness: bisect refused: %s\n", res.Error)
		return dir, &res, testrun.ExitBadArgs
	case res.Outcome == bisect.Found && res.Confirmed && !res.Suspect:
		return dir, &res, testrun.ExitOK
	case res.Outcome == bisect.Failed:
		return dir, &res, testrun.ExitInfra
	}
	return dir, &res, testrun.ExitFailed
}

// bisectEnv is the real bisect.Env: a detached worktree of the user's
// tree under the build directory (the user's checkout is left alone),
// built as a custom kernel with a fixed build identity so that equal
// sources give byte-identical images, booted once per run.
type bisectEnv struct {
	cat      catalogue.Catalogue
	e        env
	c        commonFlags
	repo     string // the user's tree
	work     string // the worktree the commits are built in
	results  string
	frags    []string
	out      io.Writer
	built    map[string]kernel.Result
	lastTree kernel.Tree
}

func newBisectEnv(ctx context.Context, cat catalogue.Catalogue, e env, c commonFlags, results string, out io.Writer) (*bisectEnv, error) {
	repo, err := filepath.Abs(c.ksrc)
	if err != nil {
		return nil, err
	}
	if _, err := gitIn(ctx, repo, "rev-parse", "--git-dir"); err != nil {
		return nil, fmt.Errorf("KSRC=%s is not a git tree: %v", c.ksrc, err)
	}
	build, _ := filepath.Abs(c.build)
	sum := sha256.Sum256([]byte(repo))
	work := filepath.Join(build, "bisect", "tree-"+hex.EncodeToString(sum[:4]))
	if _, err := os.Stat(work); err != nil {
		if _, err := gitIn(ctx, repo, "worktree", "add", "-q", "--detach", work, "HEAD"); err != nil {
			return nil, err
		}
	}
	mk, err := testrun.MachineKconfig(e.repo)
	if err != nil {
		return nil, err
	}
	frags, err := testrun.Fragments(e.repo, mk, nil)
	if err != nil {
		return nil, err
	}
	return &bisectEnv{cat: cat, e: e, c: c, repo: repo, work: work, results: results, frags: frags, out: out, built: map[string]kernel.Result{}}, nil
}

func gitIn(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir, "-c", "user.name=dioharness", "-c", "user.email=dioharness@localhost"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

func (b *bisectEnv) Commits(ctx context.Context, good, bad string) ([]bisect.Commit, error) {
	out, err := gitIn(ctx, b.repo, "log", "--reverse", "--first-parent", "--format=%H%x09%s", good+".."+bad)
	if err != nil {
		return nil, err
	}
	var cs []bisect.Commit
	for _, line := range strings.Split(out, "\n") {
		if h, s, ok := strings.Cut(line, "\t"); ok {
			cs = append(cs, bisect.Commit{Hash: h, Subject: s})
		}
	}
	return cs, nil
}

func (b *bisectEnv) Build(ctx context.Context, c bisect.Commit) bisect.Build {
	start := time.Now()
	fail := func(err error) bisect.Build {
		return bisect.Build{Err: err.Error(), Seconds: time.Since(start).Round(time.Second).Seconds()}
	}
	if _, err := gitIn(ctx, b.work, "checkout", "-q", "-f", "--detach", c.Hash); err != nil {
		return fail(err)
	}
	t, err := kernel.Custom(ctx, b.work, filepath.Dir(b.work))
	if err != nil {
		return fail(err)
	}
	// The object directory is a direct subdirectory of the worktree,
	// as for the bases: kbuild then uses relative paths and the ccache
	// entries of the base and patched trees hit.
	t.Obj = filepath.Join(b.work, "_obj")
	if err := kernel.Configure(ctx, t, b.frags, b.out); err != nil {
		return fail(err)
	}
	o := b.c.options(b.e, b.out)
	logFile := filepath.Join(b.results, "build-"+short(c.Hash)+".log")
	if err := os.MkdirAll(b.results, 0o755); err != nil {
		return fail(err)
	}
	res, err := kernel.Build(ctx, t, kernel.BuildOptions{
		Jobs: o.Jobs, CCacheDir: o.CCacheDir, Log: b.out, LogFile: logFile,
		// A fixed build identity: equal sources make equal images,
		// which is what the suspect check compares.
		Extra: []string{"KBUILD_BUILD_TIMESTAMP=2000-01-01", "KBUILD_BUILD_VERSION=1",
			"KBUILD_BUILD_USER=dioharness", "KBUILD_BUILD_HOST=dioharness"},
	})
	secs := time.Since(start).Round(time.Second).Seconds()
	if err != nil {
		return bisect.Build{Err: err.Error(), Log: logFile, Seconds: secs}
	}
	img, err := os.ReadFile(res.BzImage)
	if err != nil {
		return fail(err)
	}
	sum := sha256.Sum256(img)
	// Keep this commit's image: the next build overwrites the tree's.
	keep := filepath.Join(filepath.Dir(b.work), "images", short(c.Hash)+".bzImage")
	if err := os.MkdirAll(filepath.Dir(keep), 0o755); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(keep, img, 0o644); err != nil {
		return fail(err)
	}
	res.BzImage = keep
	b.built[c.Hash] = res
	b.lastTree = t
	return bisect.Build{Image: hex.EncodeToString(sum[:]), Log: logFile, Seconds: secs}
}

func (b *bisectEnv) Run(ctx context.Context, c bisect.Commit) bisect.Run {
	start := time.Now()
	built, ok := b.built[c.Hash]
	if !ok {
		return bisect.Run{Exit: testrun.ExitInfra, Evidence: "not built"}
	}
	o := b.c.options(b.e, b.out)
	v := kbase.Variant{Flavour: kbase.Custom}
	t := b.lastTree
	t.Commit = c.Hash
	o.Variant = v
	o.Built = &testrun.Built{Tree: t, BzImage: built.BzImage, Release: built.Release}
	rel, _ := filepath.Rel(filepath.Join(b.e.repo, "results"), b.results)
	o.ResultsName = filepath.Join(rel, "run-"+short(c.Hash))
	res := testrun.Run(ctx, b.cat, o)
	r := bisect.Run{Exit: res.Exit, Skipped: skipped(res.Run.Scenarios), Unconfirmed: res.Run.OnlyUnconfirmedTimeouts(),
		Log: res.Dir, Seconds: time.Since(start).Round(time.Second).Seconds()}
	r.Evidence = res.Run.Infra
	for _, s := range res.Run.Scenarios {
		if !s.Matches || s.Verdict == verdict.Skip {
			r.Evidence = strings.TrimSpace(string(s.Verdict)+" "+s.Directive) + ": " + s.Reason
		}
	}
	return r
}

func (b *bisectEnv) Revert(ctx context.Context, bad, culprit bisect.Commit) (bisect.Commit, error) {
	if _, err := gitIn(ctx, b.work, "checkout", "-q", "-f", "--detach", bad.Hash); err != nil {
		return bisect.Commit{}, err
	}
	if _, err := gitIn(ctx, b.work, "revert", "--no-edit", culprit.Hash); err != nil {
		gitIn(ctx, b.work, "revert", "--abort")
		return bisect.Commit{}, err
	}
	h, err := gitIn(ctx, b.work, "rev-parse", "HEAD")
	if err != nil {
		return bisect.Commit{}, err
	}
	return bisect.Commit{Hash: h, Subject: "Revert \"" + culprit.Subject + "\" on BAD"}, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
