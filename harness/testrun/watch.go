package testrun

import (
	"fmt"
	"io"
	"time"

	"dioharness/harness/guestproto"
	"dioharness/harness/ktap"
	"dioharness/harness/vm"
)

// Timeouts bound each phase of a guest run. A boot that overruns is an
// infrastructure error; a scenario that overruns after the boot is the
// kernel's fault: it is recorded as TIMEOUT and a fresh guest runs the
// rest.
type Timeouts struct {
	// Boot is from QEMU start to the agent's KTAP header.
	Boot time.Duration
	// Scenario is the longest one scenario may take, host side; the
	// agent's own per-scenario timeout is shorter.
	Scenario time.Duration
}

// DefaultTimeouts fit TCG with lockdep: boot takes ~10 s there.
var DefaultTimeouts = Timeouts{Boot: 120 * time.Second, Scenario: 240 * time.Second}

// afterPanic bounds the wait for QEMU to exit once the kernel panicked:
// with panic=-1 and -no-reboot it exits at once, so waiting longer only
// delays the next boot.
const afterPanic = 30 * time.Second

// guest is what the host needs of one booted machine; *vm.Guest is one,
// and tests use a fake.
type guest interface {
	Agent() <-chan string
	Console() *vm.Console
	Kill()
	Wait() (guestproto.Verdict, error)
	Close() error
}

// bootResult is what the host saw of one boot.
type bootResult struct {
	// lines is the raw agent stream.
	lines []string
	// booted: the agent's KTAP header arrived; bootDur is when.
	booted  bool
	bootDur time.Duration
	// plan is the agent's plan line (ktap.NoPlan without one).
	plan int
	// results are the top-level results in the order they came.
	results []ktap.Result
	// started is the scenario announced and not yet reported ("" when
	// none), and startedFor how long it had been running at the end.
	started    string
	startedFor time.Duration
	// hang is set when the host killed the guest for a timeout.
	hang string
	// panicked: the console showed a kernel panic.
	panicked bool
	// verdict and waitErr are what the exit told (vm.Guest.Wait).
	verdict guestproto.Verdict
	waitErr error
	// reports are the kernel reports of this boot's console.
	reports []vm.Report
}

// watch reads one guest's agent channel with the KTAP parser until the
// guest ends, printing one line per boot and per scenario, and kills
// the guest when a phase overruns or after a kernel panic.
func watch(g guest, t Timeouts, out io.Writer, label string) bootResult {
	r := bootResult{plan: ktap.NoPlan}
	p := ktap.NewParser()
	start := time.Now()
	timer := time.NewTimer(t.Boot)
	defer timer.Stop()
	phase := "boot to the agent"
	var scenStart time.Time
	panicked := g.Console().Panicked()
	agent := g.Agent()
	for agent != nil {
		select {
		case line, ok := <-agent:
			if !ok {
				agent = nil
				break
			}
			r.lines = append(r.lines, line)
			ev, ok := p.Feed(line)
			if !ok || ev.Depth != 0 {
				break
			}
			switch ev.Kind {
			case ktap.EventVersion:
				r.booted, r.bootDur = true, time.Since(start)
				fmt.Fprintf(out, "%s: guest agent up after %s\n", label, r.bootDur.Round(100*time.Millisecond))
				phase = "first scenario"
				resetTimer(timer, t.Scenario)
			case ktap.EventPlan:
				r.plan = ev.Plan
			case ktap.EventDiag:
				if name, ok := guestproto.ParseStart(ev.Diag); ok {
					r.started, scenStart = name, time.Now()
					phase = "scenario " + name
					resetTimer(timer, t.Scenario)
				}
			case ktap.EventResult:
				r.results = append(r.results, ev.Result)
				d := time.Duration(0)
				if !scenStart.IsZero() {
					d = time.Since(scenStart)
				}
				progress(out, label, ev.Result, d)
				r.started, scenStart = "", time.Time{}
				phase = "next scenario"
				resetTimer(timer, t.Scenario)
			}
		case <-panicked:
			// The kernel reboots at once (panic=-1, -no-reboot) and
			// QEMU exits; keep reading what is left, briefly.
			r.panicked, panicked = true, nil
			resetTimer(timer, afterPanic)
			phase = "QEMU exit after the kernel panic"
		case <-timer.C:
			bound := t.Scenario
			switch {
			case !r.booted:
				bound = t.Boot
			case r.panicked:
				bound = afterPanic
			}
			r.hang = fmt.Sprintf("no progress in %s during %s", bound, phase)
			fmt.Fprintf(out, "%s: guest hung: %s; killing it\n", label, r.hang)
			g.Kill()
			for line := range agent {
				r.lines = append(r.lines, line)
				p.Feed(line)
			}
			agent = nil
		}
	}
	if r.started != "" {
		r.startedFor = time.Since(scenStart)
	}
	r.verdict, r.waitErr = g.Wait()
	// The console and the agent channel are read apart: the agent's
	// may close before the console's reader saw the panic.
	select {
	case <-g.Console().Panicked():
		r.panicked = true
	default:
	}
	r.reports = g.Console().Reports()
	return r
}

// progress prints one scenario line: verdict word, name, host time and
// the reason when there is one.
func progress(out io.Writer, label string, r ktap.Result, d time.Duration) {
	word := "ok  "
	switch {
	case r.Directive == ktap.DirXFail:
		word = "xfail"
	case r.Directive == ktap.DirXPass:
		word = "XPASS"
	case r.Directive == ktap.DirTimeout:
		word = "TIMEOUT"
	case r.Status == ktap.Skip:
		word = "skip"
	case r.Status == ktap.Fail:
		word = "FAIL"
	}
	extra := ""
	if r.Reason != "" {
		extra = "  (" + r.Reason + ")"
	}
	fmt.Fprintf(out, "%s: %-5s %-45s %6.1fs%s\n", label, word, r.Name, d.Seconds(), extra)
}

func resetTimer(t *time.Timer, d time.Duration) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	t.Reset(d)
}
