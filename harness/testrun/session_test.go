package testrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/catalogue"
	"dioharness/harness/guestproto"
	"dioharness/harness/kbase"
	"dioharness/harness/ktap"
	"dioharness/harness/report"
	"dioharness/harness/verdict"
	"dioharness/harness/vm"
)

// fakeGuest plays one boot from a script: agent lines, console lines,
// and how it ends. It needs no QEMU.
type fakeGuest struct {
	agent   chan string
	console *vm.Console
	killed  chan struct{}
	done    chan struct{}
	once    sync.Once
	verdict guestproto.Verdict
	err     error
}

// step is one thing a fake guest does.
type step struct {
	agent   string // a line on the agent channel
	console string // a line on the kernel console
	hang    bool   // stop and wait to be killed
	exit    *guestproto.Verdict
	die     string // QEMU ends without a verdict, with this error
}

func agent(lines ...string) []step {
	var s []step
	for _, l := range lines {
		s = append(s, step{agent: l})
	}
	return s
}

func console(lines ...string) []step {
	var s []step
	for _, l := range lines {
		s = append(s, step{console: l})
	}
	return s
}

func exitWith(v guestproto.Verdict) step { return step{exit: &v} }

func play(steps []step) *fakeGuest {
	g := &fakeGuest{agent: make(chan string), console: vm.NewConsole(), killed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(g.done)
		defer close(g.agent)
		for _, s := range steps {
			switch {
			case s.agent != "":
				select {
				case g.agent <- s.agent:
				case <-g.killed:
					g.err = errors.New("signal: killed")
					return
				}
			case s.console != "":
				g.console.Feed(s.console)
			case s.hang:
				<-g.killed
				g.err = errors.New("signal: killed")
				return
			case s.exit != nil:
				g.verdict = *s.exit
				return
			case s.die != "":
				g.err = errors.New(s.die)
				return
			}
		}
		g.err = errors.New("script ended without an exit")
	}()
	return g
}

func (g *fakeGuest) Agent() <-chan string { return g.agent }
func (g *fakeGuest) Console() *vm.Console { return g.console }
func (g *fakeGuest) Kill()                { g.once.Do(func() { close(g.killed) }) }
func (g *fakeGuest) Wait() (guestproto.Verdict, error) {
	<-g.done
	return g.verdict, g.err
}
func (g *fakeGuest) Close() error { g.Kill(); <-g.done; return nil }

// agentRun is what the agent writes for the runs it is given, each
// result decided by outcome (ok, fail, xfail, hang, panic, warn).
func agentRun(plan guestproto.Plan, outcome map[string]string) []step {
	runs := plan.Remaining()
	s := agent("KTAP version 1", fmt.Sprintf("1..%d", len(runs)))
	for i, e := range runs {
		n := i + 1
		s = append(s, console(guestproto.KmsgStart(n, e.Name))...)
		s = append(s, agent("# "+guestproto.StartDiag(e.Name))...)
		switch outcome[e.Name] {
		case "hang":
			return append(s, step{hang: true})
		case "panic":
			s = append(s, console("BUG: kernel NULL pointer dereference, address: 0000000000000000",
				"Oops: 0002 [#1] PREEMPT SMP",
				"Kernel panic - not syncing: Fatal exception",
				"---[ end Kernel panic - not syncing: Fatal exception ]---")...)
			return append(s, step{die: "guest rebooted or powered off without reporting a verdict (kernel panic?)"})
		case "die":
			return append(s, step{die: "qemu: exit status 1: qemu crashed"})
		case "warn":
			s = append(s, console("------------[ cut here ]------------", "WARNING: CPU: 0 PID: 1 at fs/fuse/file.c:1 f+0x1/0x2", "---[ end trace 0000000000000000 ]---")...)
			s = append(s, agent(fmt.Sprintf("ok %d %s", n, e.Name))...)
		case "fail":
			s = append(s, agent(fmt.Sprintf("not ok %d %s # broken", n, e.Name))...)
		case "xfail":
			s = append(s, agent("# "+guestproto.FailureDiag("pwrite: EIO"), fmt.Sprintf("ok %d %s # XFAIL %s", n, e.Name, e.Reason))...)
		case "xpass":
			s = append(s, agent(fmt.Sprintf("ok %d %s # XPASS %s", n, e.Name, e.Reason))...)
		default:
			s = append(s, agent(fmt.Sprintf("ok %d %s", n, e.Name))...)
		}
	}
	return append(s, agent("# Totals: ...")...)
}

func testPlan(names ...string) guestproto.Plan {
	var es []guestproto.Entry
	for _, n := range names {
		e := guestproto.Entry{Name: n}
		if strings.HasPrefix(n, "fuse/x") {
			e.XFail, e.Reason = true, "declared on base"
		}
		es = append(es, e)
	}
	return guestproto.Plan{Scenarios: es, Repeat: 1, Wiring: guestproto.Wiring{AgentTTY: "/dev/ttyS1", ExitPort: 0xf4}}
}

// scripted plays outcome on every boot unless boots scripts it, and
// records the Start of each boot's plan.
type scripted struct {
	outcome map[string]string
	boots   []func(plan guestproto.Plan) []step // per boot; nil: agentRun
	starts  []int
}

func (s *scripted) boot(_ context.Context, n int, plan guestproto.Plan) (guest, error) {
	s.starts = append(s.starts, plan.Start)
	if n <= len(s.boots) && s.boots[n-1] != nil {
		return play(s.boots[n-1](plan)), nil
	}
	return play(append(agentRun(plan, s.outcome), exitWith(guestproto.VerdictOK))), nil
}

type slotView struct {
	Name    string
	Result  string // the agent's result line verdict, "" for none
	Boot    int
	Fault   string
	Timeout bool
	Reports int
	NotRun  bool
}

func view(o outcome) []slotView {
	var v []slotView
	for _, sl := range o.slots {
		sv := slotView{Name: sl.entry.Name, Boot: sl.boot, Fault: sl.fault, Timeout: sl.timeout, Reports: len(sl.reports), NotRun: sl.notRun != ""}
		if sl.result != nil {
			sv.Result = sl.result.Status.String() + " " + string(sl.result.Directive)
		}
		v = append(v, sv)
	}
	return v
}

func TestSessionResume(t *testing.T) {
	fast := Timeouts{Boot: 2 * time.Second, Scenario: 100 * time.Millisecond}
	hangMsg := "killed by the host: no progress in 100ms during scenario fuse/b"
	tests := []struct {
		name      string
		plan      guestproto.Plan
		s         *scripted
		maxFaults int
		want      []slotView
		starts    []int
		faults    int
		infra     string
		// runReports counts reports outside any scenario.
		runReports int
	}{
		{
			name:   "one clean boot",
			plan:   testPlan("fuse/a", "fuse/xb"),
			s:      &scripted{outcome: map[string]string{"fuse/xb": "xfail"}},
			want:   []slotView{{Name: "fuse/a", Result: "pass ", Boot: 1}, {Name: "fuse/xb", Result: "pass XFAIL", Boot: 1}},
			starts: []int{0},
		},
		{
			name: "a hang is TIMEOUT and a fresh guest runs the rest",
			plan: testPlan("fuse/a", "fuse/b", "fuse/c"),
			s:    &scripted{outcome: map[string]string{"fuse/b": "hang"}},
			want: []slotView{
				{Name: "fuse/a", Result: "pass ", Boot: 1},
				{Name: "fuse/b", Boot: 1, Fault: hangMsg, Timeout: true},
				{Name: "fuse/c", Result: "pass ", Boot: 2},
			},
			starts: []int{0, 2},
			faults: 1,
		},
		{
			name: "a panic fails the scenario with the report and a fresh guest runs the rest",
			plan: testPlan("fuse/a", "fuse/b", "fuse/c"),
			s:    &scripted{outcome: map[string]string{"fuse/b": "panic"}},
			want: []slotView{
				{Name: "fuse/a", Result: "pass ", Boot: 1},
				{Name: "fuse/b", Boot: 1, Fault: "the guest died: kernel report: BUG: kernel NULL pointer dereference, address: 0000000000000000", Reports: 1},
				{Name: "fuse/c", Result: "pass ", Boot: 2},
			},
			starts: []int{0, 2},
			faults: 1,
		},
		{
			name: "the last scenario faults: no second boot",
			plan: testPlan("fuse/a", "fuse/b"),
			s:    &scripted{outcome: map[string]string{"fuse/b": "hang"}},
			want: []slotView{
				{Name: "fuse/a", Result: "pass ", Boot: 1},
				{Name: "fuse/b", Boot: 1, Fault: hangMsg, Timeout: true},
			},
			starts: []int{0},
			faults: 1,
		},
		{
			name:      "the fault limit stops the run",
			plan:      testPlan("fuse/a", "fuse/b", "fuse/c"),
			s:         &scripted{outcome: map[string]string{"fuse/a": "hang", "fuse/b": "hang"}},
			maxFaults: 1,
			want: []slotView{
				{Name: "fuse/a", Boot: 1, Fault: "killed by the host: no progress in 100ms during scenario fuse/a", Timeout: true},
				{Name: "fuse/b", Boot: 2, Fault: hangMsg, Timeout: true},
				{Name: "fuse/c", NotRun: true},
			},
			starts: []int{0, 1},
			faults: 2,
		},
		{
			name: "a WARN fails nothing here but stays with its scenario",
			plan: testPlan("fuse/a", "fuse/b"),
			s:    &scripted{outcome: map[string]string{"fuse/a": "warn"}},
			want: []slotView{
				{Name: "fuse/a", Result: "pass ", Boot: 1, Reports: 1},
				{Name: "fuse/b", Result: "pass ", Boot: 1},
			},
			starts: []int{0},
		},
		{
			name: "repeat: the second boot starts inside the second round",
			plan: func() guestproto.Plan { p := testPlan("fuse/a", "fuse/b"); p.Repeat = 2; return p }(),
			s: &scripted{boots: []func(guestproto.Plan) []step{
				func(p guestproto.Plan) []step {
					// round 1 passes, round 2 hangs in fuse/a
					s := agent("KTAP version 1", "1..4")
					for i, n := range []string{"fuse/a", "fuse/b"} {
						s = append(s, agent("# "+guestproto.StartDiag(n), fmt.Sprintf("ok %d %s", i+1, n))...)
					}
					return append(s, append(agent("# "+guestproto.StartDiag("fuse/a")), step{hang: true})...)
				},
			}},
			want: []slotView{
				{Name: "fuse/a", Result: "pass ", Boot: 1},
				{Name: "fuse/b", Result: "pass ", Boot: 1},
				{Name: "fuse/a", Boot: 1, Fault: "killed by the host: no progress in 100ms during scenario fuse/a", Timeout: true},
				{Name: "fuse/b", Result: "pass ", Boot: 2},
			},
			starts: []int{0, 3},
			faults: 1,
		},
		{
			name: "a hang between two scenarios is charged to the next one",
			plan: testPlan("fuse/a", "fuse/b"),
			s: &scripted{boots: []func(guestproto.Plan) []step{
				func(guestproto.Plan) []step {
					return append(agent("KTAP version 1", "1..2", "# "+guestproto.StartDiag("fuse/a"), "ok 1 fuse/a"), step{hang: true})
				},
			}},
			want: []slotView{
				{Name: "fuse/a", Result: "pass ", Boot: 1},
				{Name: "fuse/b", Boot: 1, Fault: "killed by the host: no progress in 100ms during next scenario (before the agent announced the scenario)", Timeout: true},
			},
			starts: []int{0},
			faults: 1,
		},
		{
			name: "a panic whose kmsg marker the console lost still names its report",
			plan: testPlan("fuse/a", "fuse/b"),
			s: &scripted{boots: []func(guestproto.Plan) []step{
				func(guestproto.Plan) []step {
					s := agent("KTAP version 1", "1..2", "# "+guestproto.StartDiag("fuse/a"))
					s = append(s, console("kernel BUG at drivers/misc/lkdtm/bugs.c:105!", "Oops: invalid opcode: 0000 [#1] SMP", "</TASK>",
						"Kernel panic - not syncing: Fatal exception")...)
					return append(s, step{die: "guest rebooted or powered off without reporting a verdict (kernel panic?)"})
				},
			}},
			want: []slotView{
				{Name: "fuse/a", Boot: 1, Fault: "the guest died: kernel report: kernel BUG at drivers/misc/lkdtm/bugs.c:105! (its kmsg marker was lost)"},
				{Name: "fuse/b", Result: "pass ", Boot: 2},
			},
			starts:     []int{0, 1},
			faults:     1,
			runReports: 2,
		},
		{
			name: "a report during boot belongs to no scenario",
			plan: testPlan("fuse/a"),
			s: &scripted{boots: []func(guestproto.Plan) []step{
				func(p guestproto.Plan) []step {
					return append(console("WARNING: CPU: 0 PID: 0 at arch/x86/kernel/x.c:1 y+0x1/0x2", "---[ end trace 0 ]---"),
						append(agentRun(p, nil), exitWith(guestproto.VerdictOK))...)
				},
			}},
			want:       []slotView{{Name: "fuse/a", Result: "pass ", Boot: 1}},
			starts:     []int{0},
			runReports: 1,
		},
		{
			name: "no KTAP header is infrastructure",
			plan: testPlan("fuse/a"),
			s: &scripted{boots: []func(guestproto.Plan) []step{
				func(guestproto.Plan) []step { return []step{{die: "qemu: could not load kernel"}} },
			}},
			want:   []slotView{{Name: "fuse/a", NotRun: true}},
			starts: []int{0},
			infra:  "boot 1: the guest agent never started: qemu: could not load kernel (console kept in console.log)",
		},
		{
			name: "a guest that ends without a kernel report is infrastructure",
			plan: testPlan("fuse/a", "fuse/b"),
			s:    &scripted{outcome: map[string]string{"fuse/b": "die"}},
			want: []slotView{
				{Name: "fuse/a", Result: "pass ", Boot: 1},
				{Name: "fuse/b", NotRun: true},
			},
			starts: []int{0},
			infra:  "boot 1: the guest ended during fuse/b without a kernel report: qemu: exit status 1: qemu crashed (console kept in console.log)",
		},
		{
			name: "an agent stream that does not follow the plan is infrastructure",
			plan: testPlan("fuse/a", "fuse/b"),
			s: &scripted{boots: []func(guestproto.Plan) []step{
				func(guestproto.Plan) []step {
					return append(agent("KTAP version 1", "1..2", "ok 1 fuse/b"), exitWith(guestproto.VerdictOK))
				},
			}},
			want:   []slotView{{Name: "fuse/a", NotRun: true}, {Name: "fuse/b", NotRun: true}},
			starts: []int{0},
			infra:  `boot 1: agent result 1 is "fuse/b", the plan says "fuse/a" (console kept in console.log)`,
		},
		{
			name: "a boot that hangs before the header is infrastructure",
			plan: testPlan("fuse/a"),
			s: &scripted{boots: []func(guestproto.Plan) []step{
				func(guestproto.Plan) []step { return console("Linux version 6.12.117", "") },
			}},
			want:   []slotView{{Name: "fuse/a", NotRun: true}},
			starts: []int{0},
			infra:  "boot 1: the guest agent never started: script ended without an exit (console kept in console.log)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := session{plan: tc.plan, boot: tc.s.boot, timeouts: fast, maxFaults: MaxFaultReboots, out: io.Discard, label: "base"}
			if tc.maxFaults > 0 {
				s.maxFaults = tc.maxFaults
			}
			o := s.run(context.Background())
			if d := cmp.Diff(tc.want, view(o)); d != "" {
				t.Errorf("slots (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.starts, tc.s.starts); d != "" {
				t.Errorf("plan starts per boot (-want +got):\n%s", d)
			}
			if o.faults != tc.faults {
				t.Errorf("faults = %d, want %d", o.faults, tc.faults)
			}
			if len(o.reports) != tc.runReports {
				t.Errorf("reports outside scenarios: %d, want %d", len(o.reports), tc.runReports)
			}
			infra := ""
			if o.infra != nil {
				infra = o.infra.Error()
			}
			if infra != tc.infra {
				t.Errorf("infra = %q, want %q", infra, tc.infra)
			}
		})
	}
}

// TestFinishRun checks the exit status and what a run leaves for the
// outcomes the resume loop produces.
func TestFinishRun(t *testing.T) {
	fast := Timeouts{Boot: 2 * time.Second, Scenario: 100 * time.Millisecond}
	sel := catalogue.Catalogue{
		{Name: "harness/hang", Area: "harness"}, {Name: "fuse/a", Area: "fuse"}, {Name: "fuse/xb", Area: "fuse"},
	}
	tests := []struct {
		name    string
		plan    guestproto.Plan
		s       *scripted
		exit    int
		ktap    []string // lines results.ktap must contain
		summary []string // verdict/directive/matches per scenario
	}{
		{
			name:    "all as declared",
			plan:    testPlan("fuse/a", "fuse/xb"),
			s:       &scripted{outcome: map[string]string{"fuse/xb": "xfail"}},
			exit:    ExitOK,
			ktap:    []string{"ok 1 fuse/a", "ok 2 fuse/xb # XFAIL declared on base", "# Totals: pass:1 fail:0 xfail:1 xpass:0 skip:0 error:0"},
			summary: []string{"fuse/a pass  true", "fuse/xb fail XFAIL true"},
		},
		{
			name:    "XPASS does not match",
			plan:    testPlan("fuse/xb"),
			s:       &scripted{outcome: map[string]string{"fuse/xb": "xpass"}},
			exit:    ExitFailed,
			ktap:    []string{"ok 1 fuse/xb # XPASS declared on base", "# Totals: pass:0 fail:0 xfail:0 xpass:1 skip:0 error:0"},
			summary: []string{"fuse/xb pass XPASS false"},
		},
		{
			name: "a hang after boot is the kernel's fault: exit 1, the rest ran",
			plan: testPlan("harness/hang", "fuse/a"),
			s:    &scripted{outcome: map[string]string{"harness/hang": "hang"}},
			exit: ExitFailed,
			ktap: []string{
				"not ok 1 harness/hang # TIMEOUT killed by the host: no progress in 100ms during scenario harness/hang",
				"# boot 2: a fresh guest after the fault in harness/hang (console-2.log)",
				"ok 2 fuse/a",
				"# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:0 error:0",
			},
			summary: []string{"harness/hang fail TIMEOUT false", "fuse/a pass  true"},
		},
		{
			name: "a panic after boot is the kernel's fault: exit 1, the rest ran",
			plan: testPlan("harness/hang", "fuse/a"),
			s:    &scripted{outcome: map[string]string{"harness/hang": "panic"}},
			exit: ExitFailed,
			ktap: []string{
				"not ok 1 harness/hang # the guest died: kernel report: BUG: kernel NULL pointer dereference, address: 0000000000000000",
				"ok 2 fuse/a",
			},
			summary: []string{"harness/hang fail  false", "fuse/a pass  true"},
		},
		{
			name:    "a WARN in a declared failure still fails",
			plan:    testPlan("fuse/xb"),
			s:       &scripted{outcome: map[string]string{"fuse/xb": "warn"}},
			exit:    ExitFailed,
			ktap:    []string{"not ok 1 fuse/xb # kernel report: WARNING: CPU: 0 PID: 1 at fs/fuse/file.c:1 f+0x1/0x2"},
			summary: []string{"fuse/xb fail  false"},
		},
		{
			name: "no boot is infrastructure: exit 2",
			plan: testPlan("fuse/a"),
			s: &scripted{boots: []func(guestproto.Plan) []step{
				func(guestproto.Plan) []step { return []step{{die: "qemu: could not load kernel"}} },
			}},
			exit:    ExitInfra,
			ktap:    []string{"not ok 1 fuse/a # ERROR no result from the guest: boot 1: the guest agent never started: qemu: could not load kernel (console kept in console.log)"},
			summary: []string{"fuse/a error ERROR false"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := session{plan: tc.plan, boot: tc.s.boot, timeouts: fast, maxFaults: MaxFaultReboots, out: io.Discard, label: "base"}
			oc := s.run(context.Background())
			var rr report.Run
			got := finishRun(oc, areaIn(sel), dir, Options{Out: io.Discard, Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}}, &rr, func(exit int) Outcome { return Outcome{Exit: exit} })
			if got.Exit != tc.exit {
				t.Errorf("exit %d, want %d (infra %q)", got.Exit, tc.exit, rr.Infra)
			}
			b, err := os.ReadFile(filepath.Join(dir, "results.ktap"))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range tc.ktap {
				if !strings.Contains(string(b), l+"\n") {
					t.Errorf("results.ktap lacks %q:\n%s", l, b)
				}
			}
			if rep, err := ktap.Parse(strings.NewReader(string(b))); err != nil || !rep.Complete || len(rep.Problems) > 0 {
				t.Errorf("results.ktap does not parse as one complete document: %v %+v", err, rep)
			}
			var sum []string
			for _, sc := range rr.Scenarios {
				sum = append(sum, fmt.Sprintf("%s %s %s %v", sc.Name, sc.Verdict, sc.Directive, sc.Matches))
			}
			if d := cmp.Diff(tc.summary, sum); d != "" {
				t.Errorf("scenarios (-want +got):\n%s", d)
			}
			for _, b := range oc.boots {
				if _, err := os.Stat(filepath.Join(dir, agentName(b.n))); err != nil {
					t.Errorf("boot %d: %v", b.n, err)
				}
			}
		})
	}
}

func TestScenarioResult(t *testing.T) {
	plain := guestproto.Entry{Name: "fuse/a"}
	declared := guestproto.Entry{Name: "fuse/a", XFail: true, Reason: "why"}
	tests := []struct {
		name string
		e    guestproto.Entry
		r    ktap.Result
		want report.Scenario
	}{
		{"pass", plain, ktap.Result{Status: ktap.Pass},
			report.Scenario{Name: "fuse/a", Area: "fuse", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1}},
		{"xfail", declared, ktap.Result{Status: ktap.Pass, Directive: ktap.DirXFail, Reason: "why", Diag: []string{"start fuse/a", "attempts: 3", "failure: EIO"}},
			report.Scenario{Name: "fuse/a", Area: "fuse", Verdict: verdict.Fail, Expected: verdict.Fail, Matches: true, Directive: "XFAIL",
				Why: "why", Reason: "as declared: why (EIO)", Attempts: 3, Detail: []string{"attempts: 3", "failure: EIO"}}},
		{"xpass", declared, ktap.Result{Status: ktap.Pass, Directive: ktap.DirXPass, Reason: "why"},
			report.Scenario{Name: "fuse/a", Area: "fuse", Verdict: verdict.Pass, Expected: verdict.Fail, Directive: "XPASS", Why: "why", Reason: "why", Attempts: 1}},
		{"plain not ok never matches, even when a failure is declared", declared, ktap.Result{Status: ktap.Fail, Reason: "kernel report: BUG"},
			report.Scenario{Name: "fuse/a", Area: "fuse", Verdict: verdict.Fail, Expected: verdict.Fail, Why: "why", Reason: "kernel report: BUG", Attempts: 1}},
		{"skip", plain, ktap.Result{Status: ktap.Skip, Directive: ktap.DirSkip, Reason: "no LKDTM"},
			report.Scenario{Name: "fuse/a", Area: "fuse", Verdict: verdict.Skip, Expected: verdict.Pass, Matches: true, Directive: "SKIP", Reason: "no LKDTM", Attempts: 1}},
		{"timeout", plain, ktap.Result{Status: ktap.Fail, Directive: ktap.DirTimeout, Reason: "killed"},
			report.Scenario{Name: "fuse/a", Area: "fuse", Verdict: verdict.Fail, Expected: verdict.Pass, Directive: "TIMEOUT", Reason: "killed", Attempts: 1}},
		{"error", plain, ktap.Result{Status: ktap.Fail, Directive: ktap.DirError, Reason: "not run"},
			report.Scenario{Name: "fuse/a", Area: "fuse", Verdict: verdict.Error, Expected: verdict.Pass, Directive: "ERROR", Reason: "not run", Attempts: 1}},
	}
	for _, tc := range tests {
		if d := cmp.Diff(tc.want, scenarioResult(tc.e, "fuse", tc.r)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}
