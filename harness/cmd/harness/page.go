package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"dioharness/harness/resultspage"
	"dioharness/harness/testrun"
)

// page writes results/index.html from the JSON results.
func pageFlags(fs *flag.FlagSet) action {
	results := fs.String("results", "results", "results directory")
	out := fs.String("o", "", "output file (default: <results>/index.html)")
	return func(ctx context.Context, in invocation) int { return page(ctx, in, *results, *out) }
}

func page(_ context.Context, in invocation, results, out string) int {
	stdout, stderr := in.stdout, in.stderr
	if out == "" {
		out = filepath.Join(results, "index.html")
	}
	if fi, err := os.Stat(results); err != nil || !fi.IsDir() {
		return badArgs(stderr, fmt.Errorf("page: %s: no such results directory", results))
	}
	d, err := resultspage.Load(results)
	if err != nil {
		fmt.Fprintf(stderr, "harness: page: %v\n", err)
		return testrun.ExitInfra
	}
	var b bytes.Buffer
	if err := resultspage.Write(&b, d); err != nil {
		fmt.Fprintf(stderr, "harness: page: %v\n", err)
		return testrun.ExitInfra
	}
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "harness: page: %v\n", err)
		return testrun.ExitInfra
	}
	fmt.Fprintf(stdout, "page: %s from %d files\n", out, len(d.Sources))
	return testrun.ExitOK
}
