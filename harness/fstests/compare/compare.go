// Package compare is the host's side of fstests: the runs of a base and
// a patched kernel side by side (results/fstests-<base>.{md,json}),
// read back from results directories and merged with an earlier
// comparison. The guest never links it.
package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"dioharness/harness/fstests"
	"dioharness/harness/junit"
	"dioharness/harness/kbase"
	"dioharness/harness/report"
	"dioharness/harness/verdict"
)

// SetupRun is one setup's run on one kernel.
type SetupRun struct {
	Setup fstests.Setup
	Run   report.Run
	// Xunit is fstests' own report of the run's tests.
	Xunit map[string]junit.Case
	// Dir is the run's results directory, relative to the repository.
	Dir string
}

// Cell is one test on one kernel.
type Cell struct {
	Verdict  verdict.Verdict `json:"verdict"`
	Reason   string          `json:"reason,omitempty"`
	Duration time.Duration   `json:"-"`
	// FSTests is fstests' own verdict (its xunit report), "" when it
	// wrote none (the test was killed).
	FSTests verdict.Verdict `json:"fstests,omitempty"`
	// Reports are the kernel reports printed while the test ran.
	Reports []string `json:"kernel_reports,omitempty"`
	// Calls are the calls to the fstests.Watched functions while it ran.
	Calls map[string]uint64 `json:"calls,omitempty"`
}

// Row is one test under one setup, a cell per flavour.
type Row struct {
	Setup string          `json:"setup"`
	Test  string          `json:"test"`
	Cells map[string]Cell `json:"cells"`
}

// Regression is true when the test fails on the patched kernel and not
// on the base one.
func (r Row) Regression() bool {
	p, b := r.Cells[string(kbase.Patched)], r.Cells[string(kbase.Base)]
	return p.Verdict.Bad() && b.Verdict != "" && !b.Verdict.Bad() && b.Verdict != verdict.Missing
}

// Column is one kernel.
type Column struct {
	Flavour string `json:"flavour"`
	Kernel  string `json:"kernel"`
	Source  string `json:"source"`
	// Time is the time the selection took per setup, boots included.
	Time map[string]time.Duration `json:"-"`
}

// Comparison is fstests on the base and the patched kernel of one base.
type Comparison struct {
	Base    string          `json:"base"`
	Setups  []fstests.Setup `json:"-"`
	Tests   string          `json:"tests"`
	FSTests string          `json:"fstests"`
	Root    string          `json:"root_disk"`
	Columns []Column        `json:"kernels"`
	Rows    []Row           `json:"rows"`
	// Infra lists the runs the infrastructure failed.
	Infra []string `json:"infrastructure_errors,omitempty"`
	// Unattributed are kernel reports outside any test (boot, setup).
	Unattributed []string `json:"kernel_reports_outside_tests,omitempty"`
}

// Build is the comparison of runs (any setups, flavours base and
// patched of one base).
func Build(base string, runs []SetupRun) Comparison {
	c := Comparison{Base: base}
	cols := map[string]*Column{}
	rows := map[string]*Row{}
	var order []string
	setups := map[string]bool{}
	for _, sr := range runs {
		fl := string(sr.Run.Variant.Flavour)
		col, ok := cols[fl]
		if !ok {
			col = &Column{Flavour: fl, Kernel: sr.Run.Kernel, Source: sr.Run.Source, Time: map[string]time.Duration{}}
			cols[fl] = col
		}
		col.Time[sr.Setup.Name] += sr.Run.Duration
		if !setups[sr.Setup.Name] {
			setups[sr.Setup.Name] = true
			c.Setups = append(c.Setups, sr.Setup)
		}
		if sr.Run.Infra != "" {
			c.Infra = append(c.Infra, fmt.Sprintf("%s %s: %s", fl, sr.Setup.Name, sr.Run.Infra))
		}
		for _, s := range sr.Run.Scenarios {
			key := sr.Setup.Name + " " + s.Name
			r, ok := rows[key]
			if !ok {
				r = &Row{Setup: sr.Setup.Name, Test: s.Name, Cells: map[string]Cell{}}
				rows[key] = r
				order = append(order, key)
			}
			cell := Cell{Verdict: verdictOf(s), Reason: s.Reason, Duration: s.Duration}
			for _, d := range s.Detail {
				if calls, ok := fstests.ParsePath(d); ok {
					cell.Calls = calls
				}
			}
			if x, ok := sr.Xunit[s.Name]; ok {
				cell.FSTests = x.Verdict()
			}
			r.Cells[fl] = cell
		}
		for _, k := range sr.Run.KernelReports {
			if t, ok := reportTest(k, sr.Run.Scenarios); ok {
				r := rows[sr.Setup.Name+" "+t]
				cell := r.Cells[fl]
				cell.Reports = append(cell.Reports, k)
				r.Cells[fl] = cell
				continue
			}
			c.Unattributed = append(c.Unattributed, fmt.Sprintf("%s %s: %s", fl, sr.Setup.Name, k))
		}
	}
	for _, f := range []kbase.Flavour{kbase.Base, kbase.Patched} {
		if col, ok := cols[string(f)]; ok {
			c.Columns = append(c.Columns, *col)
		}
	}
	for _, k := range order {
		r := rows[k]
		for _, col := range c.Columns {
			if _, ok := r.Cells[col.Flavour]; !ok {
				r.Cells[col.Flavour] = Cell{Verdict: verdict.Missing}
			}
		}
		c.Rows = append(c.Rows, *r)
	}
	return c
}

// verdictOf maps the harness's verdict of a test to the comparison's.
func verdictOf(s report.Scenario) verdict.Verdict {
	switch {
	case s.Directive == "TIMEOUT":
		return verdict.Timeout
	case s.Verdict == verdict.Pass:
		return verdict.Pass
	case s.Verdict == verdict.Skip:
		return verdict.Skip
	case s.Verdict == verdict.Error:
		return verdict.Error
	}
	return verdict.Fail
}

// reportTest finds the test a quoted kernel report names ("TITLE
// (during generic/091...)", see testrun.quoteReport).
func reportTest(quote string, tests []report.Scenario) (string, bool) {
	head, _, _ := strings.Cut(quote, "\n")
	i := strings.LastIndex(head, "(during ")
	if i < 0 {
		return "", false
	}
	name, _, _ := strings.Cut(head[i+len("(during "):], ")")
	name, _, _ = strings.Cut(name, ",")
	for _, t := range tests {
		if t.Name == name {
			return name, true
		}
	}
	return "", false
}

// Regressions are the rows that fail only on the patched kernel.
func (c Comparison) Regressions() []Row {
	var out []Row
	for _, r := range c.Rows {
		if r.Regression() {
			out = append(out, r)
		}
	}
	return out
}

// counts tallies one flavour's verdicts.
func (c Comparison) counts(flavour string) map[verdict.Verdict]int {
	m := map[verdict.Verdict]int{}
	for _, r := range c.Rows {
		m[r.Cells[flavour].Verdict]++
	}
	return m
}

// Summary is the one line the cover letters quote.
func (c Comparison) Summary() string {
	var parts []string
	for _, col := range c.Columns {
		m := c.counts(col.Flavour)
		parts = append(parts, fmt.Sprintf("%s %d pass, %d fail, %d notrun, %d timeout", col.Flavour, m[verdict.Pass], m[verdict.Fail], m[verdict.Skip], m[verdict.Timeout]))
	}
	reports := 0
	for _, r := range c.Rows {
		for _, cell := range r.Cells {
			reports += len(cell.Reports)
		}
	}
	reports += len(c.Unattributed)
	return fmt.Sprintf("%s: %s; %d new failures on patched; %d kernel reports",
		c.ran(), strings.Join(parts, "; "), len(c.Regressions()), reports)
}

// ran says which tests ran where: "fstests <tests> on <base> (<setups>)"
// when every setup ran the same tests, else each setup with its own
// ("fstests on v7.3 (ext4: generic/091 generic/095; xfs: generic/091)").
func (c Comparison) ran() string {
	var setups []string
	tests := map[string][]string{}
	for _, s := range setupNames(c) {
		setups = append(setups, s)
		tests[s] = nil
	}
	for _, r := range c.Rows {
		tests[r.Setup] = append(tests[r.Setup], r.Test)
	}
	same := true
	for _, s := range setups[min(1, len(setups)):] {
		same = same && slices.Equal(tests[s], tests[setups[0]])
	}
	if same {
		return fmt.Sprintf("fstests %s on %s (%s)", c.Tests, c.Base, strings.Join(setups, ", "))
	}
	var each []string
	for _, s := range setups {
		each = append(each, s+": "+strings.Join(tests[s], " "))
	}
	return fmt.Sprintf("fstests on %s (%s)", c.Base, strings.Join(each, "; "))
}

// WriteMarkdown writes the comparison: a table per setup, tests as rows
// and the kernels as columns, new failures on patched marked, then the
// kernel reports quoted and the reasons tests did not run.
func (c Comparison) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# fstests on %s: base vs patched\n\n", c.Base)
	fmt.Fprintf(&b, "%s\n\n", c.Summary())
	fmt.Fprintf(&b, "- fstests: %s\n- root disk: %s\n", c.FSTests, c.Root)
	for _, col := range c.Columns {
		fmt.Fprintf(&b, "- %s: %s (%s)\n", col.Flavour, col.Kernel, col.Source)
	}
	b.WriteString("\nReproduce: `make fstests FSTESTS=<fstests checkout> BASE=" + c.Base)
	if c.Tests != fstests.DefaultTests {
		b.WriteString(" TESTS=\"" + c.Tests + "\"")
	}
	b.WriteString("`. ")
	b.WriteString("A cell is the verdict and the test's time in the guest; **NEW** marks a test that fails only on the patched kernel.\n")
	for _, s := range c.Setups {
		fmt.Fprintf(&b, "\n## %s\n\n%s.\n\n| test |", s.Name, s.About)
		for _, col := range c.Columns {
			fmt.Fprintf(&b, " %s |", col.Flavour)
		}
		b.WriteString("\n|---|")
		for range c.Columns {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		for _, r := range c.Rows {
			if r.Setup != s.Name {
				continue
			}
			fmt.Fprintf(&b, "| %s |", r.Test)
			for _, col := range c.Columns {
				cell := r.Cells[col.Flavour]
				mark := ""
				if col.Flavour == string(kbase.Patched) && r.Regression() {
					mark = " **NEW**"
				}
				fmt.Fprintf(&b, " %s%s |", cellText(cell), mark)
			}
			b.WriteString("\n")
		}
		b.WriteString("| *time, boots included* |")
		for _, col := range c.Columns {
			fmt.Fprintf(&b, " %s |", col.Time[s.Name].Round(time.Second))
		}
		b.WriteString("\n")
	}
	if paths := c.paths(); len(paths) > 0 {
		b.WriteString("\n## Kernel paths\n\nCalls while each test ran, base / patched (functions with no call left out):\n\n")
		for _, p := range paths {
			fmt.Fprintf(&b, "- %s\n", p)
		}
	}
	notes := c.notes()
	if len(notes) > 0 {
		b.WriteString("\n## Reasons\n\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if q := c.quotes(); q != "" {
		b.WriteString("\n## Kernel reports\n\n```\n" + q + "```\n")
	} else {
		b.WriteString("\nNo kernel report (WARN, BUG, Oops, lockdep, hung task...) on any console.\n")
	}
	if len(c.Infra) > 0 {
		b.WriteString("\n## Infrastructure errors\n\n")
		for _, e := range c.Infra {
			fmt.Fprintf(&b, "- %s\n", e)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// word is how the tables and notes say a verdict: a skipped test is
// fstests' "notrun".
func word(v verdict.Verdict) string {
	if v == verdict.Skip {
		return "notrun"
	}
	return string(v)
}

func cellText(c Cell) string {
	t := word(c.Verdict)
	if c.Duration > 0 {
		t += fmt.Sprintf(" %ds", int(c.Duration.Round(time.Second)/time.Second))
	}
	if len(c.Reports) > 0 {
		t += fmt.Sprintf(" (%d kernel report)", len(c.Reports))
	}
	return t
}

// paths lists, per test, the calls to each watched function on each
// kernel.
func (c Comparison) paths() []string {
	var out []string
	for _, r := range c.Rows {
		var parts []string
		for _, fn := range fstests.Watched {
			var counts []string
			any := false
			for _, col := range c.Columns {
				calls, ok := r.Cells[col.Flavour].Calls[fn]
				any = any || calls > 0
				if ok {
					counts = append(counts, fmt.Sprint(calls))
				} else {
					counts = append(counts, "-")
				}
			}
			if any {
				parts = append(parts, fn+" "+strings.Join(counts, " / "))
			}
		}
		if len(parts) > 0 {
			out = append(out, fmt.Sprintf("%s %s: %s", r.Setup, r.Test, strings.Join(parts, ", ")))
		}
	}
	return out
}

// notes explains every cell that is not a plain pass, once per reason.
func (c Comparison) notes() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range c.Rows {
		for _, col := range c.Columns {
			cell := r.Cells[col.Flavour]
			if cell.Verdict == verdict.Pass || cell.Verdict == verdict.Missing || cell.Reason == "" {
				continue
			}
			n := fmt.Sprintf("%s %s, %s: %s: %s", r.Setup, r.Test, col.Flavour, word(cell.Verdict), cell.Reason)
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// quotes are the kernel reports, each with where it was seen.
func (c Comparison) quotes() string {
	var b strings.Builder
	for _, r := range c.Rows {
		flavours := make([]string, 0, len(r.Cells))
		for f := range r.Cells {
			flavours = append(flavours, f)
		}
		sort.Strings(flavours)
		for _, f := range flavours {
			for _, q := range r.Cells[f].Reports {
				fmt.Fprintf(&b, "[%s %s %s]\n%s\n\n", f, r.Setup, r.Test, q)
			}
		}
	}
	for _, q := range c.Unattributed {
		fmt.Fprintf(&b, "%s\n\n", q)
	}
	return b.String()
}

// comparisonJSON is the stable JSON form: durations in whole seconds.
type comparisonJSON struct {
	Comparison
	Summary     string       `json:"summary"`
	Regressions int          `json:"new_failures_on_patched"`
	Setups      []setupJSON  `json:"setups"`
	Rows        []rowJSON    `json:"rows"`
	Columns     []columnJSON `json:"kernels"`
}

type setupJSON struct {
	Name  string `json:"name"`
	FSTYP string `json:"fstyp"`
	About string `json:"about"`
}

type rowJSON struct {
	Setup      string              `json:"setup"`
	Test       string              `json:"test"`
	Regression bool                `json:"new_failure_on_patched"`
	Cells      map[string]cellJSON `json:"cells"`
}

type cellJSON struct {
	Cell
	Seconds int64 `json:"seconds"`
}

type columnJSON struct {
	Column
	Seconds map[string]int64 `json:"seconds_per_setup"`
}

// WriteJSON writes the comparison as JSON.
func (c Comparison) WriteJSON(w io.Writer) error {
	j := comparisonJSON{Comparison: c, Summary: c.Summary(), Regressions: len(c.Regressions())}
	for _, s := range c.Setups {
		j.Setups = append(j.Setups, setupJSON{Name: s.Name, FSTYP: s.FSTYP, About: s.About})
	}
	for _, col := range c.Columns {
		cj := columnJSON{Column: col, Seconds: map[string]int64{}}
		for s, d := range col.Time {
			cj.Seconds[s] = int64(d.Round(time.Second) / time.Second)
		}
		j.Columns = append(j.Columns, cj)
	}
	for _, r := range c.Rows {
		rj := rowJSON{Setup: r.Setup, Test: r.Test, Regression: r.Regression(), Cells: map[string]cellJSON{}}
		for f, cell := range r.Cells {
			rj.Cells[f] = cellJSON{Cell: cell, Seconds: int64(cell.Duration.Round(time.Second) / time.Second)}
		}
		j.Rows = append(j.Rows, rj)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}
