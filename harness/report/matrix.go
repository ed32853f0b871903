package report

// Matrix compares a base run with a patched run, scenario by scenario.
type Matrix struct {
	// Scenarios has one row per scenario name, in base-run order followed
	// by scenarios that only the patched run has.
	Scenarios []MatrixRow
	// Kernels maps FlavourBase and FlavourPatched to Run.Kernel.
	Kernels map[string]string
	// Infra maps a flavour to its run's infrastructure error; flavours
	// without one are absent.
	Infra map[string]string
	// KernelReports maps a flavour to its number of kernel reports;
	// flavours without any are absent. Informational: splats may be the
	// expected symptom on the base kernel.
	KernelReports map[string]int
}

// MatrixRow is one scenario on both kernels.
type MatrixRow struct {
	Name string
	Area string
	// Base and Patched are the verdicts, or Missing if the scenario is
	// absent from that run.
	Base, Patched Verdict
	// ExpectBase and ExpectPatched are the declared verdicts ("" when
	// the scenario is missing from that run).
	ExpectBase, ExpectPatched string
	// BaseMatches and PatchedMatches are the runs' Scenario.Matches;
	// false for a missing scenario.
	BaseMatches, PatchedMatches bool
	// Attempts maps a flavour to Scenario.Attempts for the runs that
	// have the scenario.
	Attempts map[string]int
	// Why is the declared reason the scenario fails on base.
	Why string
}

// Matches reports whether both verdicts match their declarations.
func (r MatrixRow) Matches() bool { return r.BaseMatches && r.PatchedMatches }

// BuildMatrix pairs the scenarios of base and patched by name. A scenario
// present in only one run is Missing in the other and does not match. If a
// name repeats within a run, its first occurrence is used.
func BuildMatrix(base, patched Run) Matrix {
	m := Matrix{
		Kernels:       map[string]string{FlavourBase: base.Kernel, FlavourPatched: patched.Kernel},
		Infra:         map[string]string{},
		KernelReports: map[string]int{},
	}
	for flavour, r := range map[string]Run{FlavourBase: base, FlavourPatched: patched} {
		if r.Infra != "" {
			m.Infra[flavour] = r.Infra
		}
		if n := len(r.KernelReports); n > 0 {
			m.KernelReports[flavour] = n
		}
	}
	index := map[string]int{}
	row := func(s Scenario) *MatrixRow {
		i, ok := index[s.Name]
		if !ok {
			i = len(m.Scenarios)
			index[s.Name] = i
			m.Scenarios = append(m.Scenarios, MatrixRow{
				Name: s.Name, Area: s.Area, Base: Missing, Patched: Missing,
				Attempts: map[string]int{},
			})
		}
		return &m.Scenarios[i]
	}
	for _, s := range base.Scenarios {
		r := row(s)
		if _, dup := r.Attempts[FlavourBase]; dup {
			continue
		}
		r.Base, r.ExpectBase, r.BaseMatches, r.Why = s.Verdict, string(s.Expected), s.Matches, s.Why
		r.Attempts[FlavourBase] = s.Attempts
	}
	for _, s := range patched.Scenarios {
		r := row(s)
		if _, dup := r.Attempts[FlavourPatched]; dup {
			continue
		}
		r.Patched, r.ExpectPatched, r.PatchedMatches = s.Verdict, string(s.Expected), s.Matches
		r.Attempts[FlavourPatched] = s.Attempts
		if r.Area == "" {
			r.Area = s.Area
		}
		if r.Why == "" {
			r.Why = s.Why
		}
	}
	return m
}

// OK reports whether the matrix has at least one scenario, every row
// matches its declarations on both kernels, and neither run had an
// infrastructure error. An empty matrix verified nothing and is not OK.
func (m Matrix) OK() bool {
	if len(m.Scenarios) == 0 || len(m.Infra) > 0 {
		return false
	}
	for _, r := range m.Scenarios {
		if !r.Matches() {
			return false
		}
	}
	return true
}

// matrixCounts summarises the rows of m.
type matrixCounts struct {
	Scenarios      int `json:"scenarios"`
	Matching       int `json:"matching"`
	Mismatching    int `json:"mismatching"`
	MissingBase    int `json:"missing_base"`
	MissingPatched int `json:"missing_patched"`
}

// counts tallies the rows of m.
func (m Matrix) counts() matrixCounts {
	c := matrixCounts{Scenarios: len(m.Scenarios)}
	for _, r := range m.Scenarios {
		if r.Matches() {
			c.Matching++
		} else {
			c.Mismatching++
		}
		if r.Base == Missing {
			c.MissingBase++
		}
		if r.Patched == Missing {
			c.MissingPatched++
		}
	}
	return c
}
