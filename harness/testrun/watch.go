package testrun

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"dioharness/harness/guestproto"
	"dioharness/harness/ktap"
	"dioharness/harness/vm"
)

// Timeouts bound each phase of a guest run. A booted guest is hung when
// its console and its agent port both stay silent for Silence (the agent
// writes a heartbeat every guestproto.AliveInterval, so a running agent
// is never silent), when a phase outlives its hard cap, or when the
// kernel reported a hang in the running scenario and the scenario has
// not ended Silence later. A guest that keeps printing is waiting for
// CPU on a loaded host, not hung: only the caps bound it. A boot that
// hangs is an infrastructure error; a scenario that hangs after the
// boot is the kernel's fault: it is recorded as TIMEOUT, and a fresh
// guest runs the rest.
type Timeouts struct {
	// Boot caps the time from QEMU start to the agent's KTAP header.
	Boot time.Duration
	// Scenario caps one scenario, host side; the agent's own
	// per-scenario timeout is shorter.
	Scenario time.Duration
	// Silence is how long a guest whose agent is up may print nothing
	// at all; a boot is bounded by Boot alone.
	Silence time.Duration
	// Evidence bounds each wait while the host gathers the evidence of
	// a hang: the guest's answer, then the end of the guest.
	Evidence time.Duration
}

// DefaultTimeouts fit TCG with lockdep on a loaded host: a boot takes
// 17-42 s there and prints all along; a minute of silence is six missed
// heartbeats.
var DefaultTimeouts = Timeouts{Boot: 10 * time.Minute, Scenario: 240 * time.Second, Silence: time.Minute, Evidence: 30 * time.Second}

// withDefaults fills the zero fields from DefaultTimeouts.
func (t Timeouts) withDefaults() Timeouts {
	d := DefaultTimeouts
	if t.Boot <= 0 {
		t.Boot = d.Boot
	}
	if t.Scenario <= 0 {
		t.Scenario = d.Scenario
	}
	if t.Silence <= 0 {
		t.Silence = d.Silence
	}
	if t.Evidence <= 0 {
		t.Evidence = d.Evidence
	}
	return t
}

// scale is how much longer than its default the scenario bound is (1
// when it is not longer): the guest stretches its scenarios' own
// timeouts by as much (guestproto.Plan.TimeoutScale), so a loaded host
// given a longer SCENARIO_TIMEOUT does not fail a slow scenario at its
// declared timeout.
func (t Timeouts) scale() float64 {
	t = t.withDefaults()
	return max(1, float64(t.Scenario)/float64(DefaultTimeouts.Scenario))
}

// afterPanic bounds the wait for QEMU to exit once the kernel panicked:
// with panic=-1 and -no-reboot it exits at once, so waiting longer only
// delays the next boot.
const afterPanic = 30 * time.Second

// slowBoot is a boot whose time is worth the host's load beside it.
const slowBoot = 45 * time.Second

// guest is what the host needs of one booted machine; *vm.Guest is one,
// and tests use a fake.
type guest interface {
	Agent() <-chan string
	Console() *vm.Console
	Kill()
	Wait() (guestproto.Verdict, error)
	Close() error
	// Registers, InjectNMI and SendAgent gather a hang's evidence.
	Registers() (string, error)
	InjectNMI() error
	SendAgent(line string) error
}

// frame is one evidence frame the guest wrote on the agent port.
type frame struct {
	what string
	// test is the boot-local number of the scenario that was running
	// when it began (0 when none was).
	test  int
	lines []guestproto.Evidence
	ended bool
}

// summary is the frame's summary section.
func (f *frame) summary() []string {
	var out []string
	for _, l := range f.lines {
		if l.Section == guestproto.SectionSummary {
			out = append(out, l.Text)
		}
	}
	return out
}

// hangRecord is what the host gathered of a guest it judged hung,
// before it ended it.
type hangRecord struct {
	// why the host judged the guest hung.
	why string
	// load is the host's /proc/loadavg at that moment.
	load string
	// registers are QEMU's "info registers -a", sampled twice a
	// moment apart (a CPU whose RIP moved is running), or why not.
	registers []string
	// guest is the watchdog's answer, nil when none came.
	guest *frame
	// nmi: the guest did not end after the watchdog's answer (or
	// gave none), so the host injected an NMI.
	nmi bool
	// console holds the console lines that followed the request: the
	// agent's goroutines, the panic and what panic_print printed.
	console []string
	took    time.Duration
}

// bootResult is what the host saw of one boot.
type bootResult struct {
	// lines is the raw agent stream.
	lines []string
	// booted: the agent's KTAP header arrived; bootDur is when.
	booted  bool
	bootDur time.Duration
	// load is the host's load average when a boot was slow.
	load string
	// plan is the agent's plan line (ktap.NoPlan without one).
	plan int
	// results are the top-level results in the order they came.
	results []ktap.Result
	// started is the scenario announced and not yet reported ("" when
	// none), and startedFor how long it had been running at the end.
	started    string
	startedFor time.Duration
	// hang is set when the host judged the guest hung and ended it;
	// hangRec is what it gathered first.
	hang    string
	hangRec *hangRecord
	// frames are the evidence frames the guest sent (the agent's own
	// scenario timeouts, the watchdog's answer).
	frames []*frame
	// panicked: the console showed a kernel panic the host did not
	// cause.
	panicked bool
	// verdict and waitErr are what the exit told (vm.Guest.Wait).
	verdict guestproto.Verdict
	waitErr error
	// reports are the kernel reports of this boot's console.
	reports []vm.Report
}

// watcher follows one guest.
type watcher struct {
	g     guest
	t     Timeouts
	out   io.Writer
	label string
	p     *ktap.Parser
	r     bootResult
	start time.Time
	// lastSign is when the guest last printed anything; phaseStart is
	// when the current phase began, phase names it.
	lastSign, phaseStart time.Time
	phase                string
	cap                  time.Duration
	consoleLines         int
	scenStart            time.Time
	// hangSeen is when the console first showed a hang report of the
	// running scenario; hangSeenOf is its report.
	hangSeen   time.Time
	hangSeenOf vm.Report
	cur        *frame
	panicAt    time.Time
	// judged: the host decided the guest is hung; KTAP results that
	// still come are kept raw, not counted.
	judged bool
}

// watch reads one guest's agent channel with the KTAP parser until the
// guest ends, printing one line per boot and per scenario. When the
// guest is hung (Timeouts) it gathers the evidence and ends it; after a
// kernel panic it waits a bounded time for QEMU to exit.
func watch(g guest, t Timeouts, out io.Writer, label string) bootResult {
	t = t.withDefaults()
	now := time.Now()
	w := &watcher{g: g, t: t, out: out, label: label, p: ktap.NewParser(), r: bootResult{plan: ktap.NoPlan},
		start: now, lastSign: now, phaseStart: now, phase: "boot to the agent", cap: t.Boot}
	tick := time.NewTicker(min(time.Second, t.Silence/4))
	defer tick.Stop()
	panicked := g.Console().Panicked()
	agent := g.Agent()
	for agent != nil {
		select {
		case line, ok := <-agent:
			if !ok {
				agent = nil
				break
			}
			w.line(line)
		case <-panicked:
			// The kernel reboots at once (panic=-1, -no-reboot) and
			// QEMU exits; keep reading what is left, briefly.
			w.r.panicked, panicked = true, nil
			w.panicAt = time.Now()
		case now := <-tick.C:
			why := w.judge(now)
			if why == "" {
				break
			}
			if w.r.panicked {
				// The kernel panicked by itself: its console says
				// what there is to say.
				fmt.Fprintf(out, "%s: %s; killing it\n", label, why)
				w.r.hang = why
			} else {
				w.hung(why, agent)
			}
			g.Kill()
			for line := range agent {
				w.r.lines = append(w.r.lines, line)
			}
			agent = nil
		}
	}
	r := w.r
	if r.started != "" {
		r.startedFor = time.Since(w.scenStart)
	}
	r.verdict, r.waitErr = g.Wait()
	if r.hangRec != nil {
		r.hangRec.console = g.Console().After()
	}
	// The console and the agent channel are read apart: the agent's
	// may close before the console's reader saw the panic. A panic the
	// host caused is none of the kernel's.
	select {
	case <-g.Console().Panicked():
		r.panicked = r.hangRec == nil
	default:
	}
	r.reports = g.Console().Reports()
	return r
}

// line takes one line of the agent port.
func (w *watcher) line(line string) {
	w.r.lines = append(w.r.lines, line)
	w.lastSign = time.Now()
	if guestproto.IsAgentLine(line) {
		w.evidence(line)
		return
	}
	ev, ok := w.p.Feed(line)
	if !ok || ev.Depth != 0 || w.judged {
		return
	}
	switch ev.Kind {
	case ktap.EventVersion:
		w.r.booted, w.r.bootDur = true, time.Since(w.start)
		extra := ""
		if w.r.bootDur > slowBoot {
			w.r.load = hostLoad()
			extra = " (host load " + w.r.load + ")"
		}
		fmt.Fprintf(w.out, "%s: guest agent up after %s%s\n", w.label, w.r.bootDur.Round(100*time.Millisecond), extra)
		w.enter("first scenario")
	case ktap.EventPlan:
		w.r.plan = ev.Plan
	case ktap.EventDiag:
		if name, ok := guestproto.ParseStart(ev.Diag); ok {
			w.r.started, w.scenStart = name, time.Now()
			w.enter("scenario " + name)
		}
	case ktap.EventResult:
		w.r.results = append(w.r.results, ev.Result)
		d := time.Duration(0)
		if !w.scenStart.IsZero() {
			d = time.Since(w.scenStart)
		}
		progress(w.out, w.label, ev.Result, d)
		w.r.started, w.scenStart = "", time.Time{}
		w.enter("next scenario")
	}
}

// enter starts a phase capped at Scenario.
func (w *watcher) enter(phase string) {
	w.phase, w.phaseStart, w.cap = phase, time.Now(), w.t.Scenario
	w.hangSeen = time.Time{}
}

// evidence takes one of the agent's own lines: a heartbeat (nothing
// more to do) or a line of an evidence frame.
func (w *watcher) evidence(line string) {
	e, ok := guestproto.ParseEvidence(line)
	switch {
	case !ok:
	case e.Begin:
		test := 0
		if w.r.started != "" {
			test = len(w.r.results) + 1
		}
		w.cur = &frame{what: e.What, test: test}
		w.r.frames = append(w.r.frames, w.cur)
	case w.cur == nil:
	case e.End:
		w.cur.ended, w.cur = true, nil
	default:
		w.cur.lines = append(w.cur.lines, e)
	}
}

// judge says why the guest is hung at now, or "".
func (w *watcher) judge(now time.Time) string {
	if w.r.panicked {
		if now.Sub(w.panicAt) > afterPanic {
			return fmt.Sprintf("QEMU did not exit within %s of the kernel panic", afterPanic)
		}
		return ""
	}
	if n, last := w.g.Console().Activity(); n != w.consoleLines {
		w.consoleLines = n
		if last.After(w.lastSign) {
			w.lastSign = last
		}
	}
	if w.r.started != "" && w.hangSeen.IsZero() {
		n := len(w.r.results) + 1
		for _, rep := range w.g.Console().Reports() {
			if rep.Hang && rep.Test == n {
				w.hangSeen, w.hangSeenOf = now, rep
				break
			}
		}
	}
	switch {
	case w.r.booted && now.Sub(w.lastSign) > w.t.Silence:
		// Before the agent is up nothing beats: a kernel unpacking
		// its initramfs under TCG on a loaded host is silent for
		// minutes. Only the boot's cap bounds it.
		return fmt.Sprintf("no output from the guest (console or agent) for %s during %s", w.t.Silence, w.phase)
	case now.Sub(w.phaseStart) > w.cap:
		return fmt.Sprintf("%s took longer than %s", w.phase, w.cap)
	case !w.hangSeen.IsZero() && now.Sub(w.hangSeen) > w.t.Silence:
		why := fmt.Sprintf("the kernel reported a hang during %s (%s", w.phase, w.hangSeenOf.Title)
		if w.hangSeenOf.Blocked != "" {
			why += ", in " + w.hangSeenOf.Blocked
		}
		return why + fmt.Sprintf(") and it did not end within %s", w.t.Silence)
	}
	return ""
}

// hung gathers the evidence of a hung guest: QEMU's view of the vCPUs,
// then the guest's own (the watchdog's answer, and the agent's
// goroutines and the kernel's panic_print on the console as the guest
// ends), then, if the guest is still there, an NMI's panic. The caller
// kills the guest after.
func (w *watcher) hung(why string, agent <-chan string) {
	start := time.Now()
	w.judged = true
	w.r.hang = why
	rec := &hangRecord{why: why, load: hostLoad()}
	w.r.hangRec = rec
	fmt.Fprintf(w.out, "%s: guest hung: %s (host load %s); gathering evidence\n", w.label, why, rec.load)
	gap := min(time.Second, w.t.Evidence/10)
	for i := range 2 {
		if i > 0 {
			time.Sleep(gap)
		}
		regs, err := w.g.Registers()
		if err != nil {
			regs = "info registers -a: " + err.Error()
		}
		rec.registers = append(rec.registers, regs)
	}
	w.g.Console().Induce()
	before := len(w.r.frames)
	if err := w.g.SendAgent(guestproto.DumpRequest); err != nil {
		fmt.Fprintf(w.out, "%s: dump request: %v\n", w.label, err)
	}
	answered := func() bool {
		for _, f := range w.r.frames[before:] {
			if f.what == "host request" {
				rec.guest = f
				return f.ended
			}
		}
		return false
	}
	never := func() bool { return false }
	open := w.drain(agent, w.t.Evidence, answered)
	if open && rec.guest != nil && rec.guest.ended {
		// The watchdog ends the agent after its answer, and the
		// kernel panics; a guest still here needs the NMI.
		open = w.drain(agent, w.t.Evidence, never)
	}
	if open {
		rec.nmi = true
		if err := w.g.InjectNMI(); err != nil {
			fmt.Fprintf(w.out, "%s: NMI: %v\n", w.label, err)
		}
		w.drain(agent, w.t.Evidence, never)
	}
	rec.took = time.Since(start)
	got := "no answer from the guest"
	if rec.guest != nil {
		got = fmt.Sprintf("the guest's evidence (%d lines)", len(rec.guest.lines))
	}
	if rec.nmi {
		got += ", an NMI"
	}
	fmt.Fprintf(w.out, "%s: evidence gathered in %s: %s\n", w.label, rec.took.Round(100*time.Millisecond), got)
}

// drain reads the agent port until done says so (false), the guest
// ends (the channel closes: false) or d passes (true: still open).
func (w *watcher) drain(agent <-chan string, d time.Duration, done func() bool) (open bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-agent:
			if !ok {
				return false
			}
			w.line(line)
			if done() {
				return true
			}
		case <-timer.C:
			return true
		}
	}
}

// hostLoad is the host's /proc/loadavg, "" when unreadable.
func hostLoad() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
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
