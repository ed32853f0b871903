package report

import (
	"strconv"
	"time"

	"dioharness/harness/kbase"
	"dioharness/harness/verdict"
)

// Run is the outcome of one harness run against one kernel.
type Run struct {
	// Variant is the kernel base and flavour, or custom.
	Variant kbase.Variant
	// Kernel identifies the built kernel: release and commit.
	Kernel string
	// Source names the exact source: the Debian package and version
	// the base was imported from, or a custom tree's path.
	Source string
	// Note is a one-line remark on the source, e.g. that the archive
	// replaced the recorded point release; "" when there is none.
	Note string
	// Started is when the run began.
	Started time.Time
	// Duration is the wall time of the whole run.
	Duration time.Duration
	// Scenarios are the scenario outcomes in execution order.
	Scenarios []Scenario
	// Infra is the infrastructure error (boot failure, lost serial
	// channel, ...), or "" when the harness itself worked.
	Infra string
	// KernelReports quotes WARN/BUG/lockdep splats seen on the console.
	KernelReports []string
	// Boots is, per guest boot, how long the guest took from QEMU's
	// start to the agent's first line.
	Boots []time.Duration
	// HostLoad notes the host's load average where the host's time
	// matters to a result: a slow boot, a guest judged hung.
	HostLoad []string
	// Shard is "i/N" when the run was shard i of N of its selection
	// (package shard), "" for a whole selection or a merged run.
	Shard string
}

// Scenario is the outcome of one named scenario.
type Scenario struct {
	// Name identifies the scenario; it is unique within a run.
	Name string
	// Area groups scenarios (e.g. "mm", "fs"); JUnit classname.
	Area string
	// Verdict is verdict.Pass, verdict.Fail, verdict.Skip or verdict.Error.
	Verdict verdict.Verdict
	// Expected is the declared verdict for this flavour: verdict.Pass or verdict.Fail.
	Expected verdict.Verdict
	// Matches reports whether Verdict satisfies the declaration, as
	// decided by the harness.
	Matches bool
	// Directive is the KTAP directive the result carried: XFAIL (failed
	// as declared), XPASS (passed although declared to fail), TIMEOUT
	// (ended by a timeout: the agent's, or the host killed the guest),
	// SKIP, ERROR (no result); empty for a plain pass or failure.
	Directive string
	// Reason explains the verdict: skip reason or failure message.
	Reason string
	// Why is the declared reason the scenario fails on the base kernel;
	// it becomes MatrixRow.Why. Empty when no failure is declared.
	Why string
	// Duration is the time spent on the scenario, all attempts included.
	Duration time.Duration
	// Attempts is how many times the scenario was run.
	Attempts int
	// Detail holds diagnostic lines (e.g. the KTAP diagnostics).
	Detail []string
	// Confirmation is set for every TIMEOUT: whether the kernel
	// reported a bug or a hang while it ran (Reported), else what a
	// fresh guest that ran the scenario again made of it. A TIMEOUT
	// convicts the kernel only when Reported or Confirmed (Convicts).
	Confirmation Confirmation
}

// Confirmation is the fate of a TIMEOUT-only failure run again on a
// fresh guest.
type Confirmation string

// The confirmations.
const (
	// Reported: the kernel reported a bug or a hang (a hung task, a
	// stall) while the scenario ran; the TIMEOUT needs no second run.
	Reported Confirmation = "kernel report"
	// Confirmed: the scenario failed again (a TIMEOUT again, or any
	// failure or kernel report).
	Confirmed Confirmation = "confirmed"
	// Flaky: it matched its declaration on the fresh guest; the
	// TIMEOUT says nothing sure about the kernel.
	Flaky Confirmation = "flaky"
	// Unconfirmed: it could not run again (infrastructure, the limit
	// of fresh guests).
	Unconfirmed Confirmation = "unconfirmed"
)

// Convicts says whether s is evidence against the kernel: it does not
// match its declaration, and if it timed out, the kernel reported a
// problem while it ran or a fresh guest confirmed the failure. Mutants
// count a kill and bisect a bad commit only on scenarios that convict.
func (s Scenario) Convicts() bool {
	switch {
	case s.Matches || s.Verdict == verdict.Error || s.Verdict == verdict.Skip:
		return false
	case s.Directive != "TIMEOUT":
		return true
	}
	return s.Confirmation == Reported || s.Confirmation == Confirmed
}

// TimeoutUnconfirmed says whether s failed only by a TIMEOUT that
// nothing confirmed: no kernel report, no failure on a fresh guest.
func (s Scenario) TimeoutUnconfirmed() bool {
	return !s.Matches && s.Directive == "TIMEOUT" && !s.Convicts() && s.Verdict == verdict.Fail
}

// OnlyUnconfirmedTimeouts says whether what went wrong in r rests only
// on TIMEOUTs that no fresh guest confirmed: no scenario convicts the
// kernel, the kernel reported nothing, the harness had no error, and
// some scenario timed out. Such a run says nothing sure about the
// kernel: bisect skips the commit, mutants call the mutant flaky.
func (r Run) OnlyUnconfirmedTimeouts() bool {
	if r.Infra != "" || len(r.KernelReports) > 0 {
		return false
	}
	unconfirmed := false
	for _, s := range r.Scenarios {
		if s.Convicts() {
			return false
		}
		unconfirmed = unconfirmed || s.TimeoutUnconfirmed()
	}
	return unconfirmed
}

// Totals counts test cases the way the table summary and JUnit do.
type Totals struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

// String formats t as "N passed, N failed, N skipped".
func (t Totals) String() string {
	return strconv.Itoa(t.Passed) + " passed, " + strconv.Itoa(t.Failed) + " failed, " +
		strconv.Itoa(t.Skipped) + " skipped"
}

// Totals classifies the run's scenarios and pseudo test cases (see the
// package documentation) and counts them.
func (r Run) Totals() Totals {
	var t Totals
	for _, c := range cases(r) {
		switch c.outcome {
		case passed:
			t.Passed++
		case skipped:
			t.Skipped++
		default:
			t.Failed++
		}
	}
	return t
}
