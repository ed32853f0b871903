package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/kbase"
	"dioharness/harness/report"
	"dioharness/harness/verdict"
)

// A fix series' cover quotes base and patched and leaves out the
// scenarios of a patch its kernels do not carry; a series only a
// declared flavour applies quotes every kernel and every scenario.
func TestCoverColumns(t *testing.T) {
	b := kbase.Spec{Name: "v7.3", Series: []string{"fuse"}, Extra: []kbase.FlavourSpec{{Name: "pdio", Series: []string{"fuse", "pdio"}}}}
	var cols []report.Column
	for _, base := range []string{"v7.3", "v6.12"} {
		for _, f := range []kbase.Flavour{kbase.Base, kbase.Patched, "pdio"} {
			cols = append(cols, report.Column{Variant: kbase.Variant{Base: base, Flavour: f}})
		}
	}
	row := func(name string) report.MatrixRow {
		r := report.MatrixRow{Name: name, Area: "fuse"}
		for range cols {
			r.Cells = append(r.Cells, report.Cell{Verdict: verdict.Pass})
		}
		return r
	}
	m := report.Matrix{Columns: cols, Rows: []report.MatrixRow{row("fuse/fix"), row("fuse/pdio"), row("fuse/plain")}}
	proves := map[string]string{"fuse/fix": "fuse: a fix", "fuse/pdio": "fuse: the RFC"}
	later := []string{"fuse: the RFC"}
	for _, tc := range []struct {
		series  string
		columns []kbase.Flavour
		rows    []string
	}{
		{series: "fuse", columns: []kbase.Flavour{kbase.Base, kbase.Patched}, rows: []string{"fuse/fix", "fuse/plain"}},
		{series: "pdio", columns: []kbase.Flavour{kbase.Base, kbase.Patched, "pdio"}, rows: []string{"fuse/fix", "fuse/pdio", "fuse/plain"}},
	} {
		got := coverColumns(m, b, tc.series, proves, later)
		var gotCols []kbase.Flavour
		for _, c := range got.Columns {
			if c.Variant.Base != "v7.3" {
				t.Errorf("series %s: column of %s quoted", tc.series, c.Variant)
			}
			gotCols = append(gotCols, c.Variant.Flavour)
		}
		var gotRows []string
		for _, r := range got.Rows {
			gotRows = append(gotRows, r.Name)
			if len(r.Cells) != len(got.Columns) {
				t.Errorf("series %s: row %s has %d cells for %d columns", tc.series, r.Name, len(r.Cells), len(got.Columns))
			}
		}
		if d := cmp.Diff(tc.columns, gotCols); d != "" {
			t.Errorf("series %s columns (-want +got):\n%s", tc.series, d)
		}
		if d := cmp.Diff(tc.rows, gotRows); d != "" {
			t.Errorf("series %s rows (-want +got):\n%s", tc.series, d)
		}
	}
}
