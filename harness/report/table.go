package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes a short human-readable table of r: a header line, one
// row per scenario (scenario, area, verdict, expected, time) plus the
// pseudo test cases, the reasons for failures, and finally the summary
// line "N passed, N failed, N skipped" alone on the last line.
func WriteTable(w io.Writer, r Run) error {
	if err := writeTable(w, r); err != nil {
		return fmt.Errorf("report: write table for %s run: %w", r.Variant, err)
	}
	return nil
}

// writeTable does the work of WriteTable.
func writeTable(w io.Writer, r Run) error {
	if _, err := fmt.Fprintln(w, runHeader(r)); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tAREA\tVERDICT\tEXPECTED\tTIME")
	var problems []string
	for _, c := range cases(r) {
		verdict := c.shownVerdict()
		if c.outcome == failed || c.outcome == errored {
			verdict += " !"
			problems = append(problems, fmt.Sprintf("  %s: %s", cell(c.name), oneLine(c.message)))
		}
		tm := "-"
		if c.timed {
			tm = c.duration.Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cell(c.name), cell(c.class), cell(verdict), cell(string(c.expected)), tm)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(problems) > 0 {
		lines := append([]string{"failures (!):"}, problems...)
		if _, err := fmt.Fprintln(w, strings.Join(lines, "\n")); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, r.Totals())
	return err
}

// runHeader describes the run in one line.
func runHeader(r Run) string {
	parts := []string{"dioharness " + orDefault(r.Variant.String(), "?") + " run"}
	if r.Kernel != "" {
		parts = append(parts, "kernel "+oneLine(r.Kernel))
	}
	if r.Source != "" {
		parts = append(parts, "from "+oneLine(r.Source))
	}
	if !r.Started.IsZero() {
		parts = append(parts, "started "+r.Started.UTC().Format(time.RFC3339))
	}
	parts = append(parts, "took "+r.Duration.Round(time.Millisecond).String())
	return strings.Join(parts, ", ")
}

// cell makes s safe for a tabwriter cell.
func cell(s string) string {
	if s = strings.TrimSpace(oneLine(s)); s == "" {
		return "-"
	}
	return s
}
