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
	"dioharness/harness/report"
	"dioharness/harness/testrun"
)

// merge joins the results directories of several runners (the shards
// of one selection, or runs of disjoint selections) into one run per
// kernel and one matrix.
func mergeFlags(fs *flag.FlagSet) action {
	out := fs.String("o", filepath.Join("results", "merged"), "output directory: <base>-<flavour>/{summary.json,junit.xml} and matrix.{md,json}")
	return func(ctx context.Context, in invocation) int { return merge(ctx, in, *out) }
}

// merge's -scenario is the SCENARIO patterns the runners were given, for
// the run order (default: the catalogue's order).
func merge(_ context.Context, in invocation, out string) int {
	cat, stdout, stderr := in.cat, in.stdout, in.stderr
	order, err := mergeOrder(cat, in.c.scenario)
	if err != nil {
		return badArgs(stderr, err)
	}
	var runs []report.Run
	for _, d := range in.args {
		fi, err := os.Stat(d)
		if err != nil {
			return badArgs(stderr, fmt.Errorf("merge: %s: no such results directory", d))
		}
		p := d
		if fi.IsDir() {
			p = filepath.Join(d, "summary.json")
		}
		r, err := report.LoadRun(p)
		if err != nil {
			return badArgs(stderr, err)
		}
		runs = append(runs, r)
	}
	merged, err := report.Merge(order, runs...)
	if err != nil {
		return badArgs(stderr, err)
	}
	if err := writeMerged(out, merged); err != nil {
		fmt.Fprintf(stderr, "harness: merge: %v\n", err)
		return testrun.ExitInfra
	}
	m := report.BuildMatrix(merged...)
	if err := report.WriteMatrixMarkdown(stdout, m); err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitInfra
	}
	fmt.Fprintf(stdout, "\nmerged %d runs into %s\n%s\n", len(runs), out, m.Summary())
	if !m.OK() {
		return testrun.ExitFailed
	}
	return testrun.ExitOK
}

// mergeOrder is the run order a whole run would have used: the
// patterns' order, or with none every scenario (manual ones included,
// since a runner may have named one) in catalogue order.
func mergeOrder(cat catalogue.Catalogue, patterns []string) ([]string, error) {
	if len(patterns) > 0 {
		return cat.RunOrder(patterns)
	}
	var names []string
	for _, s := range cat {
		names = append(names, s.Name)
	}
	return names, nil
}

// writeMerged writes each merged run as a run directory would hold it
// (summary.json, junit.xml) and the matrix of them all.
func writeMerged(dir string, runs []report.Run) error {
	files := map[string]func(io.Writer) error{}
	for _, r := range runs {
		r := r
		files[filepath.Join(r.Variant.Slug(), "summary.json")] = func(w io.Writer) error { return report.WriteJSON(w, r) }
		files[filepath.Join(r.Variant.Slug(), "junit.xml")] = func(w io.Writer) error { return report.WriteJUnit(w, r) }
	}
	m := report.BuildMatrix(runs...)
	files["matrix.md"] = func(w io.Writer) error { return report.WriteMatrixMarkdown(w, m) }
	files["matrix.json"] = func(w io.Writer) error { return report.WriteMatrixJSON(w, m) }
	for name, write := range files {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			return err
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
