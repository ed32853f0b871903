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
// rewrites what is between them after a full run.
const (
	coverStart = "Test results\n------------\n"
	coverEnd   = "\nChangelog\n"
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
	return os.WriteFile(cover, []byte(s[:i]+coverStart+"\n"+MatrixText(m)+s[j:]), 0o644)
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
