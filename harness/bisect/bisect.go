// Package bisect finds the first commit of a linear range on which a
// scenario fails, in the manner of syzkaller's pkg/bisect: the endpoints
// are checked first, every commit is tested several times and judged by
// majority, trouble that says nothing about the commit (build, boot,
// harness) is a skip and never blamed, and the answer is confirmed by
// reverting the culprit on the bad end. The search itself is ours, over
// the first-parent list of commits, so that the decisions can be tested
// with a fake Env.
package bisect

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Verdict is the judgement of one run, or of a commit.
type Verdict string

// Verdicts, as git bisect run has them.
const (
	Good Verdict = "good"
	Bad  Verdict = "bad"
	// Skip: no verdict on the commit (it did not build or boot, the
	// harness failed, the scenario was skipped or failed only by a
	// TIMEOUT nothing confirmed, or its runs disagreed).
	Skip Verdict = "skip"
)

// Exit statuses of harness run and what they mean for a commit: the
// harness's own (testrun.Exit*) mapped the way git bisect run reads
// them. A hang or panic after the guest booted is already a failed
// scenario (exit 1): the kernel's fault, so bad.
const (
	ExitGood  = 0
	ExitBad   = 1
	ExitInfra = 2
	// ExitSkip is git bisect run's "cannot test this commit".
	ExitSkip = 125
)

// VerdictOfExit maps a harness exit status to a verdict. skipped says
// the scenario itself reported SKIP (a probe that could not attach).
func VerdictOfExit(exit int, skipped bool) Verdict {
	switch {
	case skipped:
		return Skip
	case exit == ExitGood:
		return Good
	case exit == ExitBad:
		return Bad
	}
	return Skip
}

// Commit is one commit of the range.
type Commit struct {
	Hash    string `json:"hash"`
	Subject string `json:"subject"`
}

// Build is one commit's kernel build.
type Build struct {
	// Err is the build failure, or "".
	Err string
	// Image identifies the built kernel image (its SHA-256): a culprit
	// whose image equals its parent's cannot have changed the kernel.
	Image string
	// Log is the build log's path; Seconds the build's wall time.
	Log     string
	Seconds float64
}

// VerdictOf judges one run: a run whose only failure is a TIMEOUT that
// nothing confirmed (no kernel report, no failure on a fresh guest) is a
// skip, never bad.
func VerdictOf(r Run) Verdict {
	if r.Unconfirmed {
		return Skip
	}
	return VerdictOfExit(r.Exit, r.Skipped)
}

// Run is one boot of the scenario on a built commit.
type Run struct {
	// Exit is the harness's exit status; Skipped says the scenario
	// reported SKIP.
	Exit    int
	Skipped bool
	// Unconfirmed says the run failed only by a TIMEOUT that nothing
	// confirmed (report.Run.OnlyUnconfirmedTimeouts).
	Unconfirmed bool
	// Evidence is the one-line reason (the scenario's failure message,
	// the infrastructure error).
	Evidence string
	// Log is the run's results directory.
	Log     string
	Seconds float64
}

// Env is what a bisection needs from the world: the commits of the
// range, a build of one commit, one boot with the scenario, and a
// revert of the culprit on the bad end. The harness's Env does that in
// a kernel git tree; the tests use a fake.
type Env interface {
	// Commits lists good..bad oldest first, first parent only: bad is
	// the last element, good is not in the list.
	Commits(ctx context.Context, good, bad string) ([]Commit, error)
	Build(ctx context.Context, c Commit) Build
	Run(ctx context.Context, c Commit) Run
	// Revert makes a commit on top of bad that reverts culprit.
	Revert(ctx context.Context, bad, culprit Commit) (Commit, error)
}

// Outcome is how a bisection ended.
type Outcome string

// Every outcome of a bisection.
const (
	// Found: one culprit; see Result.Confirmed and Result.Suspect.
	Found Outcome = "culprit"
	// Inconclusive: skipped commits hide the culprit; Result.Range
	// lists the candidates.
	Inconclusive Outcome = "inconclusive"
	// GoodNotGood: the GOOD endpoint does not pass (or cannot be
	// tested): refused, nothing bisected.
	GoodNotGood Outcome = "good endpoint does not pass"
	// BadNotBad: the BAD endpoint does not fail: refused.
	BadNotBad Outcome = "bad endpoint does not fail"
	// Failed: the range could not be listed.
	Failed Outcome = "error"
)

// Tested is one commit's verdict with its evidence.
type Tested struct {
	Commit  Commit  `json:"commit"`
	Verdict Verdict `json:"verdict"`
	// Role is "good endpoint", "bad endpoint", "step", "revert" or
	// "parent" (built only, for the suspect check).
	Role string `json:"role"`
	// Why explains the verdict: majority counts, or the build error.
	Why          string   `json:"why"`
	BuildError   string   `json:"build_error,omitempty"`
	Image        string   `json:"image,omitempty"`
	BuildLog     string   `json:"build_log,omitempty"`
	BuildSeconds float64  `json:"build_seconds"`
	Runs         []RunLog `json:"runs,omitempty"`
}

// RunLog is one run of a tested commit.
type RunLog struct {
	Exit     int     `json:"exit"`
	Verdict  Verdict `json:"verdict"`
	Evidence string  `json:"evidence,omitempty"`
	Log      string  `json:"log,omitempty"`
	Seconds  float64 `json:"seconds"`
}

// Result is a finished bisection.
type Result struct {
	Outcome Outcome `json:"outcome"`
	// Culprit is the first bad commit (Found).
	Culprit *Commit `json:"culprit,omitempty"`
	// Range are the commits one of which is the culprit (Inconclusive).
	Range []Commit `json:"range,omitempty"`
	// Confirmed: the revert of the culprit on BAD passes.
	Confirmed bool `json:"confirmed"`
	// Suspect: the culprit's kernel image is byte-identical to its
	// parent's, so it cannot be what changed the result (a flaky
	// scenario, or a build that does not depend on the change).
	Suspect bool   `json:"suspect"`
	Error   string `json:"error,omitempty"`
	// Tested lists every commit tested, in test order.
	Tested []Tested `json:"tested"`
	// Steps counts the commits tested inside the range.
	Steps   int     `json:"steps"`
	Seconds float64 `json:"seconds"`
	// ToCulprit is the time from the start until the culprit was named
	// (before the revert and suspect checks).
	ToCulprit float64 `json:"seconds_to_culprit"`
}

// Options tune a bisection.
type Options struct {
	// Runs per commit, judged by majority; default 3.
	Runs int
	// Log receives one line per decision.
	Log io.Writer
}

// Bisect finds the first bad commit of good..bad.
func Bisect(ctx context.Context, env Env, good, bad string, o Options) Result {
	if o.Runs <= 0 {
		o.Runs = 3
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	start := time.Now()
	b := &bisector{env: env, o: o}
	res := b.run(ctx, good, bad, start)
	res.Tested = b.tested
	res.Seconds = time.Since(start).Round(time.Second).Seconds()
	return res
}

type bisector struct {
	env    Env
	o      Options
	tested []Tested
}

func (b *bisector) run(ctx context.Context, good, bad string, start time.Time) Result {
	commits, err := b.env.Commits(ctx, good, bad)
	if err != nil {
		return Result{Outcome: Failed, Error: err.Error()}
	}
	if len(commits) == 0 {
		return Result{Outcome: Failed, Error: fmt.Sprintf("no commit in %s..%s: BAD must descend from GOOD", good, bad)}
	}
	// The list is good (index 0, not a commit of the range) then the
	// range; lo is the last known good index, hi the first known bad.
	all := append([]Commit{{Hash: good, Subject: "(GOOD)"}}, commits...)
	if t := b.test(ctx, all[0], "good endpoint"); t.Verdict != Good {
		return Result{Outcome: GoodNotGood, Error: fmt.Sprintf("GOOD %s is %s, not good: %s", short(good), t.Verdict, t.Why)}
	}
	last := len(all) - 1
	if t := b.test(ctx, all[last], "bad endpoint"); t.Verdict != Bad {
		return Result{Outcome: BadNotBad, Error: fmt.Sprintf("BAD %s is %s, not bad: %s", short(bad), t.Verdict, t.Why)}
	}
	lo, hi := 0, last
	skipped := map[int]bool{}
	steps := 0
	for hi-lo > 1 {
		i, ok := pick(lo, hi, skipped)
		if !ok {
			break
		}
		steps++
		t := b.test(ctx, all[i], "step")
		fmt.Fprintf(b.o.Log, "bisect: %s %s: %s (%s)\n", short(all[i].Hash), all[i].Subject, t.Verdict, t.Why)
		switch t.Verdict {
		case Good:
			lo = i
		case Bad:
			hi = i
		default:
			skipped[i] = true
		}
		if ctx.Err() != nil {
			return Result{Outcome: Failed, Error: ctx.Err().Error(), Steps: steps}
		}
	}
	if hi-lo > 1 {
		// Every commit between is skipped: the culprit is one of them
		// or hi.
		return Result{Outcome: Inconclusive, Range: all[lo+1 : hi+1], Steps: steps}
	}
	culprit := all[hi]
	res := Result{Outcome: Found, Culprit: &culprit, Steps: steps, ToCulprit: time.Since(start).Round(time.Second).Seconds()}
	fmt.Fprintf(b.o.Log, "bisect: culprit %s %s\n", short(culprit.Hash), culprit.Subject)
	res.Suspect = b.suspect(ctx, all[hi-1], culprit)
	if rev, err := b.env.Revert(ctx, all[last], culprit); err != nil {
		res.Error = fmt.Sprintf("revert of the culprit on BAD: %v", err)
	} else {
		t := b.test(ctx, rev, "revert")
		res.Confirmed = t.Verdict == Good
		if !res.Confirmed {
			res.Error = fmt.Sprintf("BAD with the culprit reverted is %s, not good: %s", t.Verdict, t.Why)
		}
	}
	return res
}

// pick chooses the untested commit nearest the middle of (lo, hi) that
// is not skipped, alternating below and above the middle as git bisect
// does when it skips.
func pick(lo, hi int, skipped map[int]bool) (int, bool) {
	mid := (lo + hi) / 2
	for d := 0; d < hi-lo; d++ {
		for _, i := range []int{mid - d, mid + d} {
			if i > lo && i < hi && !skipped[i] {
				return i, true
			}
		}
	}
	return 0, false
}

// suspect says whether the culprit's image is byte-identical to its
// parent's, building the parent if it was not built yet.
func (b *bisector) suspect(ctx context.Context, parent, culprit Commit) bool {
	img := func(c Commit, role string) string {
		for _, t := range b.tested {
			if t.Commit.Hash == c.Hash && t.Image != "" {
				return t.Image
			}
		}
		bd := b.env.Build(ctx, c)
		b.tested = append(b.tested, Tested{Commit: c, Verdict: Skip, Role: role, Why: "built for the suspect check, not run",
			BuildError: bd.Err, Image: bd.Image, BuildLog: bd.Log, BuildSeconds: bd.Seconds})
		return bd.Image
	}
	p, c := img(parent, "parent"), img(culprit, "culprit")
	return p != "" && p == c
}

// test builds c and runs the scenario up to Runs times, stopping as
// soon as one verdict has a majority.
func (b *bisector) test(ctx context.Context, c Commit, role string) Tested {
	t := Tested{Commit: c, Role: role}
	bd := b.env.Build(ctx, c)
	t.BuildError, t.Image, t.BuildLog, t.BuildSeconds = bd.Err, bd.Image, bd.Log, bd.Seconds
	if bd.Err != "" {
		t.Verdict, t.Why = Skip, "does not build: "+firstLine(bd.Err)
		b.tested = append(b.tested, t)
		return t
	}
	need := b.o.Runs/2 + 1
	count := map[Verdict]int{}
	for n := 0; n < b.o.Runs && count[Good] < need && count[Bad] < need; n++ {
		// Stop early once no verdict can reach a majority any more.
		if left := b.o.Runs - n; count[Good]+left < need && count[Bad]+left < need {
			break
		}
		r := b.env.Run(ctx, c)
		v := VerdictOf(r)
		count[v]++
		t.Runs = append(t.Runs, RunLog{Exit: r.Exit, Verdict: v, Evidence: firstLine(r.Evidence), Log: r.Log, Seconds: r.Seconds})
		if ctx.Err() != nil {
			break
		}
	}
	t.Verdict = Majority(count, b.o.Runs)
	t.Why = fmt.Sprintf("%d good, %d bad, %d skip of %d runs", count[Good], count[Bad], count[Skip], len(t.Runs))
	b.tested = append(b.tested, t)
	return t
}

// Majority is the verdict more than half of runs runs gave, or Skip.
func Majority(count map[Verdict]int, runs int) Verdict {
	for _, v := range []Verdict{Good, Bad} {
		if count[v] > runs/2 {
			return v
		}
	}
	return Skip
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
