package report

import (
	"fmt"
	"io"
)

// matrixJSON is the stable JSON schema of a Matrix.
type matrixJSON struct {
	OK            bool              `json:"ok"`
	Kernels       map[string]string `json:"kernels"`
	InfraErrors   map[string]string `json:"infra_errors"`
	KernelReports map[string]int    `json:"kernel_reports"`
	Totals        matrixCounts      `json:"totals"`
	Scenarios     []matrixRowJSON   `json:"scenarios"`
}

// matrixRowJSON is one scenario of the matrix.
type matrixRowJSON struct {
	Name    string      `json:"name"`
	Area    string      `json:"area"`
	Matches bool        `json:"matches"`
	Why     string      `json:"why"`
	Base    flavourJSON `json:"base"`
	Patched flavourJSON `json:"patched"`
}

// flavourJSON is a scenario's outcome on one kernel.
type flavourJSON struct {
	Verdict  Verdict `json:"verdict"`
	Expected string  `json:"expected"`
	Matches  bool    `json:"matches"`
	Attempts int     `json:"attempts"`
}

// WriteMatrixJSON writes m as indented JSON: overall ok, kernels,
// infrastructure errors, kernel report counts, totals, and per scenario
// its name, area, why, and for "base" and "patched" the verdict, declared
// expectation, whether it matches, and attempts.
func WriteMatrixJSON(w io.Writer, m Matrix) error {
	j := matrixJSON{
		OK:            m.OK(),
		Kernels:       nonNilMap(m.Kernels),
		InfraErrors:   nonNilMap(m.Infra),
		KernelReports: nonNilMap(m.KernelReports),
		Totals:        m.counts(),
		Scenarios:     make([]matrixRowJSON, 0, len(m.Scenarios)),
	}
	for _, r := range m.Scenarios {
		j.Scenarios = append(j.Scenarios, matrixRowJSON{
			Name: r.Name, Area: r.Area, Matches: r.Matches(), Why: r.Why,
			Base:    flavourJSON{r.Base, r.ExpectBase, r.BaseMatches, r.Attempts[FlavourBase]},
			Patched: flavourJSON{r.Patched, r.ExpectPatched, r.PatchedMatches, r.Attempts[FlavourPatched]},
		})
	}
	if err := encodeJSON(w, j); err != nil {
		return fmt.Errorf("report: write matrix JSON: %w", err)
	}
	return nil
}

// nonNilMap returns m, or an empty map when m is nil, so JSON shows {}.
func nonNilMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return m
}
