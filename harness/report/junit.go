package report

import (
	"fmt"
	"io"
	"strings"

	"dioharness/harness/junit"
)

// WriteJUnit writes r as JUnit XML: one <testsuite> named
// "dioharness-<flavour>" with a <testcase> per scenario (classname = area)
// plus the "infrastructure" and "kernel-reports" pseudo test cases when
// the run has an infrastructure error or kernel reports.
func WriteJUnit(w io.Writer, r Run) error {
	if err := junit.Write(w, junitDoc(r)); err != nil {
		return fmt.Errorf("report: write JUnit for %s run: %w", r.Variant, err)
	}
	return nil
}

// junitDoc builds the JUnit document for r.
func junitDoc(r Run) junit.Suites {
	s := junit.Suite{
		Name: "dioharness-" + r.Variant.Slug(),
		Time: junit.Seconds(r.Duration),
		Properties: []junit.Property{
			{Name: "base", Value: r.Variant.Base},
			{Name: "flavour", Value: string(r.Variant.Flavour)},
			{Name: "source", Value: r.Source},
			{Name: "kernel", Value: r.Kernel},
		},
	}
	if !r.Started.IsZero() {
		s.Timestamp = r.Started.UTC().Format("2006-01-02T15:04:05")
	}
	for _, c := range cases(r) {
		s.Tests++
		jc := junit.Case{ClassName: c.class, Name: c.name, Time: junit.Seconds(c.duration), SystemOut: systemOut(c)}
		body := strings.Join(c.detail, "\n")
		switch c.outcome {
		case failed:
			s.Failures++
			jc.Failure = &junit.Message{Message: c.message, Type: failureType(c), Body: body}
		case errored:
			s.Errors++
			jc.Error = &junit.Message{Message: c.message, Type: string(c.verdict), Body: body}
		case skipped:
			s.Skipped++
			jc.Skipped = &junit.Message{Message: c.message}
		}
		s.Cases = append(s.Cases, jc)
	}
	return junit.Suites{
		Name:  "dioharness",
		Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped,
		Time:   s.Time,
		Suites: []junit.Suite{s},
	}
}

// failureType is the JUnit failure type: the verdict, or the KTAP
// directive that says more (timeout, xpass).
func failureType(c testCase) string {
	switch c.directive {
	case "TIMEOUT", "XPASS":
		return strings.ToLower(c.directive)
	}
	return string(c.verdict)
}

// systemOut summarises a test case and its detail lines.
func systemOut(c testCase) string {
	if !c.timed { // pseudo test case: the detail is in the failure body
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "verdict: %s, expected: %s, attempts: %d\n", c.shownVerdict(), c.expected, c.attempts)
	if c.note != "" {
		b.WriteString(c.note + "\n")
	}
	for _, d := range c.detail {
		b.WriteString(d + "\n")
	}
	return b.String()
}
