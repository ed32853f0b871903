package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"dioharness/harness/verdict"
)

// Markers used in the Markdown matrix.
const (
	markOK       = "✅"
	markMismatch = "❌ MISMATCH"
)

// WriteMatrixMarkdown writes m as GitHub-flavoured Markdown: the exact
// kernels, a table with one row per scenario and one verdict column per
// kernel (rows that do not match their declaration are marked
// "❌ MISMATCH" and the offending verdict is bold, followed by the
// declared one), the declared reasons, a legend, totals and a result.
func WriteMatrixMarkdown(w io.Writer, m Matrix) error {
	if _, err := io.WriteString(w, matrixMarkdown(m)); err != nil {
		return fmt.Errorf("report: write matrix markdown: %w", err)
	}
	return nil
}

// matrixMarkdown renders m.
func matrixMarkdown(m Matrix) string {
	var b strings.Builder
	b.WriteString("Kernels:\n\n")
	for _, c := range m.Columns {
		fmt.Fprintf(&b, "- **%s**: %s", mdCell(c.Label()), code(c.KernelText()))
		if c.Source != "" {
			fmt.Fprintf(&b, " from %s", mdCell(c.Source))
		}
		if c.Note != "" {
			fmt.Fprintf(&b, " (%s)", mdCell(c.Note))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n| Status | Scenario | Area |")
	for _, c := range m.Columns {
		fmt.Fprintf(&b, " %s |", mdCell(c.Label()))
	}
	b.WriteString(" Attempts | Declared failures |\n|---|---|---|")
	b.WriteString(strings.Repeat("---|", len(m.Columns)+2) + "\n")
	for _, r := range m.Rows {
		status := markOK
		if !r.Matches() {
			status = markMismatch
		}
		fmt.Fprintf(&b, "| %s | %s | %s |", status, mdCell(r.Name), mdCell(r.Area))
		var att []string
		for _, c := range r.Cells {
			fmt.Fprintf(&b, " %s |", verdictCell(c))
			if c.Verdict == verdict.Missing {
				att = append(att, "-")
			} else {
				att = append(att, strconv.Itoa(c.Attempts))
			}
		}
		fmt.Fprintf(&b, " %s | %s |\n", strings.Join(att, "/"), mdCell(r.Why(m.Columns)))
	}
	b.WriteString("\n**Legend:** " + markOK + " every verdict matches its declaration · " +
		markMismatch + ": a verdict differs from its declaration; it is shown in bold " +
		"followed by the declared verdict · `missing`: the scenario did not run on that kernel · " +
		"Attempts are per kernel, in column order.\n\n")
	if m.hasTimeout() {
		b.WriteString("**TIMEOUT:** what backs a timeout: `" + string(Reported) + "` (the kernel reported a bug or a hang while it ran), `" +
			string(Confirmed) + "` (it failed again on a fresh guest), `" + string(Flaky) + "` (it matched its declaration on a fresh guest), `" +
			string(Unconfirmed) + "` (it could not run again). Only the first two count against the kernel.\n\n")
	}
	c := m.counts()
	fmt.Fprintf(&b, "**Totals:** %s on %s: %d matching, %d mismatching.\n",
		plural(c.Scenarios, "scenario"), plural(len(m.Columns), "kernel"), c.Matching, c.Mismatching)
	for _, col := range m.Columns {
		if col.Infra != "" {
			fmt.Fprintf(&b, "\n**Infrastructure error (%s):** %s\n", mdCell(col.Label()), mdCell(col.Infra))
		}
	}
	var reports []string
	for _, col := range m.Columns {
		if col.KernelReports > 0 {
			reports = append(reports, fmt.Sprintf("%s %d", col.Label(), col.KernelReports))
		}
	}
	if len(reports) > 0 {
		fmt.Fprintf(&b, "\n**Kernel reports:** %s.\n", strings.Join(reports, ", "))
	}
	if m.OK() {
		b.WriteString("\n**Result: OK**\n")
	} else {
		b.WriteString("\n**Result: FAILED**\n")
	}
	return b.String()
}

// verdictCell shows a verdict, in bold with the declaration when it does
// not match.
func verdictCell(c Cell) string {
	if c.Matches {
		return mdCell(string(c.Verdict))
	}
	s := "**" + mdCell(string(c.Verdict)) + "**"
	if c.Timeout != "" {
		// What backs the TIMEOUT: a kernel report, a fresh guest
		// that failed again, or nothing (flaky, unconfirmed).
		s += " TIMEOUT, " + mdCell(string(c.Timeout))
	}
	if c.Expected != "" {
		s += " (expected " + mdCell(string(c.Expected)) + ")"
	}
	return s
}

// hasTimeout says whether a cell of m is a TIMEOUT.
func (m Matrix) hasTimeout() bool {
	for _, r := range m.Rows {
		for _, c := range r.Cells {
			if c.Timeout != "" {
				return true
			}
		}
	}
	return false
}

// code formats s as inline code, or "unknown".
func code(s string) string {
	if s = mdCell(s); s == "" {
		return "unknown"
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}

// mdCell makes s safe inside a Markdown table cell.
func mdCell(s string) string {
	return strings.TrimSpace(strings.ReplaceAll(oneLine(s), "|", `\|`))
}
