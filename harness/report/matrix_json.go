package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"dioharness/harness/kbase"
	"dioharness/harness/verdict"
)

// matrixJSON is the stable JSON schema of a Matrix.
type matrixJSON struct {
	OK      bool            `json:"ok"`
	Kernels []columnJSON    `json:"kernels"`
	Totals  matrixCounts    `json:"totals"`
	Rows    []matrixRowJSON `json:"scenarios"`
}

// columnJSON is one kernel of the matrix.
type columnJSON struct {
	Base          string `json:"base"`
	Flavour       string `json:"flavour"`
	Kernel        string `json:"kernel"`
	Source        string `json:"source"`
	Note          string `json:"note"`
	InfraError    string `json:"infra_error"`
	KernelReports int    `json:"kernel_reports"`
}

// matrixRowJSON is one scenario of the matrix; Results line up with
// Kernels.
type matrixRowJSON struct {
	Name    string     `json:"name"`
	Area    string     `json:"area"`
	Matches bool       `json:"matches"`
	Why     string     `json:"why"`
	Results []cellJSON `json:"results"`
}

// cellJSON is a scenario's outcome on one kernel.
type cellJSON struct {
	Kernel   string          `json:"kernel"`
	Verdict  verdict.Verdict `json:"verdict"`
	Expected verdict.Verdict `json:"expected"`
	Why      string          `json:"why"`
	Matches  bool            `json:"matches"`
	Attempts int             `json:"attempts"`
	// Timeout is set for a TIMEOUT: what backs it.
	Timeout Confirmation `json:"timeout,omitempty"`
}

// WriteMatrixJSON writes m as indented JSON: overall ok, one entry per
// kernel (base, flavour, exact kernel and source, infrastructure error,
// kernel report count), totals, and per scenario its name, area, the
// joined reasons for declared failures and, per kernel, the verdict,
// declaration, whether it matches, and attempts.
func WriteMatrixJSON(w io.Writer, m Matrix) error {
	j := matrixJSON{OK: m.OK(), Kernels: []columnJSON{}, Totals: m.counts(), Rows: []matrixRowJSON{}}
	for _, c := range m.Columns {
		j.Kernels = append(j.Kernels, columnJSON{
			Base: c.Variant.Base, Flavour: string(c.Variant.Flavour), Kernel: c.Kernel, Source: c.Source,
			Note: c.Note, InfraError: c.Infra, KernelReports: c.KernelReports,
		})
	}
	for _, r := range m.Rows {
		row := matrixRowJSON{Name: r.Name, Area: r.Area, Matches: r.Matches(), Why: r.Why(m.Columns), Results: []cellJSON{}}
		for i, c := range r.Cells {
			row.Results = append(row.Results, cellJSON{
				Kernel: m.Columns[i].Variant.String(), Verdict: c.Verdict, Expected: c.Expected, Why: c.Why,
				Matches: c.Matches, Attempts: c.Attempts, Timeout: c.Timeout,
			})
		}
		j.Rows = append(j.Rows, row)
	}
	if err := encodeJSON(w, j); err != nil {
		return fmt.Errorf("report: write matrix JSON: %w", err)
	}
	return nil
}

// LoadMatrix reads a matrix written by WriteMatrixJSON (the committed
// results/matrix.json), for pages made without the runs' directories.
func LoadMatrix(path string) (Matrix, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Matrix{}, fmt.Errorf("report: load matrix: %w", err)
	}
	var j matrixJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return Matrix{}, fmt.Errorf("report: load matrix %s: %w", path, err)
	}
	var m Matrix
	for _, k := range j.Kernels {
		m.Columns = append(m.Columns, Column{
			Variant: kbase.Variant{Base: k.Base, Flavour: kbase.Flavour(k.Flavour)}, Kernel: k.Kernel,
			Source: k.Source, Note: k.Note, Infra: k.InfraError, KernelReports: k.KernelReports,
		})
	}
	for _, r := range j.Rows {
		if len(r.Results) != len(m.Columns) {
			return Matrix{}, fmt.Errorf("report: load matrix %s: scenario %s has %d results for %d kernels", path, r.Name, len(r.Results), len(m.Columns))
		}
		row := MatrixRow{Name: r.Name, Area: r.Area}
		for _, c := range r.Results {
			row.Cells = append(row.Cells, Cell{Verdict: c.Verdict, Expected: c.Expected, Why: c.Why, Matches: c.Matches, Attempts: c.Attempts, Timeout: c.Timeout})
		}
		m.Rows = append(m.Rows, row)
	}
	return m, nil
}
