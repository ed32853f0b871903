package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Markers used in the Markdown matrix.
const (
	markOK       = "✅"
	markMismatch = "❌ MISMATCH"
)

// WriteMatrixMarkdown writes m as GitHub-flavoured Markdown: the kernels,
// a table with one row per scenario (rows that do not match their
// declaration are marked "❌ MISMATCH" and the offending verdict is bold,
// followed by the declared one), a legend, totals and an overall result.
func WriteMatrixMarkdown(w io.Writer, m Matrix) error {
	if _, err := io.WriteString(w, matrixMarkdown(m)); err != nil {
		return fmt.Errorf("report: write matrix markdown: %w", err)
	}
	return nil
}

// matrixMarkdown renders m.
func matrixMarkdown(m Matrix) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Base kernel: %s · Patched kernel: %s\n\n",
		code(m.Kernels[FlavourBase]), code(m.Kernels[FlavourPatched]))
	b.WriteString("| Status | Scenario | Area | Base | Patched | Attempts (base/patched) | Why it fails on base |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range m.Scenarios {
		status := markOK
		if !r.Matches() {
			status = markMismatch
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s / %s | %s |\n",
			status, mdCell(r.Name), mdCell(r.Area),
			verdictCell(r.Base, r.ExpectBase, r.BaseMatches),
			verdictCell(r.Patched, r.ExpectPatched, r.PatchedMatches),
			attempts(r, FlavourBase), attempts(r, FlavourPatched), mdCell(r.Why))
	}
	b.WriteString("\n**Legend:** " + markOK + " both verdicts match their declarations · " +
		markMismatch + ": a verdict differs from its declaration; it is shown in bold " +
		"followed by the declared verdict · `missing`: the scenario did not run on that kernel.\n\n")
	c := m.counts()
	fmt.Fprintf(&b, "**Totals:** %s: %d matching, %d mismatching (%d missing on base, %d missing on patched).\n",
		plural(c.Scenarios, "scenario"), c.Matching, c.Mismatching, c.MissingBase, c.MissingPatched)
	for _, f := range []string{FlavourBase, FlavourPatched} {
		if e, ok := m.Infra[f]; ok {
			fmt.Fprintf(&b, "\n**Infrastructure error (%s):** %s\n", f, mdCell(e))
		}
	}
	if len(m.KernelReports) > 0 {
		fmt.Fprintf(&b, "\n**Kernel reports:** base %d, patched %d.\n",
			m.KernelReports[FlavourBase], m.KernelReports[FlavourPatched])
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
func verdictCell(v Verdict, expect string, matches bool) string {
	if matches {
		return mdCell(string(v))
	}
	s := "**" + mdCell(string(v)) + "**"
	if expect != "" {
		s += " (expected " + mdCell(expect) + ")"
	}
	return s
}

// attempts formats the attempts of one flavour, "-" if it did not run.
func attempts(r MatrixRow, flavour string) string {
	n, ok := r.Attempts[flavour]
	if !ok {
		return "-"
	}
	return strconv.Itoa(n)
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
