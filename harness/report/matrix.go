package report

import (
	"fmt"
	"strings"

	"dioharness/harness/kbase"
	"dioharness/harness/verdict"
)

// Matrix puts runs side by side, scenario by scenario: one column per
// kernel (base and flavour), one row per scenario.
type Matrix struct {
	// Columns are the runs, in the order given to BuildMatrix.
	Columns []Column
	// Rows has one row per scenario name, in first-seen order.
	Rows []MatrixRow
}

// Column is one kernel of the matrix.
type Column struct {
	Variant kbase.Variant
	// Kernel, Source and Note are the run's (Run.Kernel, Run.Source,
	// Run.Note): the exact kernel the column was measured on.
	Kernel, Source, Note string
	// Infra is the run's infrastructure error, "" when none.
	Infra string
	// KernelReports counts the kernel reports on the run's console.
	// Informational: a splat may be the expected symptom on a base.
	KernelReports int
}

// KernelText names the column's kernel for a reader: the release, and
// the commit of the harness's own git tree of that source, labelled as
// such so that nobody looks it up upstream ("7.3.4+, local tree
// ddfc7a4ca8cb"). A kernel string that is not "<release> <hex commit>"
// is returned as is.
func (c Column) KernelText() string {
	release, commit, ok := strings.Cut(strings.TrimSpace(c.Kernel), " ")
	if !ok || len(commit) < 7 || strings.Trim(commit, "0123456789abcdef") != "" {
		return c.Kernel
	}
	return release + ", local tree " + commit
}

// Label is the column's short name, "v7.3 patched".
func (c Column) Label() string {
	if c.Variant.Base == "" {
		return string(c.Variant.Flavour)
	}
	return c.Variant.Base + " " + string(c.Variant.Flavour)
}

// MatrixRow is one scenario on every kernel.
type MatrixRow struct {
	Name string
	Area string
	// Cells line up with Matrix.Columns.
	Cells []Cell
}

// Cell is a scenario's outcome on one kernel.
type Cell struct {
	// Verdict is the verdict, or verdict.Missing when the run lacks the
	// scenario.
	Verdict verdict.Verdict
	// Expected is the declared verdict ("" when missing) and Why its
	// reason when a failure is declared.
	Expected verdict.Verdict
	Why      string
	// Matches is the run's Scenario.Matches; false when missing.
	Matches bool
	// Attempts is Scenario.Attempts; 0 when missing.
	Attempts int
	// Timeout is what backs a TIMEOUT (Scenario.Confirmation), ""
	// for any other result.
	Timeout Confirmation
}

// Matches reports whether every cell matches its declaration.
func (r MatrixRow) Matches() bool {
	for _, c := range r.Cells {
		if !c.Matches {
			return false
		}
	}
	return len(r.Cells) > 0
}

// Why joins the declared failure reasons of the row, each with the
// columns it applies to: "v7.3 base, v6.12 base: <reason>".
func (r MatrixRow) Why(cols []Column) string {
	var order []string
	where := map[string][]string{}
	for i, c := range r.Cells {
		if c.Expected != verdict.Fail || c.Why == "" {
			continue
		}
		if _, ok := where[c.Why]; !ok {
			order = append(order, c.Why)
		}
		where[c.Why] = append(where[c.Why], cols[i].Label())
	}
	var parts []string
	for _, why := range order {
		parts = append(parts, strings.Join(where[why], ", ")+": "+why)
	}
	return strings.Join(parts, "; ")
}

// BuildMatrix lines up runs by scenario name. A scenario absent from a
// run is verdict.Missing there and does not match. If a name repeats within a
// run (REPEAT), its first occurrence is used.
func BuildMatrix(runs ...Run) Matrix {
	m := Matrix{}
	index := map[string]int{}
	for col, r := range runs {
		m.Columns = append(m.Columns, Column{
			Variant: r.Variant, Kernel: r.Kernel, Source: r.Source, Note: r.Note,
			Infra: r.Infra, KernelReports: len(r.KernelReports),
		})
		seen := map[string]bool{}
		for _, s := range r.Scenarios {
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			i, ok := index[s.Name]
			if !ok {
				i = len(m.Rows)
				index[s.Name] = i
				cells := make([]Cell, len(runs))
				for j := range cells {
					cells[j] = Cell{Verdict: verdict.Missing}
				}
				m.Rows = append(m.Rows, MatrixRow{Name: s.Name, Area: s.Area, Cells: cells})
			}
			c := Cell{Verdict: s.Verdict, Expected: s.Expected, Why: s.Why, Matches: s.Matches, Attempts: s.Attempts}
			if s.Directive == "TIMEOUT" {
				c.Timeout = s.Confirmation
				if c.Timeout == "" {
					c.Timeout = Unconfirmed
				}
			}
			m.Rows[i].Cells[col] = c
		}
	}
	return m
}

// OK reports whether the matrix has at least one scenario, every row
// matches its declarations on every kernel, and no run had an
// infrastructure error. An empty matrix verified nothing and is not OK.
func (m Matrix) OK() bool {
	if len(m.Rows) == 0 {
		return false
	}
	for _, c := range m.Columns {
		if c.Infra != "" {
			return false
		}
	}
	for _, r := range m.Rows {
		if !r.Matches() {
			return false
		}
	}
	return true
}

// matrixCounts summarises the rows of m.
type matrixCounts struct {
	Scenarios   int `json:"scenarios"`
	Matching    int `json:"matching"`
	Mismatching int `json:"mismatching"`
	// verdict.Missing counts, per column label, the scenarios a run lacks.
	Missing map[string]int `json:"missing"`
}

// counts tallies the rows of m.
func (m Matrix) counts() matrixCounts {
	c := matrixCounts{Scenarios: len(m.Rows), Missing: map[string]int{}}
	for _, r := range m.Rows {
		if r.Matches() {
			c.Matching++
		} else {
			c.Mismatching++
		}
		for i, cell := range r.Cells {
			if cell.Verdict == verdict.Missing {
				c.Missing[m.Columns[i].Label()]++
			}
		}
	}
	return c
}

// Summary is the closing line CI reads: rows as declared on every kernel.
func (m Matrix) Summary() string {
	c := m.counts()
	return fmt.Sprintf("matrix: %d passed, %d failed (%d scenarios x %d kernels)", c.Matching, c.Mismatching, c.Scenarios, len(m.Columns))
}

// Select returns the matrix restricted to the columns of one base.
func (m Matrix) Select(base string) Matrix {
	return m.SelectVariants(func(v kbase.Variant) bool { return v.Base == base })
}

// SelectVariants returns the matrix restricted to the columns whose
// kernel keep accepts, without the rows none of them ran.
func (m Matrix) SelectVariants(keep func(kbase.Variant) bool) Matrix {
	var cols []int
	out := Matrix{}
	for i, c := range m.Columns {
		if keep(c.Variant) {
			cols = append(cols, i)
			out.Columns = append(out.Columns, c)
		}
	}
	for _, r := range m.Rows {
		nr := MatrixRow{Name: r.Name, Area: r.Area}
		present := false
		for _, i := range cols {
			nr.Cells = append(nr.Cells, r.Cells[i])
			present = present || r.Cells[i].Verdict != verdict.Missing
		}
		if present {
			out.Rows = append(out.Rows, nr)
		}
	}
	return out
}
