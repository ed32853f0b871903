// Package compare is the host's side of fstests: the runs of a base and
// a patched kernel side by side (results/fstests-<base>.{md,json}), or
// of a base and a flavour its BASE file declares
// (results/fstests-<base>-<flavour>.{md,json}), read back from results
// directories and merged with an earlier comparison. The guest never
// links it.
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

// Row is one test of one selection under one setup, a cell per flavour.
type Row struct {
	// Tests is the selection (TESTS=) the test ran under.
	Tests string
	Setup string
	Test  string
	Cells map[string]Cell
}

// Regression is true when the test fails on a kernel with patches (the
// patched flavour, or a flavour a BASE file declares) and not on the
// base one.
func (r Row) Regression() bool {
	for fl := range r.Cells {
		if r.RegressionOn(fl) {
			return true
		}
	}
	return false
}

// RegressionOn is true when fl is a kernel with patches and the test
// fails on it and not on the base kernel.
func (r Row) RegressionOn(fl string) bool {
	p, b := r.Cells[fl], r.Cells[string(kbase.Base)]
	return fl != string(kbase.Base) && p.Verdict.Bad() && b.Verdict != "" && !b.Verdict.Bad() && b.Verdict != verdict.Missing
}

// Column is one kernel flavour: every run of it is the same release
// from the same source (each run names its own build in Part.Kernels).
type Column struct {
	Flavour string `json:"flavour"`
	Release string `json:"release"`
	Source  string `json:"source"`
}

// Part is one selection run on one setup, on each kernel: which tests
// ran where, on which build, in how long.
type Part struct {
	// Tests is the selection as TESTS= said it.
	Tests string
	Setup string
	// Count is how many tests the selection took.
	Count int
	// Kernels are the builds per flavour ("release commit": the commit
	// of the local tree the harness built).
	Kernels map[string]string
	// Time is the run's time per flavour, boots included.
	Time map[string]time.Duration
	// Dirs are the results directories per flavour (not committed).
	Dirs map[string]string
	// Picks say why the selection took each test.
	Picks []fstests.Pick
}

// Note is a line about one run of one kernel: an infrastructure error
// or a kernel report outside any test.
type Note struct {
	Flavour string `json:"flavour"`
	Setup   string `json:"setup"`
	Tests   string `json:"tests"`
	Text    string `json:"text"`
}

func (n Note) String() string {
	return fmt.Sprintf("%s %s (TESTS=%s): %s", n.Flavour, n.Setup, n.Tests, n.Text)
}

// Comparison is fstests on the base kernel of one base and the kernel
// with its patches (patched, or one declared flavour): one or more
// selections, each on one or more setups.
type Comparison struct {
	Base    string
	Setups  []fstests.Setup
	FSTests string
	Root    string
	Columns []Column
	Parts   []Part
	Rows    []Row
	// Infra lists the runs the infrastructure failed.
	Infra []Note
	// Unattributed are kernel reports outside any test (boot, setup).
	Unattributed []Note
}

// Build is the comparison of runs of the selection tests (any setups,
// flavours of one base: base, then patched or a declared flavour, which
// FileName says one comparison holds). picks are the
// selection's tests per setup: they order the rows and say why each
// test was taken.
func Build(base, tests string, picks map[string][]fstests.Pick, runs []SetupRun) Comparison {
	c := Comparison{Base: base}
	cols := map[string]*Column{}
	parts := map[string]*Part{}
	rows := map[string]*Row{}
	var order, partOrder []string
	for _, sr := range runs {
		fl := string(sr.Run.Variant.Flavour)
		if _, ok := cols[fl]; !ok {
			cols[fl] = &Column{Flavour: fl, Release: release(sr.Run.Kernel), Source: sr.Run.Source}
		}
		p, ok := parts[sr.Setup.Name]
		if !ok {
			p = &Part{Tests: tests, Setup: sr.Setup.Name, Count: len(picks[sr.Setup.Name]), Picks: picks[sr.Setup.Name],
				Kernels: map[string]string{}, Time: map[string]time.Duration{}}
			parts[sr.Setup.Name] = p
			partOrder = append(partOrder, sr.Setup.Name)
			c.Setups = append(c.Setups, sr.Setup)
		}
		p.Kernels[fl] = sr.Run.Kernel
		p.Time[fl] += sr.Run.Duration
		if sr.Dir != "" {
			if p.Dirs == nil {
				p.Dirs = map[string]string{}
			}
			p.Dirs[fl] = sr.Dir
		}
		note := func(text string) Note { return Note{Flavour: fl, Setup: sr.Setup.Name, Tests: tests, Text: text} }
		if sr.Run.Infra != "" {
			c.Infra = append(c.Infra, note(sr.Run.Infra))
		}
		for _, s := range sr.Run.Scenarios {
			key := sr.Setup.Name + " " + s.Name
			r, ok := rows[key]
			if !ok {
				r = &Row{Tests: tests, Setup: sr.Setup.Name, Test: s.Name, Cells: map[string]Cell{}}
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
			c.Unattributed = append(c.Unattributed, note(k))
		}
	}
	// Base, patched, then the declared flavours by name.
	var fls []string
	for fl := range cols {
		fls = append(fls, fl)
	}
	sort.Slice(fls, func(i, j int) bool {
		if ri, rj := flavourRank(fls[i]), flavourRank(fls[j]); ri != rj {
			return ri < rj
		}
		return fls[i] < fls[j]
	})
	for _, fl := range fls {
		c.Columns = append(c.Columns, *cols[fl])
	}
	for _, name := range partOrder {
		p := parts[name]
		if p.Count == 0 {
			for _, k := range order {
				if setup, _, _ := strings.Cut(k, " "); setup == name {
					p.Count++
				}
			}
		}
		c.Parts = append(c.Parts, *p)
	}
	// Rows in the selection's order (check's), whatever order the run
	// went through them.
	rank := func(key string) int {
		setup, test, _ := strings.Cut(key, " ")
		if i := slices.IndexFunc(picks[setup], func(p fstests.Pick) bool { return p.Test == test }); i >= 0 {
			return i
		}
		return len(picks[setup])
	}
	sort.SliceStable(order, func(i, j int) bool {
		si, _, _ := strings.Cut(order[i], " ")
		sj, _, _ := strings.Cut(order[j], " ")
		if si != sj {
			return slices.Index(partOrder, si) < slices.Index(partOrder, sj)
		}
		return rank(order[i]) < rank(order[j])
	})
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

// flavourRank orders the columns: base, patched, then the rest.
func flavourRank(fl string) int {
	switch kbase.Flavour(fl) {
	case kbase.Base:
		return 0
	case kbase.Patched:
		return 1
	}
	return 2
}

// FileName names the files a comparison of these flavours of base is
// written to, under results/: "fstests-<base>" for base and patched (or
// either alone), "fstests-<base>-<flavour>" for base and one flavour a
// BASE file declares (an RFC on top of the fixes), which has a table of
// its own. Any other set of kernels (patched beside a declared flavour,
// two declared flavours, a tree of one's own) is no comparison results/
// keeps.
func FileName(base string, flavours []string) (string, error) {
	var with []string
	for _, fl := range flavours {
		if fl != string(kbase.Base) && !slices.Contains(with, fl) {
			with = append(with, fl)
		}
	}
	switch {
	case base == "":
		return "", fmt.Errorf("fstests: a comparison of no base (%s) is not kept in results/", strings.Join(flavours, ", "))
	case len(with) == 0 || len(with) == 1 && with[0] == string(kbase.Patched):
		return "fstests-" + base, nil
	case len(with) == 1 && with[0] != string(kbase.Custom):
		return "fstests-" + base + "-" + with[0], nil
	}
	return "", fmt.Errorf("fstests: %s: results/ compares base with patched or with one declared flavour, not with %s", base, strings.Join(with, " and "))
}

// FileName names the files the comparison is written to (FileName of its
// base and columns).
func (c Comparison) FileName() (string, error) {
	var fls []string
	for _, col := range c.Columns {
		fls = append(fls, col.Flavour)
	}
	return FileName(c.Base, fls)
}

// patchedLabel names the kernel with patches the comparison sets beside
// base: "patched", or the declared flavour ("pdio").
func (c Comparison) patchedLabel() string {
	var with []string
	for _, col := range c.Columns {
		if col.Flavour != string(kbase.Base) {
			with = append(with, col.Flavour)
		}
	}
	if len(with) == 0 {
		return string(kbase.Patched)
	}
	return strings.Join(with, " and ")
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

// Regressions are the rows that fail only on the kernel with patches.
func (c Comparison) Regressions() []Row {
	var out []Row
	for _, r := range c.Rows {
		if r.Regression() {
			out = append(out, r)
		}
	}
	return out
}

// tally counts the verdicts of the rows keep takes, per flavour, and
// the new failures on the kernel with patches.
func (c Comparison) tally(keep func(Row) bool) (map[string]map[verdict.Verdict]int, int) {
	m := map[string]map[verdict.Verdict]int{}
	for _, col := range c.Columns {
		m[col.Flavour] = map[verdict.Verdict]int{}
	}
	regressions := 0
	for _, r := range c.Rows {
		if !keep(r) {
			continue
		}
		for _, col := range c.Columns {
			m[col.Flavour][r.Cells[col.Flavour].Verdict]++
		}
		if r.Regression() {
			regressions++
		}
	}
	return m, regressions
}

// countText says one flavour's counts: "36 pass, 0 fail, 4 notrun, 0
// timeout" (and errors and missing results when there are any).
func countText(m map[verdict.Verdict]int) string {
	t := fmt.Sprintf("%d pass, %d fail, %d notrun, %d timeout", m[verdict.Pass], m[verdict.Fail], m[verdict.Skip], m[verdict.Timeout])
	if m[verdict.Error] > 0 {
		t += fmt.Sprintf(", %d error", m[verdict.Error])
	}
	if m[verdict.Missing] > 0 {
		t += fmt.Sprintf(", %d not run by the harness", m[verdict.Missing])
	}
	return t
}

// flavourCounts is "base 36 pass, ...; patched 36 pass, ...".
func (c Comparison) flavourCounts(m map[string]map[verdict.Verdict]int) string {
	var parts []string
	for _, col := range c.Columns {
		parts = append(parts, col.Flavour+" "+countText(m[col.Flavour]))
	}
	return strings.Join(parts, "; ")
}

// selections are the selections of the comparison, in order, each with
// the setups it ran on.
func (c Comparison) selections() ([]string, map[string][]string) {
	var order []string
	setups := map[string][]string{}
	for _, p := range c.Parts {
		if _, ok := setups[p.Tests]; !ok {
			order = append(order, p.Tests)
		}
		setups[p.Tests] = append(setups[p.Tests], p.Setup)
	}
	return order, setups
}

// testsLabel names a selection: a named one with how many tests it took.
func (c Comparison) testsLabel(tests string) string {
	if !strings.HasPrefix(tests, "@") {
		return tests
	}
	for _, p := range c.Parts {
		if p.Tests == tests {
			return fmt.Sprintf("%s (%d tests)", tests, p.Count)
		}
	}
	return tests
}

// ran are the tests a selection ran on a setup, in the table's order.
func (c Comparison) ran(tests, setup string) []string {
	var out []string
	for _, r := range c.Rows {
		if r.Tests == tests && r.Setup == setup {
			out = append(out, r.Test)
		}
	}
	return out
}

// ranLabel says which tests a run went through: for a list of tests the
// tests themselves (a setup may take fewer than the list names), for a
// named selection or groups how many, and of how many when fewer ran
// than the selection took.
func (c Comparison) ranLabel(p Part) string {
	ran := c.ran(p.Tests, p.Setup)
	switch {
	case len(ran) == 0:
		return p.Tests + " (no test ran)"
	case !strings.HasPrefix(p.Tests, "@") && !strings.HasPrefix(p.Tests, "-"):
		return strings.Join(ran, " ")
	case len(ran) < p.Count:
		return fmt.Sprintf("%s (%d of %d tests)", p.Tests, len(ran), p.Count)
	}
	return fmt.Sprintf("%s (%d tests)", p.Tests, len(ran))
}

// Summary is the one line the cover letters quote: per selection, the
// tests that ran and the setups they ran on (setups that ran the same
// tests share a clause), the verdicts per kernel, then the new failures
// on the kernel with patches (patched, or the declared flavour) and the
// kernel reports.
func (c Comparison) Summary() string {
	type clause struct {
		tests, label string
		setups       []string
	}
	var clauses []*clause
	for _, p := range c.Parts {
		label := c.ranLabel(p)
		i := slices.IndexFunc(clauses, func(k *clause) bool { return k.tests == p.Tests && k.label == label })
		if i < 0 {
			clauses = append(clauses, &clause{tests: p.Tests, label: label})
			i = len(clauses) - 1
		}
		clauses[i].setups = append(clauses[i].setups, p.Setup)
	}
	var text []string
	for _, k := range clauses {
		m, _ := c.tally(func(r Row) bool { return r.Tests == k.tests && slices.Contains(k.setups, r.Setup) })
		text = append(text, fmt.Sprintf("%s on %s: %s", k.label, strings.Join(k.setups, ", "), c.flavourCounts(m)))
	}
	return fmt.Sprintf("fstests on %s: %s; %d new failures on %s; %d kernel reports",
		c.Base, strings.Join(text, "; "), len(c.Regressions()), c.patchedLabel(), c.reports())
}

// PartSummary is one run's line: "ext4, @iomap-dio (40 tests): base 36
// pass, 0 fail, 4 notrun, 0 timeout; patched ...; 0 new failures on
// patched", the tests as Summary says them.
func (c Comparison) PartSummary(p Part) string {
	m, reg := c.tally(func(r Row) bool { return r.Tests == p.Tests && r.Setup == p.Setup })
	return fmt.Sprintf("%s, %s: %s; %d new failures on %s", p.Setup, c.ranLabel(p), c.flavourCounts(m), reg, c.patchedLabel())
}

// reports counts the kernel reports.
func (c Comparison) reports() int {
	n := len(c.Unattributed)
	for _, r := range c.Rows {
		for _, cell := range r.Cells {
			n += len(cell.Reports)
		}
	}
	return n
}

// commit is the local tree commit of a "release commit" kernel label.
func commit(kernel string) string {
	f := strings.Fields(kernel)
	if len(f) < 2 {
		return kernel
	}
	return strings.Join(f[1:], " ")
}

// WriteMarkdown writes the comparison: which selection ran where, a
// table per setup and selection with tests as rows and the kernels as
// columns, new failures on the kernel with patches marked, why a named
// selection took
// each test, then the kernel reports quoted and the reasons tests did
// not run.
func (c Comparison) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# fstests on %s: base vs %s\n\n", c.Base, c.patchedLabel())
	fmt.Fprintf(&b, "%s\n\n", c.Summary())
	fmt.Fprintf(&b, "- fstests: %s\n- root disk: %s\n", c.FSTests, c.Root)
	for _, col := range c.Columns {
		var builds []string
		for _, p := range c.Parts {
			if k, ok := p.Kernels[col.Flavour]; ok && !slices.Contains(builds, commit(k)) {
				builds = append(builds, commit(k))
			}
		}
		noun := "commit"
		if len(builds) > 1 {
			noun = "commits"
		}
		fmt.Fprintf(&b, "- %s: %s (%s), local tree %s %s\n", col.Flavour, col.Release, col.Source, noun, strings.Join(builds, ", "))
	}
	b.WriteString("\nThe kernel ids are commits of the local trees the harness builds (Debian's source imported as one commit, the series applied with git am), not upstream commits; the runs below say which build ran what. ")
	fmt.Fprintf(&b, "A cell is the verdict and the test's time in the guest; **NEW** marks a test that fails only on the %s kernel.\n", c.patchedLabel())

	b.WriteString("\n## Runs\n\nEach selection (TESTS=) on each setup, with the build, the time (boots included) and the verdicts per kernel. ")
	fmt.Fprintf(&b, "Reproduce one: `make fstests FSTESTS=<fstests checkout> BASE=%s%s FSTYP=<setup> TESTS='<tests>'`.\n\n", c.Base, c.kernelArg())
	b.WriteString("| tests | setup |")
	for _, col := range c.Columns {
		fmt.Fprintf(&b, " %s |", col.Flavour)
	}
	fmt.Fprintf(&b, " new failures on %s |\n|---|---|", c.patchedLabel())
	for range c.Columns {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	for _, p := range c.Parts {
		m, reg := c.tally(func(r Row) bool { return r.Tests == p.Tests && r.Setup == p.Setup })
		fmt.Fprintf(&b, "| %s | %s |", c.testsLabel(p.Tests), p.Setup)
		for _, col := range c.Columns {
			k, ok := p.Kernels[col.Flavour]
			if !ok {
				b.WriteString(" not run |")
				continue
			}
			fmt.Fprintf(&b, " %s, %s: %s |", commit(k), p.Time[col.Flavour].Round(time.Second), countText(m[col.Flavour]))
		}
		fmt.Fprintf(&b, " %d |\n", reg)
	}

	for _, s := range c.Setups {
		for _, p := range c.Parts {
			if p.Setup != s.Name {
				continue
			}
			fmt.Fprintf(&b, "\n## %s: %s\n\n%s.\n\n| test |", s.Name, c.testsLabel(p.Tests), s.About)
			for _, col := range c.Columns {
				fmt.Fprintf(&b, " %s |", col.Flavour)
			}
			b.WriteString("\n|---|")
			for range c.Columns {
				b.WriteString("---|")
			}
			b.WriteString("\n")
			for _, r := range c.Rows {
				if r.Setup != s.Name || r.Tests != p.Tests {
					continue
				}
				fmt.Fprintf(&b, "| %s |", r.Test)
				for _, col := range c.Columns {
					cell := r.Cells[col.Flavour]
					mark := ""
					if r.RegressionOn(col.Flavour) {
						mark = " **NEW**"
					}
					fmt.Fprintf(&b, " %s%s |", cellText(cell), mark)
				}
				b.WriteString("\n")
			}
			b.WriteString("| *time, boots included* |")
			for _, col := range c.Columns {
				fmt.Fprintf(&b, " %s |", p.Time[col.Flavour].Round(time.Second))
			}
			b.WriteString("\n")
		}
	}
	c.writeWhy(&b)
	if paths := c.paths(); len(paths) > 0 {
		fmt.Fprintf(&b, "\n## Kernel paths\n\nCalls while each test ran, %s (functions with no call left out):\n\n", c.columnNames())
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

// kernelArg is the KERNEL= a run of the comparison's kernels needs:
// none for base and patched (make fstests' default), " KERNEL=base,pdio"
// for a declared flavour.
func (c Comparison) kernelArg() string {
	l := c.patchedLabel()
	if l == string(kbase.Patched) {
		return ""
	}
	return " KERNEL=" + string(kbase.Base) + "," + strings.ReplaceAll(l, " and ", ",")
}

// columnNames are the kernels in column order: "base / patched".
func (c Comparison) columnNames() string {
	var n []string
	for _, col := range c.Columns {
		n = append(n, col.Flavour)
	}
	return strings.Join(n, " / ")
}

// writeWhy lists, for each named selection, the rule that took each
// test; setups that took the same tests share one list.
func (c Comparison) writeWhy(b *strings.Builder) {
	done := map[int]bool{}
	for i, p := range c.Parts {
		if done[i] || !strings.HasPrefix(p.Tests, "@") || len(p.Picks) == 0 {
			continue
		}
		setups := []string{p.Setup}
		for j := i + 1; j < len(c.Parts); j++ {
			if q := c.Parts[j]; q.Tests == p.Tests && slices.Equal(q.Picks, p.Picks) {
				setups = append(setups, q.Setup)
				done[j] = true
			}
		}
		fmt.Fprintf(b, "\n## Why %s took each test (%s)\n\n", p.Tests, strings.Join(setups, ", "))
		if n, ok := fstests.NamedSelection(strings.TrimPrefix(p.Tests, "@")); ok {
			fmt.Fprintf(b, "%s: %s.\n\n", p.Tests, n.About)
		}
		b.WriteString("| test | rule |\n|---|---|\n")
		for _, pk := range p.Picks {
			fmt.Fprintf(b, "| %s | %s |\n", pk.Test, pk.Why)
		}
	}
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

// rowName names a row in lists: the setup and test, and the selection
// when the comparison has more than one.
func (c Comparison) rowName(r Row) string {
	if order, _ := c.selections(); len(order) > 1 {
		return fmt.Sprintf("%s %s (%s)", r.Setup, r.Test, r.Tests)
	}
	return r.Setup + " " + r.Test
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
			out = append(out, fmt.Sprintf("%s: %s", c.rowName(r), strings.Join(parts, ", ")))
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
			n := fmt.Sprintf("%s, %s: %s: %s", c.rowName(r), col.Flavour, word(cell.Verdict), cell.Reason)
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
				fmt.Fprintf(&b, "[%s %s]\n%s\n\n", f, c.rowName(r), q)
			}
		}
	}
	for _, q := range c.Unattributed {
		fmt.Fprintf(&b, "%s\n\n", q)
	}
	return b.String()
}

// Format is the version of the JSON form WriteJSON writes; Load reads
// only this one.
const Format = 2

// comparisonJSON is the stable JSON form: durations in whole seconds.
// new_failures_on_patched and new_failure_on_patched count the failures
// new on the kernel with patches: patched, or the declared flavour of a
// results/fstests-<base>-<flavour>.json.
type comparisonJSON struct {
	Format       int         `json:"format"`
	Base         string      `json:"base"`
	FSTests      string      `json:"fstests"`
	Root         string      `json:"root_disk"`
	Summary      string      `json:"summary"`
	Regressions  int         `json:"new_failures_on_patched"`
	Setups       []setupJSON `json:"setups"`
	Columns      []Column    `json:"kernels"`
	Parts        []partJSON  `json:"runs"`
	Rows         []rowJSON   `json:"rows"`
	Infra        []Note      `json:"infrastructure_errors,omitempty"`
	Unattributed []Note      `json:"kernel_reports_outside_tests,omitempty"`
}

type setupJSON struct {
	Name  string `json:"name"`
	FSTYP string `json:"fstyp"`
	About string `json:"about"`
}

type partJSON struct {
	Tests   string            `json:"tests"`
	Setup   string            `json:"setup"`
	Count   int               `json:"count"`
	Summary string            `json:"summary"`
	Kernels map[string]string `json:"kernels"`
	Seconds map[string]int64  `json:"seconds"`
	Dirs    map[string]string `json:"results_dirs,omitempty"`
	Picks   []fstests.Pick    `json:"picks,omitempty"`
}

type rowJSON struct {
	Tests      string              `json:"tests"`
	Setup      string              `json:"setup"`
	Test       string              `json:"test"`
	Regression bool                `json:"new_failure_on_patched"`
	Cells      map[string]cellJSON `json:"cells"`
}

type cellJSON struct {
	Cell
	Seconds int64 `json:"seconds"`
}

func seconds(d time.Duration) int64 { return int64(d.Round(time.Second) / time.Second) }

// WriteJSON writes the comparison as JSON.
func (c Comparison) WriteJSON(w io.Writer) error {
	j := comparisonJSON{Format: Format, Base: c.Base, FSTests: c.FSTests, Root: c.Root, Summary: c.Summary(),
		Regressions: len(c.Regressions()), Columns: c.Columns, Infra: c.Infra, Unattributed: c.Unattributed}
	for _, s := range c.Setups {
		j.Setups = append(j.Setups, setupJSON{Name: s.Name, FSTYP: s.FSTYP, About: s.About})
	}
	for _, p := range c.Parts {
		pj := partJSON{Tests: p.Tests, Setup: p.Setup, Count: p.Count, Summary: c.PartSummary(p),
			Kernels: p.Kernels, Seconds: map[string]int64{}, Dirs: p.Dirs, Picks: p.Picks}
		for f, d := range p.Time {
			pj.Seconds[f] = seconds(d)
		}
		j.Parts = append(j.Parts, pj)
	}
	for _, r := range c.Rows {
		rj := rowJSON{Tests: r.Tests, Setup: r.Setup, Test: r.Test, Regression: r.Regression(), Cells: map[string]cellJSON{}}
		for f, cell := range r.Cells {
			rj.Cells[f] = cellJSON{Cell: cell, Seconds: seconds(cell.Duration)}
		}
		j.Rows = append(j.Rows, rj)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}
