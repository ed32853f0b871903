package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"dioharness/harness/guestproto"
	"dioharness/harness/testrun"
)

// fuzzScenario runs the plan's workload sequences (harness/workload).
const fuzzScenario = "mixed/fuzz"

// fuzzFlags: seeded workload sequences beyond the catalogue's fixed
// seeds, on the patched kernel unless -kernel says otherwise.
func fuzzFlags(fs *flag.FlagSet) action {
	seed := fs.Uint64("seed", 1, "first seed")
	n := fs.Int("n", 100, "number of sequences (seed, seed+1, ...), spread over the setups")
	ops := fs.Int("ops", 0, "operations per sequence (0: the catalogue's length)")
	setup := fs.String("setup", "", "run every sequence on this setup (fuse-cached, fuse-direct, fuse-writeback, ext4, xfs) instead of the setups in turn")
	return func(ctx context.Context, in invocation) int {
		return fuzz(ctx, in, guestproto.Fuzz{Seed: *seed, Count: *n, Ops: *ops, Setup: *setup})
	}
}

// perSequence bounds one sequence, shrinking included, host side: a
// FUSE sequence of 60 operations took 2.5 min at nice 19 on a loaded
// host, shrinking reruns it.
const perSequence = 5 * time.Minute

func fuzz(ctx context.Context, in invocation, fz guestproto.Fuzz) int {
	c, cat, stdout, stderr := in.c, in.cat, in.stdout, in.stderr
	if err := fz.Validate(); err != nil {
		return badArgs(stderr, err)
	}
	if c.kernel == "" {
		c.kernel = "patched"
	}
	c.scenario = []string{fuzzScenario}
	if d := time.Duration(fz.Count) * perSequence; d > c.scenarioTimeout {
		c.scenarioTimeout = d
	}
	_, opts, _, status := c.kernels(stdout, stderr)
	if status != testrun.ExitOK {
		return status
	}
	worst := testrun.ExitOK
	for _, o := range opts {
		o.Fuzz = &fz
		o.Timeouts.Scenario = c.scenarioTimeout
		o.ResultsName = fmt.Sprintf("fuzz-%s-%s-seed%d-n%d", o.Variant.Base, o.Variant.Flavour, fz.Seed, fz.Count)
		start := time.Now()
		oc := testrun.Run(ctx, cat, o)
		fmt.Fprintf(stdout, "fuzz: %s: %d sequences from seed %d in %s, exit %d, results in %s\n",
			o.Variant, fz.Count, fz.Seed, time.Since(start).Round(time.Second), oc.Exit, oc.Dir)
		worst = max(worst, oc.Exit)
	}
	return worst
}
