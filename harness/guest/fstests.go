package guest

import (
	"context"
	"time"

	"dioharness/harness/fstests/checkrun"
	"dioharness/harness/guest/pid1"
	"dioharness/harness/guestproto"
	"dioharness/harness/ktap"
	"dioharness/harness/verdict"
)

// runFSTests runs a plan of fstests tests (plan.FSTests set): it writes
// the KTAP header first, so the host knows the agent is up while the
// disks are made, then one result per test, as for scenarios. A test
// whose tasks survived the kill leaves the guest unable to go on: the
// agent then says why and stops making progress, and the host kills
// the guest at its bound and boots a fresh one for the rest, as after a
// hang in a scenario.
func runFSTests(plan guestproto.Plan, w *ktap.Writer, exe string, kmsg func(string)) guestproto.Verdict {
	runs := plan.Remaining()
	w.Plan(len(runs))
	ctx := context.Background()
	sup := pid1.NewSupervisor()
	defer sup.Close()
	r, err := checkrun.Prepare(ctx, *plan.FSTests, plan.Disks, exe, sup)
	if err != nil {
		w.Diag("error: fstests: %v", err)
		return guestproto.VerdictAgentError
	}
	var results []ktap.Result
	verdict := guestproto.VerdictOK
	for i, e := range runs {
		n := i + 1
		kmsg(guestproto.KmsgStart(n, e.Name))
		w.Diag("%s", guestproto.StartDiag(e.Name))
		res := r.Run(ctx, e.Name)
		kr := fstestsResult(res)
		kr.Number = n
		if res.Stuck {
			for _, d := range append([]string{res.Reason}, res.Detail...) {
				w.Diag("%s", d)
			}
			// The host's bound on this test expires and it kills
			// the guest; nothing here may look like progress.
			select {}
		}
		results = append(results, kr)
		if kr.Status == ktap.Fail {
			verdict = guestproto.VerdictMismatch
		}
		w.Result(kr)
		kmsg(guestproto.KmsgEnd(n, e.Name, res.Verdict))
	}
	w.Totals(ktap.Count(results))
	if err := r.Close(); err != nil {
		w.Diag("unmount the results disk: %v", err)
	}
	return verdict
}

// fstestsResult is a test's KTAP result: ok, SKIP with check's reason
// for a test that did not run, not ok with its failure, TIMEOUT.
func fstestsResult(res checkrun.Result) ktap.Result {
	r := ktap.Result{Name: res.Test, Diag: res.Detail, Duration: res.Duration.Round(time.Millisecond), Reason: res.Reason}
	switch res.Verdict {
	case verdict.Pass:
		r.Status, r.Reason = ktap.Pass, ""
	case verdict.Skip:
		r.Status = ktap.Skip
	case verdict.Timeout:
		r.Status, r.Directive = ktap.Fail, ktap.DirTimeout
	default:
		r.Status = ktap.Fail
	}
	return r
}
