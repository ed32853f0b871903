package report

import (
	"fmt"
	"strings"
	"time"

	"dioharness/harness/verdict"
)

// outcome is how a test case counts in JUnit and in the table summary.
type outcome int

const (
	passed outcome = iota
	failed
	errored
	skipped
)

// Names of the pseudo test cases added for run-level problems.
const (
	harnessClass      = "harness"
	infraCase         = "infrastructure"
	kernelReportsCase = "kernel-reports"
)

// testCase is one row of the table and one JUnit testcase.
type testCase struct {
	class     string
	name      string
	verdict   verdict.Verdict
	expected  verdict.Verdict
	directive string // KTAP directive, shown beside the verdict
	timed     bool   // duration is meaningful
	duration  time.Duration
	attempts  int
	outcome   outcome
	message   string   // why it failed, errored or was skipped
	note      string   // extra context for a passed case
	detail    []string // diagnostic lines
}

// cases classifies the scenarios of r, followed by the pseudo test cases
// for an infrastructure error and kernel reports.
func cases(r Run) []testCase {
	out := make([]testCase, 0, len(r.Scenarios)+2)
	for _, s := range r.Scenarios {
		out = append(out, scenarioCase(s))
	}
	if r.Infra != "" {
		out = append(out, testCase{
			class: harnessClass, name: infraCase, verdict: verdict.Error, expected: verdict.Pass,
			outcome: failed, message: firstLine(r.Infra), detail: strings.Split(r.Infra, "\n"),
		})
	}
	if n := len(r.KernelReports); n > 0 {
		out = append(out, testCase{
			class: harnessClass, name: kernelReportsCase, verdict: verdict.Fail, expected: verdict.Pass,
			outcome: failed, message: plural(n, "kernel report"), detail: r.KernelReports,
		})
	}
	return out
}

// scenarioCase classifies one scenario.
func scenarioCase(s Scenario) testCase {
	c := testCase{
		class: s.Area, name: s.Name, verdict: s.Verdict, expected: s.Expected, directive: s.Directive,
		timed: true, duration: s.Duration, attempts: s.Attempts, detail: s.Detail,
	}
	switch {
	case s.Verdict == verdict.Skip:
		c.outcome, c.message = skipped, orDefault(s.Reason, "skipped")
	case s.Verdict == verdict.Error:
		c.outcome, c.message = errored, orDefault(s.Reason, "scenario error")
	case s.Verdict != verdict.Pass && s.Verdict != verdict.Fail:
		c.outcome, c.message = errored, fmt.Sprintf("unknown verdict %q", s.Verdict)
	case s.Matches && s.Verdict == verdict.Fail:
		c.outcome, c.note = passed, expectedFailure(s)
	case s.Matches:
		c.outcome = passed
	case s.Verdict == verdict.Pass:
		c.outcome, c.message = failed, fmt.Sprintf("unexpected pass (expected %s)", s.Expected)
	case s.Directive == "TIMEOUT":
		c.outcome, c.message = failed, fmt.Sprintf("timed out (expected %s)", s.Expected)
		if s.Reason != "" {
			c.message += ": " + s.Reason
		}
	default:
		c.outcome, c.message = failed, fmt.Sprintf("failed (expected %s)", s.Expected)
		if s.Reason != "" {
			c.message += ": " + s.Reason
		}
	}
	return c
}

// shownVerdict is the verdict with the directive that qualifies it
// ("fail XFAIL", "pass XPASS", "fail TIMEOUT"); SKIP and ERROR repeat
// the verdict and are left out.
func (c testCase) shownVerdict() string {
	switch c.directive {
	case "", "SKIP", "ERROR":
		return string(c.verdict)
	}
	return string(c.verdict) + " " + c.directive
}

// expectedFailure describes a scenario that failed as declared.
func expectedFailure(s Scenario) string {
	note := "expected failure"
	if s.Why != "" {
		note += " (" + s.Why + ")"
	}
	if s.Reason != "" {
		note += ": " + s.Reason
	}
	return note
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// plural formats "1 thing" or "N things".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// oneLine replaces line breaks and tabs with spaces.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(s)
}
