package series

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"dioharness/harness/kernel"
	"dioharness/harness/report"
	"dioharness/harness/verdict"
)

// The cover letter's test results sit between these lines; the harness
// rewrites what is between them after a full run. The fstests section,
// when there is one, sits between the test results and the changelog
// and has an owner of its own (QuoteFSTests).
const (
	coverStart   = "Test results\n------------\n"
	coverEnd     = "\nChangelog\n"
	fstestsStart = "fstests\n-------\n"
)

// Cover returns the series' cover letter, or "" when it has none.
func Cover(seriesDir string) string {
	covers, _ := filepath.Glob(filepath.Join(seriesDir, "*0000-cover-letter.patch"))
	if len(covers) != 1 {
		return ""
	}
	return covers[0]
}

// QuoteMatrix replaces the test results of the series' cover letter with
// a plain-text matrix of its base's kernels, so the mail always quotes
// the latest full run. proves maps a scenario to the subject of the
// patch it proves (scenario.Scenario.Patch). A series without a cover
// letter is left alone.
func QuoteMatrix(seriesDir string, m report.Matrix, proves map[string]string) error {
	cover := Cover(seriesDir)
	if cover == "" {
		return nil
	}
	patches, err := kernel.ReadSeries(seriesDir)
	if err != nil {
		return err
	}
	subjects, err := kernel.Subjects(patches)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(cover)
	if err != nil {
		return err
	}
	s := string(data)
	i := strings.Index(s, coverStart)
	j := strings.Index(s, coverEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q section before %q", cover, strings.TrimSpace(coverStart), strings.TrimSpace(coverEnd))
	}
	if k := strings.Index(s[i:j], "\n"+fstestsStart); k >= 0 {
		j = i + k
	}
	return os.WriteFile(cover, []byte(s[:i]+coverStart+"\n"+MatrixText(m, subjects, proves)+s[j:]), 0o644)
}

// QuoteFSTests puts fstests' summary line for the series' base into its
// cover letter, in an "fstests" section between the test results and
// the changelog (added the first time). A series without a cover letter
// is left alone.
func QuoteFSTests(seriesDir, summary string) error {
	cover := Cover(seriesDir)
	if cover == "" {
		return nil
	}
	data, err := os.ReadFile(cover)
	if err != nil {
		return err
	}
	s := string(data)
	j := strings.Index(s, coverEnd)
	if j < 0 {
		return fmt.Errorf("%s: no %q section", cover, strings.TrimSpace(coverEnd))
	}
	i := strings.Index(s[:j], "\n"+fstestsStart)
	if i < 0 {
		i = j
	}
	text := "\n" + fstestsStart + "\n" + wrap(summary, 72) + "\n"
	return os.WriteFile(cover, []byte(s[:i]+text+s[j:]), 0o644)
}

// wrap breaks s into lines of at most width columns at spaces.
func wrap(s string, width int) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// MatrixText is the matrix as a mail can carry it: the kernels, one line
// per scenario that proves a patch of the series (subjects, in series
// order) with the patch's number, one line per area for the rest of the
// catalogue, and what did not go as declared.
func MatrixText(m report.Matrix, subjects []string, proves map[string]string) string {
	var b strings.Builder
	for _, c := range m.Columns {
		fmt.Fprintf(&b, "%-14s %s", c.Label()+":", c.KernelText())
		if c.Source != "" {
			fmt.Fprintf(&b, " (%s)", c.Source)
		}
		b.WriteString("\n")
	}
	number := map[string]int{}
	for i, s := range subjects {
		number[s] = i + 1
	}
	// A scenario proves its patch on these kernels only as a red->green
	// pair: failing on every kernel without the series, passing on every
	// kernel with it. One that skips (or passes everywhere) proves
	// nothing here and is listed apart with its verdicts.
	var own, rest, unproven []report.MatrixRow
	for _, r := range m.Rows {
		switch {
		case number[proves[r.Name]] == 0:
			rest = append(rest, r)
		case redGreen(r):
			own = append(own, r)
		default:
			unproven = append(unproven, r)
		}
	}
	// In the series' order, as a reader goes through the patches.
	sort.SliceStable(own, func(a, b int) bool { return number[proves[own[a].Name]] < number[proves[own[b].Name]] })
	if len(own) > 0 {
		b.WriteString("\nScenarios that prove a patch of this series:\n\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprint(tw, "  scenario")
		for _, c := range m.Columns {
			fmt.Fprintf(tw, "\t%s", c.Variant.Flavour)
		}
		fmt.Fprintln(tw, "\tproves")
		for _, r := range own {
			fmt.Fprintf(tw, "  %s", r.Name)
			for _, c := range r.Cells {
				fmt.Fprintf(tw, "\t%s", c.Verdict)
			}
			fmt.Fprintf(tw, "\t%d/%d\n", number[proves[r.Name]], len(subjects))
		}
		tw.Flush()
	}
	if len(unproven) > 0 {
		b.WriteString("\nDeclared for a patch of this series but not a fail->pass pair on\nthese kernels, so not counted as proof:\n")
		for _, r := range unproven {
			var v []string
			for k, c := range r.Cells {
				v = append(v, fmt.Sprintf("%s %s", m.Columns[k].Variant.Flavour, c.Verdict))
			}
			fmt.Fprintf(&b, "  %s (%d/%d): %s\n", r.Name, number[proves[r.Name]], len(subjects), strings.Join(v, ", "))
		}
	}
	if len(rest) > 0 {
		b.WriteString("\nThe rest of the catalogue on the same kernels:\n\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  area\tscenarios\tpass on every kernel")
		var areas []string
		byArea := map[string][]report.MatrixRow{}
		for _, r := range rest {
			if byArea[r.Area] == nil {
				areas = append(areas, r.Area)
			}
			byArea[r.Area] = append(byArea[r.Area], r)
		}
		var declared []string
		for _, a := range areas {
			passAll := 0
			for _, r := range byArea[a] {
				var failing []string
				for k, c := range r.Cells {
					if c.Verdict != verdict.Pass && c.Matches {
						failing = append(failing, string(m.Columns[k].Variant.Flavour))
					}
				}
				if len(failing) == 0 && r.Matches() {
					passAll++
				}
				if len(failing) > 0 {
					declared = append(declared, fmt.Sprintf("  %s: %s", r.Name, strings.Join(failing, ", ")))
				}
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d\n", a, len(byArea[a]), passAll)
		}
		tw.Flush()
		if len(declared) > 0 {
			b.WriteString("\nNot passing there, as declared:\n" + strings.Join(declared, "\n") + "\n")
		}
	}
	ok := 0
	var wrong []string
	for _, r := range m.Rows {
		if r.Matches() {
			ok++
			continue
		}
		for k, c := range r.Cells {
			if !c.Matches {
				wrong = append(wrong, fmt.Sprintf("  %s on %s: %s, declared %s", r.Name, m.Columns[k].Label(), c.Verdict, c.Expected))
			}
		}
	}
	fmt.Fprintf(&b, "\n%d scenarios, %d as declared on every kernel.\n", len(m.Rows), ok)
	if len(wrong) > 0 {
		b.WriteString("Not as declared:\n" + strings.Join(wrong, "\n") + "\n")
	}
	var reports []string
	for _, c := range m.Columns {
		if c.KernelReports > 0 {
			reports = append(reports, fmt.Sprintf("%s %d", c.Label(), c.KernelReports))
		}
	}
	if len(reports) == 0 {
		b.WriteString("No kernel warning, BUG or lockdep report on any of these kernels.\n")
	} else {
		b.WriteString("Kernel reports on the console: " + strings.Join(reports, ", ") + ".\n")
	}
	return b.String()
}

// redGreen reports whether row r fails on every kernel without its patch
// and passes on every kernel with it: each cell is what the catalogue
// declares (catalogue.Expected: fail where the patch is missing), and
// there is a failing kernel and a passing one.
func redGreen(r report.MatrixRow) bool {
	fails, passes := false, false
	for _, c := range r.Cells {
		switch {
		case c.Verdict != c.Expected:
			return false
		case c.Verdict == verdict.Fail:
			fails = true
		case c.Verdict == verdict.Pass:
			passes = true
		default:
			return false
		}
	}
	return fails && passes
}
