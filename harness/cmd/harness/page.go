package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"dioharness/harness/catalogue"
	"dioharness/harness/resultspage"
	"dioharness/harness/testrun"
)

// page writes results/index.html from the JSON results.
func page(_ context.Context, _ catalogue.Catalogue, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("page", flag.ContinueOnError)
	fs.SetOutput(stderr)
	results := fs.String("results", "results", "results directory")
	out := fs.String("o", "", "output file (default: <results>/index.html)")
	if err := parseFlags(fs, args); err != nil {
		return badArgs(stderr, err)
	}
	if *out == "" {
		*out = filepath.Join(*results, "index.html")
	}
	if fi, err := os.Stat(*results); err != nil || !fi.IsDir() {
		return badArgs(stderr, fmt.Errorf("page: %s: no such results directory", *results))
	}
	d, err := resultspage.Load(*results)
	if err != nil {
		fmt.Fprintf(stderr, "harness: page: %v\n", err)
		return testrun.ExitInfra
	}
	var b bytes.Buffer
	if err := resultspage.Write(&b, d); err != nil {
		fmt.Fprintf(stderr, "harness: page: %v\n", err)
		return testrun.ExitInfra
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "harness: page: %v\n", err)
		return testrun.ExitInfra
	}
	fmt.Fprintf(stdout, "page: %s from %d files\n", *out, len(d.Sources))
	return testrun.ExitOK
}
