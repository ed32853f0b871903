package testrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"dioharness/harness/guestproto"
	"dioharness/harness/ktap"
	"dioharness/harness/report"
	"dioharness/harness/vm"
)

// MaxFaultReboots bounds how many fresh guests one run boots after the
// kernel hung or panicked in a scenario. A kernel that faults in every
// scenario is answered after a few boots; the scenarios left are
// recorded as not run.
const MaxFaultReboots = 4

// bootFunc boots the n-th guest of a run (1-based) to run plan from
// plan.Start on.
type bootFunc func(ctx context.Context, n int, plan guestproto.Plan) (guest, error)

// session runs one plan over as many boots as scenario faults need.
type session struct {
	plan      guestproto.Plan // Start is 0: the whole run
	boot      bootFunc
	timeouts  Timeouts
	maxFaults int // reboots allowed after a fault
	out       io.Writer
	label     string
	// confirm: a scenario whose failure rests only on a TIMEOUT is run
	// again on a fresh guest before the failure counts.
	confirm bool
	// firstBoot numbers this session's first boot (0 counts as 1): a
	// confirming session goes on from the boots before it.
	firstBoot int
}

// slot is one planned run of a scenario and what became of it.
type slot struct {
	entry guestproto.Entry
	// result is the agent's result, nil when it sent none.
	result *ktap.Result
	// boot is the boot that ran it (1-based); 0 when it never started.
	boot int
	// fault says why the guest died while it ran, when it did: timeout
	// (the host killed the guest) or a kernel report.
	fault   string
	timeout bool
	// ran is the host's measure of a faulted scenario's time.
	ran time.Duration
	// reports are the kernel reports printed while it ran.
	reports []vm.Report
	// notRun explains a slot that never ran.
	notRun string
	// confirm is what a fresh guest made of a failure that rested only
	// on a TIMEOUT (timeoutOnly); nil for any other slot.
	confirm *confirmation
}

// confirmation is a TIMEOUT-only failure run again on a fresh guest.
type confirmation struct {
	// boot ran it again (0: it could not run again).
	boot int
	// state is report.Confirmed (it failed again), report.Flaky (it
	// matched its declaration) or report.Unconfirmed (it could not
	// run again).
	state report.Confirmation
	// how says what happened, in a few words.
	how string
	// reports are the kernel reports of the run again: the kernel's,
	// whatever the first run said.
	reports []vm.Report
}

// timeoutOnly says whether a slot's failure rests only on a TIMEOUT: the
// host ended the guest in it, or the agent's own timeout ended it, and
// the kernel reported nothing while it ran. Such a failure may be the
// kernel's (a deadlock that a race reaches) or the host's (a guest
// starved or stalled under TCG): it needs a second run to count.
func timeoutOnly(sl slot) bool {
	switch {
	case len(sl.reports) > 0:
		return false
	case sl.timeout:
		return true
	}
	return sl.result != nil && sl.result.Directive == ktap.DirTimeout
}

// bootSummary is one boot, for the log and the report.
type bootSummary struct {
	n       int
	bootDur time.Duration
	first   int // index of its first slot
	ran     int // slots it ran, a faulted one included
	lines   []string
	// load is the host's load average when the boot was slow.
	load string
	// hangRec and frames are the evidence of a hang (bootResult).
	hangRec *hangRecord
	frames  []*frame
	// confirms: the boot ran scenarios again to confirm a TIMEOUT.
	confirms bool
}

// outcome is a whole run as the session saw it.
type outcome struct {
	slots []slot
	boots []bootSummary
	// reports are kernel reports outside any scenario (boot, between
	// scenarios, after the last).
	reports []vm.Report
	faults  int
	// infra is the infrastructure error that stopped the run, if any.
	infra error
}

// run boots guests until every planned run has a result, a fault limit
// is reached, or the infrastructure fails.
func (s *session) run(ctx context.Context) outcome {
	runs := s.plan.Runs()
	o := outcome{slots: make([]slot, len(runs))}
	for i, e := range runs {
		o.slots[i].entry = e
	}
	next := 0
	for n := max(s.firstBoot, 1); next < len(runs); n++ {
		p := s.plan
		p.Start = next
		g, err := s.boot(ctx, n, p)
		if err != nil {
			o.infra = fmt.Errorf("boot %d: %w", n, err)
			break
		}
		label := s.label
		if n > 1 {
			label = fmt.Sprintf("%s boot %d", s.label, n)
		}
		b := watch(g, s.timeouts, s.out, label)
		g.Close()
		o.boots = append(o.boots, bootSummary{n: n, bootDur: b.bootDur, first: next, lines: b.lines,
			load: b.load, hangRec: b.hangRec, frames: b.frames, confirms: s.firstBoot > 0})
		var faulted bool
		next, faulted, err = settle(&o, n, next, b)
		o.boots[len(o.boots)-1].ran = next - o.boots[len(o.boots)-1].first
		if err != nil {
			o.infra = fmt.Errorf("boot %d: %w (console kept in %s)", n, err, consoleName(n))
			break
		}
		if !faulted {
			continue
		}
		o.faults++
		if next == len(runs) {
			break
		}
		if o.faults > s.maxFaults {
			for i := next; i < len(runs); i++ {
				o.slots[i].notRun = fmt.Sprintf("not run: the kernel faulted in %d scenarios, the limit of fresh guests (%d) was reached", o.faults, s.maxFaults)
			}
			break
		}
		fmt.Fprintf(s.out, "%s: %s: %s; booting a fresh guest for the remaining %d\n",
			s.label, o.slots[next-1].entry.Name, o.slots[next-1].fault, len(runs)-next)
	}
	if o.infra != nil {
		for i := range o.slots {
			if o.slots[i].result == nil && o.slots[i].fault == "" && o.slots[i].notRun == "" {
				o.slots[i].notRun = "no result from the guest: " + o.infra.Error()
			}
		}
		return o
	}
	if s.confirm {
		s.confirmTimeouts(ctx, &o)
	}
	return o
}

// agentSpoke says whether any boot of the run reached its agent.
func (o outcome) agentSpoke() bool {
	for _, b := range o.boots {
		if b.bootDur > 0 {
			return true
		}
	}
	return false
}

// confirmTimeouts runs every scenario whose failure rests only on a
// TIMEOUT once more, in fresh guests after the run's, and records what
// became of it in each such slot.
func (s *session) confirmTimeouts(ctx context.Context, o *outcome) {
	var entries []guestproto.Entry
	seen := map[string]bool{}
	for _, sl := range o.slots {
		if timeoutOnly(sl) && !seen[sl.entry.Name] {
			seen[sl.entry.Name] = true
			entries = append(entries, sl.entry)
		}
	}
	if len(entries) == 0 {
		return
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name
	}
	fmt.Fprintf(s.out, "%s: %s failed only by a TIMEOUT: running it again on a fresh guest before it counts\n", s.label, strings.Join(names, ", "))
	cs := *s
	cs.plan.Scenarios, cs.plan.Repeat, cs.plan.Start = entries, 1, 0
	cs.confirm = false
	cs.firstBoot = max(s.firstBoot, 1) + len(o.boots)
	cs.label = s.label + " (confirming)"
	co := cs.run(ctx)
	o.boots = append(o.boots, co.boots...)
	o.reports = append(o.reports, co.reports...)
	again := map[string]slot{}
	for _, sl := range co.slots {
		again[sl.entry.Name] = sl
	}
	for i := range o.slots {
		if timeoutOnly(o.slots[i]) {
			o.slots[i].confirm = confirmed(again[o.slots[i].entry.Name], co.infra)
		}
	}
}

// confirmed judges the second run of a TIMEOUT-only failure: it
// confirms the failure when it does not match its declaration either
// (a TIMEOUT again, any other failure, a kernel report).
func confirmed(again slot, infra error) *confirmation {
	c := &confirmation{boot: again.boot, reports: again.reports}
	r := hostResult(again)
	switch {
	case again.boot == 0 || r.Directive == ktap.DirError:
		c.state = report.Unconfirmed
		c.how = "could not run it again"
		if again.notRun != "" {
			c.how += ": " + again.notRun
		} else if infra != nil {
			c.how += ": " + infra.Error()
		}
	case scenarioResult(again.entry, "", r).Matches:
		c.state, c.how = report.Flaky, fmt.Sprintf("it matched its declaration on a fresh guest (boot %d)", again.boot)
	case r.Directive == ktap.DirTimeout && len(again.reports) == 0:
		c.state, c.how = report.Confirmed, fmt.Sprintf("it timed out again on a fresh guest (boot %d)", again.boot)
	default:
		c.state, c.how = report.Confirmed, fmt.Sprintf("it failed again on a fresh guest (boot %d): %s", again.boot, r.Reason)
	}
	return c
}

// settle records what boot n (which started at slot first) ran, and
// decides how it ended. It returns the slot the next boot starts at and
// whether the boot ended in a scenario fault; an error is an
// infrastructure problem.
func settle(o *outcome, n, first int, b bootResult) (next int, faulted bool, err error) {
	if !b.booted {
		why := "the guest agent never started"
		switch {
		case b.hang != "":
			why += ": " + b.hang
		case b.waitErr != nil:
			why += ": " + b.waitErr.Error()
		}
		o.reports = append(o.reports, b.reports...)
		return first, false, errors.New(why)
	}
	left := len(o.slots) - first
	if b.plan != ktap.NoPlan && b.plan != left {
		return first, false, fmt.Errorf("the agent planned %d scenarios, the host %d", b.plan, left)
	}
	if len(b.results) > left {
		return first, false, fmt.Errorf("the agent reported %d results for %d planned scenarios", len(b.results), left)
	}
	for i, r := range b.results {
		sl := &o.slots[first+i]
		if r.Name != sl.entry.Name {
			return first, false, fmt.Errorf("agent result %d is %q, the plan says %q", i+1, r.Name, sl.entry.Name)
		}
		r := r
		sl.result, sl.boot = &r, n
	}
	next = first + len(b.results)
	// Reports carry the boot-local test number of the scenario that
	// was running; before the first scenario it is 0.
	for _, r := range b.reports {
		if i := first + r.Test - 1; r.Test > 0 && i < len(o.slots) && i <= next {
			o.slots[i].reports = append(o.slots[i].reports, r)
			continue
		}
		o.reports = append(o.reports, r)
	}
	if next == len(o.slots) {
		switch {
		case b.hang != "":
			return next, false, fmt.Errorf("guest hung after the last scenario: %s", b.hang)
		case b.waitErr == nil && b.verdict == guestproto.VerdictAgentError:
			return next, false, errors.New("the guest agent reported an error after the last scenario")
		}
		return next, false, nil
	}
	// The guest ended before the plan did: the scenario that was
	// running (or due) is the one the kernel failed in.
	sl := &o.slots[next]
	if b.started != "" && b.started != sl.entry.Name {
		return next, false, fmt.Errorf("the agent started %q, the plan says %q", b.started, sl.entry.Name)
	}
	if b.waitErr == nil && b.verdict == guestproto.VerdictAgentError {
		return next, false, errors.New("the guest agent could not run the plan (see the agent log)")
	}
	announced := b.started != ""
	switch {
	case b.hang != "":
		sl.fault, sl.timeout = "killed by the host: "+b.hang+b.hangRec.blocked(), true
	case len(sl.reports) > 0:
		sl.fault = "the guest died: kernel report: " + sl.reports[0].Title
	case b.panicked || len(unattributed(b.reports)) > 0:
		// The console lost the scenario's kmsg marker (a loaded host
		// drops serial output): the report that killed the guest is
		// still the first one that names no scenario of this boot.
		sl.fault = "the guest died: kernel panic"
		if u := unattributed(b.reports); len(u) > 0 {
			sl.fault = "the guest died: kernel report: " + u[0].Title + " (its kmsg marker was lost)"
		}
	default:
		why := "the guest ended during " + sl.entry.Name + " without a kernel report"
		if b.waitErr != nil {
			why += ": " + b.waitErr.Error()
		}
		return next, false, errors.New(why)
	}
	if !announced {
		sl.fault += " (before the agent announced the scenario)"
	}
	sl.boot, sl.ran = n, b.startedFor
	return next + 1, true, nil
}

// unattributed returns the reports that came before any kmsg marker.
func unattributed(reports []vm.Report) []vm.Report {
	var out []vm.Report
	for _, r := range reports {
		if r.Test == 0 {
			out = append(out, r)
		}
	}
	return out
}
