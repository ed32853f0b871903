package ktap

import (
	"strconv"
	"strings"
	"time"
)

// Status is the outcome of a single test.
type Status int

const (
	// Incomplete means no result line was seen for the test: the output
	// ended (or the enclosing test finished) before it was reported. It is
	// the zero value and is only produced by the parser.
	Incomplete Status = iota
	// Pass is an "ok" result without a SKIP directive.
	Pass
	// Fail is a "not ok" result without a SKIP directive.
	Fail
	// Skip is any result carrying the SKIP directive.
	Skip
)

// String returns "incomplete", "pass", "fail" or "skip".
func (s Status) String() string {
	switch s {
	case Incomplete:
		return "incomplete"
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	case Skip:
		return "skip"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// Directive is the keyword following '#' on a result line.
type Directive string

// Directives accepted by KTAP version 1, plus XPASS, which kselftest
// prints for a test that passed although it was expected to fail. Only
// SKIP changes [Result].Status; the others are recorded so that callers
// can apply their own policy ([Count] applies kselftest's).
//
// kselftest writes an expected failure as "ok N name # XFAIL reason" and
// an unexpected pass as "ok N name # XPASS reason"; ktap.rst requires
// "not ok" with TIMEOUT and ERROR.
const (
	NoDirective Directive = ""
	DirSkip     Directive = "SKIP"
	DirTodo     Directive = "TODO"
	DirXFail    Directive = "XFAIL"
	DirXPass    Directive = "XPASS"
	DirTimeout  Directive = "TIMEOUT"
	DirError    Directive = "ERROR"
)

// Known reports whether d is NoDirective or one of the KTAP directives.
func (d Directive) Known() bool {
	switch d {
	case NoDirective, DirSkip, DirTodo, DirXFail, DirXPass, DirTimeout, DirError:
		return true
	}
	return false
}

// parseDirective maps a keyword (case-insensitive) to a Directive.
func parseDirective(word string) (Directive, bool) {
	d := Directive(strings.ToUpper(word))
	if d == NoDirective || !d.Known() {
		return NoDirective, false
	}
	return d, true
}

// Result is one test result, possibly with nested subtests.
type Result struct {
	// Number is the test number within its level, starting at 1.
	Number int
	// Name is the test description, unescaped.
	Name string
	// Status is derived from "ok"/"not ok" and the SKIP directive.
	Status Status
	// Directive is the directive keyword, if any.
	Directive Directive
	// Reason is the diagnostic data after the directive (or after '#' when
	// there is no directive), e.g. the skip reason.
	Reason string
	// Diag holds the diagnostic lines preceding the result line, without
	// the leading "# ". The duration line is not included.
	Diag []string
	// Duration comes from the "# duration_ms: N" diagnostic.
	Duration time.Duration
	// Subtests are the results of the nested KTAP document, if any.
	Subtests []Result
}

// NoPlan is the value of [Report].Plan when no plan line was seen.
const NoPlan = -1

// Report is the outcome of parsing one top-level KTAP document.
type Report struct {
	// Version is the version line, e.g. "KTAP version 1"; empty if the
	// document started with a plan line instead.
	Version string
	// Plan is N from the "1..N" plan line, or NoPlan.
	Plan int
	// Results holds the top-level results in the order they were seen.
	Results []Result
	// Complete is true when a plan was seen and every test 1..Plan has
	// exactly one result, with nothing left in progress.
	Complete bool
	// Missing lists the test numbers without a result line: 1..Plan, or
	// the gaps below the highest number seen when there is no plan.
	Missing []int
	// Partial is the test that was in progress when the input ended: its
	// diagnostics and subtests were seen but not its result line. Its
	// Status is Incomplete and Name is unknown. Nil if there is none.
	Partial *Result
	// Diag holds trailing diagnostics that belong to no test (seen after
	// the plan was satisfied), except a "Totals:" line.
	Diag []string
	// Totals is the trailing "# Totals: ..." line, or nil without one.
	Totals *Totals
	// Problems describes protocol violations that were tolerated, such as
	// out-of-sequence numbers or a second plan line.
	Problems []string
}
