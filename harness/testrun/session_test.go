package testrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
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
// and how it ends. It needs no QEMU. A hang waits to be killed or asked
// for evidence: the dump request plays onDump, an NMI onNMI.
type fakeGuest struct {
	agent   chan string
	console *vm.Console
	killed  chan struct{}
	done    chan struct{}
	once    sync.Once
	verdict guestproto.Verdict
	err     error

	onDump, onNMI []step
	dump, nmi     chan struct{}
	sent          []string
	nmis          int
	mu            sync.Mutex
}

// step is one thing a fake guest does.
type step struct {
	agent   string // a line on the agent channel
	console string // a line on the kernel console
	hang    bool   // stop and wait to be killed, asked for evidence or NMIed
	exit    *guestproto.Verdict
	die     string        // QEMU ends without a verdict, with this error
	pause   time.Duration // the guest's time passes (a slow guest)
}

// printing is a guest that prints a line on its console every period
// for d: busy, not hung.
func printing(d, period time.Duration, line string) []step {
	var s []step
	for range int(d / period) {
		s = append(s, step{console: line}, step{pause: period})
	}
	return s
}

// heartbeats is an agent that is alive but makes no progress for d.
func heartbeats(d, period time.Duration) []step {
	var s []step
	for i := range int(d / period) {
		s = append(s, step{agent: guestproto.AliveLine(time.Duration(i) * period)}, step{pause: period})
	}
	return s
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
	return playWith(steps, nil, nil)
}

// playWith plays steps, and onDump or onNMI when a hang is asked for
// evidence or gets an NMI.
func playWith(steps, onDump, onNMI []step) *fakeGuest {
	g := &fakeGuest{agent: make(chan string), console: vm.NewConsole(), killed: make(chan struct{}), done: make(chan struct{}),
		onDump: onDump, onNMI: onNMI, dump: make(chan struct{}, 1), nmi: make(chan struct{}, 1)}
	go func() {
		defer close(g.done)
		defer close(g.agent)
		if g.playSteps(steps) {
			g.err = errors.New("script ended without an exit")
		}
	}()
	return g
}

// playSteps plays steps; it returns true when they ran out without
// ending the guest.
func (g *fakeGuest) playSteps(steps []step) bool {
	for _, s := range steps {
		switch {
		case s.agent != "":
			select {
			case g.agent <- s.agent:
			case <-g.killed:
				g.err = errors.New("signal: killed")
				return false
			}
		case s.console != "":
			g.console.Feed(s.console)
		case s.hang:
			select {
			case <-g.killed:
				g.err = errors.New("signal: killed")
				return false
			case <-g.dump:
				return g.playSteps(append(append([]step{}, g.onDump...), step{hang: true}))
			case <-g.nmi:
				return g.playSteps(append(append([]step{}, g.onNMI...), step{hang: true}))
			}
		case s.pause > 0:
			select {
			case <-g.killed:
				g.err = errors.New("signal: killed")
				return false
			case <-g.dump:
				return g.playSteps(append(append([]step{}, g.onDump...), step{hang: true}))
			case <-g.nmi:
				return g.playSteps(append(append([]step{}, g.onNMI...), step{hang: true}))
			case <-time.After(s.pause):
			}
		case s.exit != nil:
			g.verdict = *s.exit
			return false
		case s.die != "":
			g.err = errors.New(s.die)
			return false
		}
	}
	return true
}

func (g *fakeGuest) Agent() <-chan string { return g.agent }
func (g *fakeGuest) Console() *vm.Console { return g.console }
func (g *fakeGuest) Kill()                { g.once.Do(func() { close(g.killed) }) }
func (g *fakeGuest) Wait() (guestproto.Verdict, error) {
	<-g.done
	return g.verdict, g.err
}
func (g *fakeGuest) Close() error { g.Kill(); <-g.done; return nil }
func (g *fakeGuest) Registers() (string, error) {
	return "CPU#0\nRIP=ffffffff81000000 RFL=00000246\nCPU#1\nRIP=ffffffff81000010 RFL=00000246", nil
}
func (g *fakeGuest) InjectNMI() error {
	g.mu.Lock()
	g.nmis++
	g.mu.Unlock()
	select {
	case g.nmi <- struct{}{}:
	default:
	}
	return nil
}
func (g *fakeGuest) SendAgent(line string) error {
	g.mu.Lock()
	g.sent = append(g.sent, line)
	g.mu.Unlock()
	if line == guestproto.DumpRequest {
		select {
		case g.dump <- struct{}{}:
		default:
		}
	}
	return nil
}

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

// fastTimeouts are the bounds of the tests' guests: a silent one is hung
// after 150 ms, one that keeps printing after 300 ms in a scenario.
var fastTimeouts = Timeouts{Boot: 2 * time.Second, Scenario: 300 * time.Millisecond, Silence: 150 * time.Millisecond, Evidence: 100 * time.Millisecond}

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
	fast := fastTimeouts
	hangMsg := "killed by the host: no output from the guest (console or agent) for 150ms during scenario fuse/b; no evidence from the guest"
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
				{Name: "fuse/a", Boot: 1, Fault: "killed by the host: no output from the guest (console or agent) for 150ms during scenario fuse/a; no evidence from the guest", Timeout: true},
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
				{Name: "fuse/a", Boot: 1, Fault: "killed by the host: no output from the guest (console or agent) for 150ms during scenario fuse/a; no evidence from the guest", Timeout: true},
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
				{Name: "fuse/b", Boot: 1, Fault: "killed by the host: no output from the guest (console or agent) for 150ms during next scenario; no evidence from the guest (before the agent announced the scenario)", Timeout: true},
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
	fast := fastTimeouts
	sel := catalogue.Catalogue{
		{Name: "harness/hang", Area: "harness"}, {Name: "fuse/a", Area: "fuse"}, {Name: "fuse/xb", Area: "fuse"},
	}
	tests := []struct {
		name    string
		plan    guestproto.Plan
		s       *scripted
		confirm bool
		exit    int
		ktap    []string // lines results.ktap must contain
		junit   []string // text junit.xml must contain
		summary []string // verdict/directive/matches[/confirmation] per scenario
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
				"not ok 1 harness/hang # TIMEOUT killed by the host: no output from the guest (console or agent) for 150ms during scenario harness/hang; no evidence from the guest",
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
			name: "a TIMEOUT that passes on a fresh guest is marked flaky in KTAP, JUnit and the summary",
			plan: testPlan("harness/hang", "fuse/a"),
			s: &scripted{boots: []func(guestproto.Plan) []step{
				func(p guestproto.Plan) []step { return agentRun(p, map[string]string{"harness/hang": "hang"}) },
			}},
			confirm: true,
			exit:    ExitFailed,
			ktap: []string{
				"not ok 1 harness/hang # TIMEOUT killed by the host: no output from the guest (console or agent) for 150ms during scenario harness/hang; no evidence from the guest (flaky: it matched its declaration on a fresh guest (boot 3))",
				"# timeout flaky: it matched its declaration on a fresh guest (boot 3)",
				"ok 2 fuse/a",
			},
			junit:   []string{"(flaky: it matched its declaration on a fresh guest (boot 3))"},
			summary: []string{"harness/hang fail TIMEOUT false flaky", "fuse/a pass  true"},
		},
		{
			name: "a TIMEOUT that happens again on a fresh guest is marked confirmed",
			plan: testPlan("harness/hang"),
			s: &scripted{boots: []func(guestproto.Plan) []step{
				func(p guestproto.Plan) []step { return agentRun(p, map[string]string{"harness/hang": "hang"}) },
				func(p guestproto.Plan) []step { return agentRun(p, map[string]string{"harness/hang": "hang"}) },
			}},
			confirm: true,
			exit:    ExitFailed,
			ktap:    []string{"# timeout confirmed: it timed out again on a fresh guest (boot 2)"},
			junit:   []string{"(confirmed: it timed out again on a fresh guest (boot 2))"},
			summary: []string{"harness/hang fail TIMEOUT false confirmed"},
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
			s := session{plan: tc.plan, boot: tc.s.boot, timeouts: fast, maxFaults: MaxFaultReboots, out: io.Discard, label: "base", confirm: tc.confirm}
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
			var j bytes.Buffer
			if err := report.WriteJUnit(&j, rr); err != nil {
				t.Fatal(err)
			}
			for _, l := range tc.junit {
				if !strings.Contains(j.String(), l) {
					t.Errorf("junit.xml lacks %q:\n%s", l, j.String())
				}
			}
			var sum []string
			for _, sc := range rr.Scenarios {
				v := fmt.Sprintf("%s %s %s %v", sc.Name, sc.Verdict, sc.Directive, sc.Matches)
				if sc.Confirmation != "" {
					v += " " + string(sc.Confirmation)
				}
				sum = append(sum, v)
			}
			if d := cmp.Diff(tc.summary, sum); d != "" {
				t.Errorf("scenarios (-want +got):\n%s", d)
			}
			if spoke := tc.exit != ExitInfra; oc.agentSpoke() != spoke {
				t.Errorf("agentSpoke() = %v, want %v", oc.agentSpoke(), spoke)
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

// The watchdog's answer for a guest whose agent wedged: a thread of it
// blocked on i_rwsem behind one waiting for the FUSE server. Then the
// agent's SIGQUIT and the kernel's panic.
func watchdogAnswer() []step {
	s := agent(
		guestproto.EvidenceBegin("host request"),
		guestproto.EvidenceLine(guestproto.SectionSummary, "init[140] (tgid 1) D in request_wait_answer < __fuse_simple_request < fuse_perform_write (schedule)"),
		guestproto.EvidenceLine(guestproto.SectionSummary, "init[141] (tgid 1) D in fuse_file_write_iter < vfs_write < ksys_write (down_write)"),
		guestproto.EvidenceLine(guestproto.SectionTasks, "init[141] tgid 1 state D wchan rwsem_down_write_slowpath"),
		guestproto.EvidenceLine(guestproto.SectionFUSE, "server pid 150 mounted on /tmp/fuse1: 1 requests not answered"),
		guestproto.EvidenceEnd(),
	)
	s = append(s, console("goroutine 1 [select]:", "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000200",
		"NMI backtrace for cpu 1", "RIP: 0010:default_idle+0xb/0x10")...)
	return append(s, step{die: "guest rebooted or powered off without reporting a verdict (kernel panic?)"})
}

// nmiPanic is what a guest whose kernel is wedged prints after the
// host's NMI: panic_print's backtraces and blocked tasks.
func nmiPanic() []step {
	s := console(
		"Kernel panic - not syncing: NMI: Not continuing",
		"NMI backtrace for cpu 0",
		"RIP: 0010:native_queued_spin_lock_slowpath+0x6f/0x2a0",
		"Call Trace:", " <TASK>", " _raw_spin_lock+0x30/0x40", " fuse_request_end+0x5d/0x230", " </TASK>",
		"task:init            state:D stack:0     pid:141   tgid:1     ppid:0      task_flags:0x400140 flags:0x00004000",
		"Call Trace:", " <TASK>", " __schedule+0x2f1/0x7a0", " schedule+0x3a/0xc0", " request_wait_answer+0x1a2/0x2c0", " __fuse_simple_request+0x10e/0x2e0", " </TASK>",
	)
	return append(s, step{die: "guest rebooted or powered off without reporting a verdict (kernel panic?)"})
}

// TestWatchHang: how the host judges a guest hung and what it gathers
// before it ends it.
func TestWatchHang(t *testing.T) {
	started := append(agent("KTAP version 1", "1..1"), console(guestproto.KmsgStart(1, "fuse/b"))...)
	started = append(started, agent("# "+guestproto.StartDiag("fuse/b"))...)
	hungTask := console(
		"INFO: task init:141 blocked for more than 30 seconds.",
		"task:init            state:D stack:0     pid:141   tgid:1     ppid:0      task_flags:0x400140 flags:0x00004000",
		"Call Trace:", " <TASK>", " __schedule+0x2f1/0x7a0", " schedule+0x3a/0xc0", " rwsem_down_write_slowpath+0x1f5/0x6d0",
		" down_write+0x8e/0xa0", " fuse_file_write_iter+0x14c/0x3d0", " vfs_write+0x29b/0x450", " </TASK>",
	)
	tests := []struct {
		name          string
		steps, onDump []step
		onNMI         []step
		hang          string // bootResult.hang, "" for none
		blocked       string // what the failure reason quotes
		nmis          int
		frames        int
		consoleAfter  bool
		panicked      bool
	}{
		{
			name:         "a silent guest whose watchdog answers: no NMI needed",
			steps:        append(append([]step{}, started...), step{hang: true}),
			onDump:       watchdogAnswer(),
			hang:         "no output from the guest (console or agent) for 150ms during scenario fuse/b",
			blocked:      "; blocked: init[140] (tgid 1) D in request_wait_answer < __fuse_simple_request < fuse_perform_write (schedule) (and 1 more blocked)",
			frames:       1,
			consoleAfter: true,
		},
		{
			name:         "a wedged kernel answers nothing: the NMI's panic names the blocked task",
			steps:        append(append([]step{}, started...), step{hang: true}),
			onNMI:        nmiPanic(),
			hang:         "no output from the guest (console or agent) for 150ms during scenario fuse/b",
			blocked:      "; blocked (kernel's task dump): init[141] in request_wait_answer < __fuse_simple_request (schedule)",
			nmis:         1,
			consoleAfter: true,
		},
		{
			name:    "an agent alive but stuck is ended at the scenario's cap",
			steps:   append(append([]step{}, started...), heartbeats(time.Second, 30*time.Millisecond)...),
			hang:    "scenario fuse/b took longer than 300ms",
			blocked: "; no evidence from the guest",
			nmis:    1,
		},
		{
			name:    "a hang the kernel reported ends the scenario a silence later",
			steps:   append(append(append([]step{}, started...), hungTask...), heartbeats(time.Second, 30*time.Millisecond)...),
			onDump:  watchdogAnswer(),
			hang:    "the kernel reported a hang during scenario fuse/b (INFO: task init:141 blocked for more than 30 seconds., in fuse_file_write_iter < vfs_write (down_write)) and it did not end within 150ms",
			blocked: "; blocked: init[140] (tgid 1) D in request_wait_answer < __fuse_simple_request < fuse_perform_write (schedule) (and 1 more blocked)",
			frames:  1, consoleAfter: true,
		},
		{
			name: "a boot silent for longer than the silence bound is slow, not hung: only the boot's cap ends it",
			steps: append(append([]step{{pause: 400 * time.Millisecond}},
				agent("KTAP version 1", "1..1", "# "+guestproto.StartDiag("fuse/b"), "ok 1 fuse/b")...), exitWith(guestproto.VerdictOK)),
		},
		{
			name: "a boot that keeps printing is slow, not hung",
			steps: append(append(printing(400*time.Millisecond, 40*time.Millisecond, "[ 1.0] random: crng init done"),
				agent("KTAP version 1", "1..1", "# "+guestproto.StartDiag("fuse/b"), "ok 1 fuse/b")...), exitWith(guestproto.VerdictOK)),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := playWith(tc.steps, tc.onDump, tc.onNMI)
			r := watch(g, fastTimeouts, io.Discard, "base")
			g.Close()
			if r.hang != tc.hang {
				t.Errorf("hang = %q, want %q", r.hang, tc.hang)
			}
			if got := r.hangRec.blocked(); got != tc.blocked {
				t.Errorf("blocked = %q, want %q", got, tc.blocked)
			}
			if g.nmis != tc.nmis {
				t.Errorf("%d NMIs, want %d", g.nmis, tc.nmis)
			}
			if len(r.frames) != tc.frames {
				t.Errorf("%d evidence frames, want %d", len(r.frames), tc.frames)
			}
			if tc.hang != "" {
				if r.hangRec == nil || len(r.hangRec.registers) != 2 || r.hangRec.load == "" {
					t.Fatalf("hang record %+v: want two register samples and the host load", r.hangRec)
				}
				if !slices.Contains(g.sent, guestproto.DumpRequest) {
					t.Errorf("the host never asked for the evidence: sent %q", g.sent)
				}
				if got := len(r.hangRec.console) > 0; got != tc.consoleAfter {
					t.Errorf("console after the request: %d lines", len(r.hangRec.console))
				}
			}
			// The panic the host caused is not the kernel's.
			if r.panicked || len(r.reports) > 0 && tc.hang != "" && !r.reports[0].Hang {
				t.Errorf("panicked %v, reports %+v: the induced panic counted", r.panicked, r.reports)
			}
		})
	}
}

// TestWatchEvidenceFile: the evidence file holds the host's record and
// the guest's frame.
func TestWatchEvidenceFile(t *testing.T) {
	steps := append(agent("KTAP version 1", "1..1", "# "+guestproto.StartDiag("fuse/b")), step{hang: true})
	g := playWith(steps, watchdogAnswer(), nil)
	r := watch(g, fastTimeouts, io.Discard, "base")
	g.Close()
	var b strings.Builder
	writeEvidence(&b, bootSummary{n: 2, hangRec: r.hangRec, frames: r.frames})
	for _, want := range []string{
		"Evidence of boot 2 (its console is console-2.log, its agent stream agent-2.log)",
		"== The host judged the guest hung: no output from the guest",
		"== QEMU's vCPU registers (info registers -a, general and control registers), sample 2 of 2\nCPU#0\nRIP=ffffffff81000000",
		"== Where each CPU was (NMI backtraces on the console after the request)\nCPU 1 in default_idle",
		"== The guest's evidence: host request\n-- summary\ninit[140] (tgid 1) D in request_wait_answer",
		"-- fuse\nserver pid 150 mounted on /tmp/fuse1: 1 requests not answered",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("evidence file lacks %q:\n%s", want, b.String())
		}
	}
}

// TestConfirmTimeouts: a failure that rests only on a TIMEOUT is run
// again on a fresh guest before it counts; one backed by a kernel
// report is not.
func TestConfirmTimeouts(t *testing.T) {
	tests := []struct {
		name   string
		boots  []func(guestproto.Plan) []step
		want   []string // name, confirmation state, per slot
		starts []int
	}{
		{
			name: "a hang that happens again is confirmed",
			boots: []func(guestproto.Plan) []step{
				func(p guestproto.Plan) []step { return agentRun(p, map[string]string{"fuse/b": "hang"}) },
				func(p guestproto.Plan) []step { return agentRun(p, map[string]string{"fuse/b": "hang"}) },
			},
			want:   []string{"fuse/a -", "fuse/b confirmed: it timed out again on a fresh guest (boot 2)"},
			starts: []int{0, 0},
		},
		{
			name: "a hang that passes on a fresh guest is flaky",
			boots: []func(guestproto.Plan) []step{
				func(p guestproto.Plan) []step { return agentRun(p, map[string]string{"fuse/b": "hang"}) },
			},
			want:   []string{"fuse/a -", "fuse/b flaky: it matched its declaration on a fresh guest (boot 2)"},
			starts: []int{0, 0},
		},
		{
			name: "a hang that fails otherwise on a fresh guest is confirmed",
			boots: []func(guestproto.Plan) []step{
				func(p guestproto.Plan) []step { return agentRun(p, map[string]string{"fuse/b": "hang"}) },
				func(p guestproto.Plan) []step {
					return append(agentRun(p, map[string]string{"fuse/b": "fail"}), exitWith(guestproto.VerdictMismatch))
				},
			},
			want:   []string{"fuse/a -", "fuse/b confirmed: it failed again on a fresh guest (boot 2): broken"},
			starts: []int{0, 0},
		},
		{
			name: "the agent's own TIMEOUT is confirmed too, in the same boot's stead",
			boots: []func(guestproto.Plan) []step{
				func(p guestproto.Plan) []step {
					return append(agent("KTAP version 1", "1..2", "# "+guestproto.StartDiag("fuse/a"), "ok 1 fuse/a",
						"# "+guestproto.StartDiag("fuse/b"), "not ok 2 fuse/b # TIMEOUT timed out after 1m30s"), exitWith(guestproto.VerdictMismatch))
				},
			},
			want:   []string{"fuse/a -", "fuse/b flaky: it matched its declaration on a fresh guest (boot 2)"},
			starts: []int{0, 0},
		},
		{
			name: "a hang with a kernel report needs no confirmation",
			boots: []func(guestproto.Plan) []step{
				func(p guestproto.Plan) []step {
					s := agent("KTAP version 1", "1..2", "# "+guestproto.StartDiag("fuse/a"), "ok 1 fuse/a")
					s = append(s, console(guestproto.KmsgStart(2, "fuse/b"), "INFO: task init:141 blocked for more than 30 seconds.")...)
					return append(append(s, agent("# "+guestproto.StartDiag("fuse/b"))...), step{hang: true})
				},
			},
			want:   []string{"fuse/a -", "fuse/b -"},
			starts: []int{0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := &scripted{boots: tc.boots}
			s := session{plan: testPlan("fuse/a", "fuse/b"), boot: sc.boot, timeouts: fastTimeouts, maxFaults: MaxFaultReboots, out: io.Discard, label: "base", confirm: true}
			o := s.run(context.Background())
			var got []string
			for _, sl := range o.slots {
				c := "-"
				if sl.confirm != nil {
					c = string(sl.confirm.state) + ": " + sl.confirm.how
				}
				got = append(got, sl.entry.Name+" "+c)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("confirmations (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.starts, sc.starts); d != "" {
				t.Errorf("plan starts per boot (-want +got):\n%s", d)
			}
		})
	}
}

func TestCompactRegisters(t *testing.T) {
	in := "\nCPU#0\nRAX=1 RBX=2\nRSI=3\nR8 =4\nR12=5\nRIP=ffffffff81677ffb RFL=00000202 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=1\nES =0000 0\nCR0=80050033 CR2=0\nYMM00=0\n\nCPU#1\nRIP=ffffffff81000000 RFL=00000246 HLT=0\nFPR0=0\n"
	want := "CPU#0\nRAX=1 RBX=2\nRSI=3\nR8 =4\nR12=5\nRIP=ffffffff81677ffb RFL=00000202 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=1\nCR0=80050033 CR2=0\nCPU#1\nRIP=ffffffff81000000 RFL=00000246 HLT=0"
	if got := compactRegisters(in); got != want {
		t.Errorf("compactRegisters:\n%s\nwant:\n%s", got, want)
	}
	if got := compactRegisters("info registers -a: qmp: no monitor"); got != "info registers -a: qmp: no monitor" {
		t.Errorf("an error is kept: %q", got)
	}
}
