package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"dioharness/harness/kbase"
	"dioharness/harness/scenario"
	"dioharness/harness/testrun"
)

// Exit codes of bisect-step, as git bisect run reads them.
const (
	bisectGood  = 0
	bisectBad   = 1
	bisectSkip  = 125 // no verdict on this commit: build or boot trouble
	bisectAbort = 128 // bad arguments: stop the bisection
)

// bisectStep is one `git bisect run` step in a kernel tree: build it,
// boot it, run one scenario. A skipped scenario or an infrastructure
// problem says nothing about the commit and skips it instead of blaming it.
func bisectStep(ctx context.Context, cat scenario.Catalogue, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bisect-step", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	if err := parseFlags(fs, args); err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return bisectAbort
	}
	if c.scenario == "" || c.ksrc == "" {
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
	for _, s := range res.Run.Scenarios {
		if s.Verdict == "skip" {
			return bisectSkip
		}
	}
	switch res.Exit {
	case testrun.ExitOK:
		return bisectGood
	case testrun.ExitFailed:
		return bisectBad
	case testrun.ExitInfra:
		return bisectSkip
	}
	return bisectAbort
}

// bisect runs git bisect in a kernel tree with bisect-step as the test:
// the first commit where the scenario fails is the culprit.
func bisect(ctx context.Context, cat scenario.Catalogue, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bisect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	good := fs.String("good", "", "a commit where the scenario passes")
	bad := fs.String("bad", "", "a commit where it fails")
	if err := parseFlags(fs, args); err != nil {
		return badArgs(stderr, err)
	}
	if c.ksrc == "" || *good == "" || *bad == "" || c.scenario == "" {
		return badArgs(stderr, fmt.Errorf("bisect needs KSRC, GOOD, BAD and SCENARIO"))
	}
	if sel, err := cat.Lookup(c.scenario); err != nil || len(sel) != 1 {
		return badArgs(stderr, fmt.Errorf("bisect needs exactly one scenario (%v)", err))
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitInfra
	}
	e, err := loadEnv()
	if err != nil {
		return badArgs(stderr, err)
	}
	build, _ := filepath.Abs(c.build)
	git := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", c.ksrc}, args...)...)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		return cmd.Run()
	}
	if err := git("bisect", "start", *bad, *good); err != nil {
		return badArgs(stderr, fmt.Errorf("git bisect start %s %s in %s: %v", *bad, *good, c.ksrc, err))
	}
	defer git("bisect", "reset")
	step := []string{"bisect", "run", self, "bisect-step", "-ksrc", c.ksrc, "-scenario", c.scenario, "-build", build, "-cache", c.cache}
	if c.accel != "" {
		step = append(step, "-accel", c.accel)
	}
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", c.ksrc}, step...)...)
	// bisect-step finds the harness repository from its working
	// directory; git bisect run keeps the caller's.
	cmd.Dir = e.repo
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(stderr, "harness: git bisect run: %v\n", err)
		return testrun.ExitFailed
	}
	git("bisect", "log")
	return testrun.ExitOK
}
