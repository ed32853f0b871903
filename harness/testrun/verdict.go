package testrun

import (
	"fmt"
	"io"

	"dioharness/harness/guestproto"
	"dioharness/harness/ktap"
	"dioharness/harness/report"
	"dioharness/harness/verdict"
	"dioharness/harness/vm"
)

// hostResult is the host's final KTAP result for one slot: the agent's
// result, unless the kernel reported a bug while the scenario ran (then
// it failed, whatever the agent saw), or the guest died in it (TIMEOUT
// when the host killed it, else a failure naming the kernel report),
// or it never ran (ERROR).
func hostResult(sl slot) ktap.Result {
	switch {
	case sl.fault != "":
		r := ktap.Result{Name: sl.entry.Name, Status: ktap.Fail, Reason: sl.fault, Duration: sl.ran}
		if sl.timeout {
			r.Directive = ktap.DirTimeout
		}
		r.Diag = reportTitles(sl.reports)
		return confirmedResult(r, sl.confirm)
	case sl.result == nil:
		return ktap.Result{Name: sl.entry.Name, Status: ktap.Fail, Directive: ktap.DirError, Reason: sl.notRun}
	}
	r := *sl.result
	r.Diag = append([]string{}, r.Diag...)
	if len(sl.reports) > 0 {
		r.Diag = append(r.Diag, reportTitles(sl.reports)...)
		r.Status, r.Reason = ktap.Fail, "kernel report: "+reportTitle(sl.reports[0])
		if r.Directive != ktap.DirTimeout {
			r.Directive = ktap.NoDirective
		}
	}
	return confirmedResult(r, sl.confirm)
}

// confirmedResult adds to a TIMEOUT-only failure what its second run on
// a fresh guest made of it: a diagnostic, and the verdict in the
// reason ("(confirmed: it timed out again on a fresh guest (boot 3))").
func confirmedResult(r ktap.Result, c *confirmation) ktap.Result {
	if c == nil {
		return r
	}
	r.Diag = append(r.Diag, fmt.Sprintf("timeout %s: %s", c.state, c.how))
	r.Diag = append(r.Diag, reportTitles(c.reports)...)
	r.Reason += fmt.Sprintf(" (%s: %s)", c.state, c.how)
	return r
}

func reportTitles(reports []vm.Report) []string {
	var d []string
	for _, r := range reports {
		d = append(d, "kernel report: "+reportTitle(r))
	}
	return d
}

// reportTitle is a report's title, with the function a reported hang
// waits in.
func reportTitle(r vm.Report) string {
	if r.Blocked != "" {
		return r.Title + " (blocked in " + r.Blocked + ")"
	}
	return r.Title
}

// scenarioResult turns the host's KTAP result for one planned run into
// the report's verdict. It matches its declaration when it passed and
// was not declared to fail, failed as declared (XFAIL), or was skipped;
// a plain "not ok" never matches: the agent reports a declared failure
// as XFAIL, so "not ok" is an unexpected failure, a timeout or a kernel
// report.
func scenarioResult(e guestproto.Entry, area string, r ktap.Result) report.Scenario {
	s := report.Scenario{
		Name:      e.Name,
		Area:      area,
		Expected:  verdict.Pass,
		Directive: string(r.Directive),
		Reason:    r.Reason,
		Duration:  r.Duration,
		Attempts:  1,
	}
	if e.XFail {
		s.Expected, s.Why = verdict.Fail, e.Reason
	}
	failure := ""
	for _, d := range r.Diag {
		if _, ok := guestproto.ParseStart(d); ok {
			continue
		}
		if n, ok := guestproto.ParseAttempts(d); ok {
			s.Attempts = n
		}
		if f, ok := guestproto.ParseFailure(d); ok {
			failure = f
		}
		s.Detail = append(s.Detail, d)
	}
	switch {
	case r.Status == ktap.Incomplete || r.Directive == ktap.DirError:
		s.Verdict = verdict.Error
	case r.Status == ktap.Skip:
		s.Verdict, s.Matches = verdict.Skip, true
	case r.Directive == ktap.DirXFail:
		s.Verdict, s.Matches = verdict.Fail, e.XFail
		s.Reason = "as declared: " + e.Reason
		if failure != "" {
			s.Reason += " (" + failure + ")"
		}
	case r.Directive == ktap.DirXPass:
		s.Verdict = verdict.Pass
	case r.Status == ktap.Fail:
		s.Verdict = verdict.Fail
	default:
		s.Verdict, s.Matches = verdict.Pass, !e.XFail
	}
	return s
}

// writeKTAP writes the run's results as one KTAP document, numbered
// across boots, with the host's verdicts and kselftest's Totals line.
// A result that opens a fresh guest says so in a diagnostic.
func writeKTAP(w io.Writer, o outcome) error {
	kw := ktap.NewWriter(w)
	if err := kw.Plan(len(o.slots)); err != nil {
		return err
	}
	opens := map[int]bootSummary{}
	for _, b := range o.boots {
		// A boot that confirms a TIMEOUT counts its slots apart (its
		// result's diagnostic names it), not among the run's.
		if b.n > 1 && !b.confirms {
			opens[b.first] = b
		}
	}
	results := make([]ktap.Result, 0, len(o.slots))
	for i, sl := range o.slots {
		r := hostResult(sl)
		r.Number = i + 1
		if b, ok := opens[i]; ok {
			r.Diag = append([]string{fmt.Sprintf("boot %d: a fresh guest after the fault in %s (%s)",
				b.n, o.slots[i-1].entry.Name, consoleName(b.n))}, r.Diag...)
		}
		if err := kw.Result(r); err != nil {
			return err
		}
		results = append(results, r)
	}
	return kw.Totals(ktap.Count(results))
}

// consoleName is the console log of boot n: console.log, console-2.log...
func consoleName(n int) string { return logName("console", n) }

// agentName is the raw agent stream of boot n: agent.log, agent-2.log...
func agentName(n int) string { return logName("agent", n) }

func logName(base string, n int) string {
	if n <= 1 {
		return base + ".log"
	}
	return fmt.Sprintf("%s-%d.log", base, n)
}
