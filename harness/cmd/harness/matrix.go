package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"dioharness/harness/report"
	"dioharness/harness/scenario"
	"dioharness/harness/testrun"
)

// matrix rebuilds results/matrix.{md,json} from the newest base and
// patched summaries.
func matrix(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	results := fs.String("results", "results", "results directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	repo, err := repoRoot()
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 2
	}
	runs := map[string]report.Run{}
	for _, f := range []string{"base", "patched"} {
		p, err := latest(*results, f)
		if err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return 2
		}
		r, err := report.LoadRun(p)
		if err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return 2
		}
		runs[f] = r
	}
	m := report.BuildMatrix(runs["base"], runs["patched"])
	if err := report.WriteMatrixMarkdown(stdout, m); err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 2
	}
	if err := writeMatrix(repo, m); err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 2
	}
	if !m.OK() {
		return 1
	}
	return 0
}

// latest finds the newest results/<flavour>-*/summary.json.
func latest(results, flavour string) (string, error) {
	dirs, err := filepath.Glob(filepath.Join(results, flavour+"-*", "summary.json"))
	if err != nil || len(dirs) == 0 {
		return "", fmt.Errorf("no %s run in %s: run make qemu-test KERNEL=%s", flavour, results, flavour)
	}
	sort.Strings(dirs)
	return dirs[len(dirs)-1], nil
}

func writeMatrix(repo string, m report.Matrix) error {
	var md, js bytes.Buffer
	if err := report.WriteMatrixMarkdown(&md, m); err != nil {
		return err
	}
	if err := report.WriteMatrixJSON(&js, m); err != nil {
		return err
	}
	dir := filepath.Join(repo, "results")
	if err := os.WriteFile(filepath.Join(dir, "matrix.md"), md.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write matrix: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "matrix.json"), js.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write matrix: %w", err)
	}
	return quoteInCover(repo, m)
}

// bisectStep is one `git bisect run` step in a kernel tree: build it,
// boot it, run one scenario. 0 = scenario passes (good), 1 = it fails
// (bad), 125 = no verdict (build or boot trouble), which git bisect
// skips instead of blaming the commit.
func bisectStep(ctx context.Context, cat scenario.Catalogue, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bisect-step", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return 128
	}
	if c.scenario == "" || c.ksrc == "" {
		fmt.Fprintln(stderr, "harness: bisect-step needs -ksrc and -scenario")
		return 128
	}
	sel, err := cat.Lookup(c.scenario)
	if err != nil || len(sel) != 1 {
		fmt.Fprintf(stderr, "harness: bisect-step needs exactly one scenario (%v)\n", err)
		return 128
	}
	repo, err := repoRoot()
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 128
	}
	o := c.options(repo, stdout)
	o.Flavour = "custom"
	res := testrun.Run(ctx, cat, o)
	for _, s := range res.Run.Scenarios {
		if s.Verdict == scenario.Skip {
			// A skipped scenario says nothing about this commit.
			return 125
		}
	}
	switch res.Exit {
	case testrun.ExitOK:
		return 0
	case testrun.ExitFailed:
		return 1
	case testrun.ExitInfra:
		return 125
	}
	// Bad arguments: abort the bisection (exit codes above 127).
	return 128
}

// bisect runs git bisect in a kernel tree with bisect-step as the test:
// the first commit where the scenario fails is the culprit. Build or
// boot trouble skips a commit (125) instead of blaming it.
func bisect(ctx context.Context, cat scenario.Catalogue, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bisect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	good := fs.String("good", "", "a commit where the scenario passes")
	bad := fs.String("bad", "", "a commit where it fails")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.ksrc == "" || *good == "" || *bad == "" || c.scenario == "" {
		fmt.Fprintln(stderr, "harness: bisect needs KSRC, GOOD, BAD and SCENARIO")
		return 2
	}
	if sel, err := cat.Lookup(c.scenario); err != nil || len(sel) != 1 {
		fmt.Fprintf(stderr, "harness: bisect needs exactly one scenario (%v)\n", err)
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 2
	}
	build, _ := filepath.Abs(c.build)
	git := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", c.ksrc}, args...)...)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		return cmd.Run()
	}
	if err := git("bisect", "start", *bad, *good); err != nil {
		fmt.Fprintf(stderr, "harness: git bisect start %s %s in %s: %v\n", *bad, *good, c.ksrc, err)
		return 2
	}
	defer git("bisect", "reset")
	repo, err := repoRoot()
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return 2
	}
	step := []string{"bisect", "run", self, "bisect-step", "-ksrc", c.ksrc, "-scenario", c.scenario, "-build", build}
	if c.accel != "" {
		step = append(step, "-accel", c.accel)
	}
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", c.ksrc}, step...)...)
	// bisect-step finds the harness repository from its working
	// directory; git bisect run keeps the caller's.
	cmd.Dir = repo
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(stderr, "harness: git bisect run: %v\n", err)
		return 1
	}
	git("bisect", "log")
	return 0
}

// coverBlock delimits the test results the cover letter quotes.
const (
	coverStart = "Test results\n------------\n"
	coverEnd   = "\nChangelog\n"
)

// quoteInCover replaces the cover letter's test results with a plain
// text matrix, so the mail always quotes the latest full run.
func quoteInCover(repo string, m report.Matrix) error {
	covers, _ := filepath.Glob(filepath.Join(repo, "patches", "*0000-cover-letter.patch"))
	if len(covers) != 1 {
		return nil
	}
	data, err := os.ReadFile(covers[0])
	if err != nil {
		return err
	}
	s := string(data)
	i := strings.Index(s, coverStart)
	j := strings.Index(s, coverEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q section before %q", covers[0], strings.TrimSpace(coverStart), strings.TrimSpace(coverEnd))
	}
	var b strings.Builder
	b.WriteString(coverStart + "\n")
	fmt.Fprintf(&b, "base:    %s\npatched: %s\n\n", m.Kernels[report.FlavourBase], m.Kernels[report.FlavourPatched])
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  scenario\tbase\tpatched\tas declared")
	fixed, total, ok := 0, 0, 0
	for _, r := range m.Scenarios {
		mark := "yes"
		if !r.Matches() {
			mark = "NO"
		} else {
			ok++
		}
		if r.ExpectBase == "fail" {
			fixed++
		}
		total++
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Name, r.Base, r.Patched, mark)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\n%d scenarios, %d as declared; %d fail on the base kernel as declared\nand pass with the series.\n\nReproduce: make qemu-test   (both kernels, writes results/matrix.md)\n", total, ok, fixed)
	s = s[:i] + b.String() + s[j:]
	return os.WriteFile(covers[0], []byte(s), 0o644)
}
