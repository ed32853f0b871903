package series

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"dioharness/harness/report"
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
// the latest full run. A series without a cover letter is left alone.
func QuoteMatrix(seriesDir string, m report.Matrix) error {
	cover := Cover(seriesDir)
	if cover == "" {
		return nil
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
	return os.WriteFile(cover, []byte(s[:i]+coverStart+"\n"+MatrixText(m)+s[j:]), 0o644)
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
	text := "\n" + fstestsStart + "\n" + wrap(summary, 72) + "\n\nThe table per filesystem: make fstests FSTESTS=<checkout>   (writes\nresults/fstests-<base>.md)\n"
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

// MatrixText is the matrix as a mail can carry it: kernels, one line
// per scenario, and a summary.
func MatrixText(m report.Matrix) string {
	var b strings.Builder
	for _, c := range m.Columns {
		fmt.Fprintf(&b, "%-14s %s", c.Label()+":", c.Kernel)
		if c.Source != "" {
			fmt.Fprintf(&b, " (%s)", c.Source)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "  scenario")
	for _, c := range m.Columns {
		fmt.Fprintf(tw, "\t%s", c.Variant.Flavour)
	}
	fmt.Fprintln(tw, "\tas declared")
	fixed, ok := 0, 0
	for _, r := range m.Rows {
		fmt.Fprintf(tw, "  %s", r.Name)
		failsSomewhere := false
		for _, c := range r.Cells {
			fmt.Fprintf(tw, "\t%s", c.Verdict)
			failsSomewhere = failsSomewhere || c.Verdict == report.Fail
		}
		mark := "NO"
		if r.Matches() {
			mark = "yes"
			ok++
			if failsSomewhere {
				fixed++
			}
		}
		fmt.Fprintf(tw, "\t%s\n", mark)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\n%d scenarios, %d as declared; %d fail where declared (without\nthe patch they prove) and pass where the patch is applied.\n\n",
		len(m.Rows), ok, fixed)
	b.WriteString("Reproduce: make qemu-test BASE=all   (writes results/matrix.md)\n")
	return b.String()
}
