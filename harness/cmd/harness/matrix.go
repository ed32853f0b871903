package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"dioharness/harness/catalogue"
	"dioharness/harness/kbase"
	"dioharness/harness/kernel"
	"dioharness/harness/report"
	"dioharness/harness/series"
	"dioharness/harness/testrun"
)

// matrix rebuilds results/matrix.{md,json} from the newest run of every
// base and flavour.
func matrixFlags(fs *flag.FlagSet) action {
	results := fs.String("results", "results", "results directory")
	return func(ctx context.Context, in invocation) int { return matrix(ctx, in, *results) }
}

func matrix(_ context.Context, in invocation, results string) int {
	cat, stdout, stderr := in.cat, in.stdout, in.stderr
	e, err := loadEnv()
	if err != nil {
		return badArgs(stderr, err)
	}
	var runs []report.Run
	for _, b := range e.bases {
		for _, f := range b.Flavours() {
			v := kbase.Variant{Base: b.Name, Flavour: f}
			p, err := latest(results, v)
			if err != nil {
				fmt.Fprintf(stderr, "harness: %v\n", err)
				return testrun.ExitInfra
			}
			r, err := report.LoadRun(p)
			if err != nil {
				fmt.Fprintf(stderr, "harness: %v\n", err)
				return testrun.ExitInfra
			}
			runs = append(runs, r)
		}
	}
	m := report.BuildMatrix(runs...)
	if err := report.WriteMatrixMarkdown(stdout, m); err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitInfra
	}
	if err := writeMatrix(e, cat, m); err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitInfra
	}
	if !m.OK() {
		return testrun.ExitFailed
	}
	return testrun.ExitOK
}

// latest finds the newest results/<variant>-*/summary.json of a whole
// run: a shard holds part of a selection (harness merge joins shards).
func latest(results string, v kbase.Variant) (string, error) {
	all, err := filepath.Glob(filepath.Join(results, v.Slug()+"-*", "summary.json"))
	var dirs []string
	for _, d := range all {
		if !strings.Contains(filepath.Base(filepath.Dir(d)), "-shard") {
			dirs = append(dirs, d)
		}
	}
	if err != nil || len(dirs) == 0 {
		return "", fmt.Errorf("no %s run in %s: run make qemu-test BASE=%s KERNEL=%s", v, results, v.Base, v.Flavour)
	}
	sort.Strings(dirs)
	return dirs[len(dirs)-1], nil
}

// writeMatrix commits a full run: results/matrix.{md,json}, and each
// series' cover letter quotes its base's columns.
func writeMatrix(e env, cat catalogue.Catalogue, m report.Matrix) error {
	var md, js bytes.Buffer
	if err := report.WriteMatrixMarkdown(&md, m); err != nil {
		return err
	}
	if err := report.WriteMatrixJSON(&js, m); err != nil {
		return err
	}
	dir := filepath.Join(e.repo, "results")
	if err := os.WriteFile(filepath.Join(dir, "matrix.md"), md.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write matrix: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "matrix.json"), js.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write matrix: %w", err)
	}
	proves := map[string]string{}
	for _, s := range cat {
		if s.Patch != "" {
			proves[s.Name] = s.Patch
		}
	}
	// The patches only a declared flavour applies, on any base: an RFC
	// is no fix series' business, on its base or in a stable backport.
	var later []string
	for _, b := range e.bases {
		s, err := declaredOnlySubjects(b)
		if err != nil {
			return fmt.Errorf("%s: %w", b.Name, err)
		}
		later = append(later, s...)
	}
	for _, b := range e.bases {
		for _, d := range b.AllSeriesDirs() {
			if err := series.QuoteMatrix(d, coverColumns(m, b, filepath.Base(d), proves, later), proves); err != nil {
				return err
			}
		}
	}
	return nil
}

// coverColumns are the kernels and scenarios a series' cover letter
// quotes. For a series of the patched flavour: the base and patched
// flavours of its base, and no scenario that proves a patch only a
// declared flavour applies (later, their subjects, on any base): a
// flavour declared on top of the fixes, and the scenarios that prove it,
// are another mail's business. For a series only a declared flavour applies: every flavour
// of the base and every scenario. proves maps a scenario to the subject
// of the patch it proves.
func coverColumns(m report.Matrix, b kbase.Spec, series string, proves map[string]string, later []string) report.Matrix {
	if !slices.Contains(b.Series, series) {
		return m.SelectVariants(func(v kbase.Variant) bool { return v.Base == b.Name })
	}
	keep := []kbase.Flavour{kbase.Base, kbase.Patched}
	out := m.SelectVariants(func(v kbase.Variant) bool { return v.Base == b.Name && slices.Contains(keep, v.Flavour) })
	out.Rows = slices.DeleteFunc(out.Rows, func(r report.MatrixRow) bool {
		p := proves[r.Name]
		return p != "" && slices.Contains(later, p)
	})
	return out
}

// declaredOnlySubjects are the subjects of the patches of a base's series
// that only its declared flavours apply, not the patched flavour.
func declaredOnlySubjects(b kbase.Spec) ([]string, error) {
	var out []string
	for _, d := range b.AllSeriesDirs() {
		if slices.Contains(b.Series, filepath.Base(d)) {
			continue
		}
		patches, err := kernel.ReadSeries(d)
		if err != nil {
			return nil, err
		}
		s, err := kernel.Subjects(patches)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
		out = append(out, s...)
	}
	return out, nil
}

// baseSubjects are the subjects of every patch the patched flavour of a
// base applies.
func baseSubjects(b kbase.Spec) ([]string, error) {
	patches, err := kernel.Patches(b)
	if err != nil {
		return nil, err
	}
	return kernel.Subjects(patches)
}

// writeRunMatrix writes m, a qemu-test run's matrix whatever its
// selection, as build/matrix.json: a single run to compare merged shards
// with (make ci-local WHOLE=).
func writeRunMatrix(build string, m report.Matrix) error {
	var js bytes.Buffer
	if err := report.WriteMatrixJSON(&js, m); err != nil {
		return err
	}
	if err := os.MkdirAll(build, 0o755); err != nil {
		return fmt.Errorf("write matrix: %w", err)
	}
	if err := os.WriteFile(filepath.Join(build, "matrix.json"), js.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write matrix: %w", err)
	}
	return nil
}
