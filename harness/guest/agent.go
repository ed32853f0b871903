package guest

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/guest/pid1"
	"dioharness/harness/guestproto"
	"dioharness/harness/ktap"
	"dioharness/harness/scenario"
	"dioharness/harness/verdict"
)

// Main is the agent's entry point. As PID 1 it runs the host's plan and
// powers off; it never returns then.
func Main(cat scenario.Catalogue, subcommands map[string]func(args []string) int) int {
	if len(os.Args) > 1 {
		if os.Args[1] == "catalogue" {
			return printCatalogue(cat, os.Stdout, os.Stderr)
		}
		if f, ok := subcommands[os.Args[1]]; ok {
			return f(os.Args[2:])
		}
	}
	if os.Getpid() != 1 {
		fmt.Fprintf(os.Stderr, "guest agent: not PID 1 and no subcommand (have: catalogue, %s)\n", strings.Join(keys(subcommands), ", "))
		return 2
	}
	// Until the plan is read there is neither an agent channel nor an
	// exit port: errors go to the kernel console (stderr) and the VM
	// reboots, which the host reads as a failed boot.
	if err := pid1.Setup(); err != nil {
		fmt.Fprintf(os.Stderr, "guest agent: %v\n", err)
		pid1.PowerOff(0, byte(guestproto.VerdictAgentError))
	}
	raw, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		fmt.Fprintf(os.Stderr, "guest agent: %v\n", err)
		pid1.PowerOff(0, byte(guestproto.VerdictAgentError))
	}
	cl := guestproto.ParseCmdline(string(raw))
	plan, err := readPlan(cl)
	if err != nil {
		fmt.Fprintf(os.Stderr, "guest agent: %v\n", err)
		pid1.PowerOff(0, byte(guestproto.VerdictAgentError))
	}
	out, err := os.OpenFile(plan.AgentTTY, os.O_WRONLY|unix.O_NOCTTY, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "guest agent: %v\n", err)
		pid1.PowerOff(plan.ExitPort, byte(guestproto.VerdictAgentError))
	}
	exe, err := os.Executable()
	if err != nil {
		exe = "/init"
	}
	if !cl.Probe {
		// The watchdog's SIGQUIT dumps every goroutine, not only the
		// one that took the signal.
		debug.SetTraceback("all")
		if err := startWatchdog(exe, plan.AgentTTY); err != nil {
			fmt.Fprintf(os.Stderr, "guest agent: %v\n", err)
			pid1.PowerOff(plan.ExitPort, byte(guestproto.VerdictAgentError))
		}
	}
	v := run(cl, plan, cat, out, exe, writeKmsg, true)
	// Wait until the UART has sent everything: QEMU exits at once on
	// the verdict and would drop what is still in the tty buffer.
	unix.IoctlSetInt(int(out.Fd()), unix.TCSBRK, 1)
	pid1.PowerOff(plan.ExitPort, byte(v))
	return 0
}

// readPlan reads the plan the command line points at.
// printCatalogue writes the declarations of cat, the host's
// harness/catalogue/catalogue.json (make generate).
func printCatalogue(cat scenario.Catalogue, stdout, stderr io.Writer) int {
	if err := cat.Validate(); err != nil {
		fmt.Fprintf(stderr, "guest agent: catalogue: %v\n", err)
		return 2
	}
	b, err := cat.Declarations().Encode()
	if err == nil {
		_, err = stdout.Write(b)
	}
	if err != nil {
		fmt.Fprintf(stderr, "guest agent: catalogue: %v\n", err)
		return 2
	}
	return 0
}

func readPlan(cl guestproto.Cmdline) (guestproto.Plan, error) {
	if cl.Plan == "" {
		return guestproto.Plan{}, fmt.Errorf("no %s= on the kernel command line", guestproto.KeyPlan)
	}
	b, err := os.ReadFile(cl.Plan)
	if err != nil {
		return guestproto.Plan{}, fmt.Errorf("read the plan: %w", err)
	}
	return guestproto.DecodePlan(b)
}

// run executes what this boot has to run of the plan and returns the
// verdict the agent reports through the exit port. preloadProbes loads
// the probe set before the first scenario (a guest does; unit tests
// of run, on the host, do not).
func run(cl guestproto.Cmdline, plan guestproto.Plan, cat scenario.Catalogue, out io.Writer, exe string, kmsg func(string), preloadProbes bool) guestproto.Verdict {
	w := ktap.NewWriter(out)
	if cl.Probe {
		w.Plan(0)
		return guestproto.VerdictOK
	}
	defer heartbeat(w)()
	if plan.FSTests != nil {
		return runFSTests(plan, w, exe, kmsg)
	}
	runs := plan.Remaining()
	byName := map[string]scenario.Scenario{}
	for _, s := range cat {
		byName[s.Name] = s
	}
	sel := make(scenario.Catalogue, 0, len(runs))
	for _, e := range runs {
		s, ok := byName[e.Name]
		if !ok {
			w.Plan(0)
			w.Diag("error: the plan names %q, which this agent does not have", e.Name)
			return guestproto.VerdictAgentError
		}
		sel = append(sel, s)
	}
	env := scenario.NewEnv(exe, "/tmp")
	env.Disks, env.SelftestDir, env.Base, env.Fuzz = plan.Disks, plan.SelftestDir, plan.Base, plan.Fuzz
	env.OnTimeout = timeoutEvidence(w)
	env.TimeoutScale = plan.TimeoutScale
	defer env.Close()
	// Outside every scenario's timeout; the watcher on the host bounds
	// this phase as it bounds a scenario.
	if preloadProbes {
		if d, err := env.LoadProbes(); err != nil {
			w.Diag("probes: loading them for this boot failed after %s, before the first scenario: %v", d.Round(time.Millisecond), err)
		} else {
			w.Diag("probes: loaded for this boot in %s, before the first scenario", d.Round(time.Millisecond))
		}
	}
	rep := &ktapReporter{w: w, runs: runs, kmsg: kmsg}
	scenario.RunAll(context.Background(), sel, env, rep)
	w.Totals(ktap.Count(rep.results))
	if rep.mismatches > 0 {
		return guestproto.VerdictMismatch
	}
	return guestproto.VerdictOK
}

// ktapReporter writes scenario progress as KTAP and marks the kernel
// log around each scenario, so the host can time it, kill a hung guest
// and attribute a kernel report to it.
type ktapReporter struct {
	w          *ktap.Writer
	runs       []guestproto.Entry // what the plan expects, in run order
	kmsg       func(string)
	results    []ktap.Result
	mismatches int
}

func (r *ktapReporter) Plan(n int) { r.w.Plan(n) }

func (r *ktapReporter) Start(name string) {
	r.kmsg(guestproto.KmsgStart(len(r.results)+1, name))
	r.w.Diag("%s", guestproto.StartDiag(name))
}

func (r *ktapReporter) Done(res scenario.Result) {
	e := r.runs[len(r.results)]
	kr, matched := result(e, res)
	kr.Number = len(r.results) + 1
	r.results = append(r.results, kr)
	if !matched {
		r.mismatches++
	}
	r.w.Result(kr)
	r.kmsg(guestproto.KmsgEnd(kr.Number, res.Name, res.Verdict))
}

// result turns a scenario's outcome into its KTAP result, judged against
// the plan's expectation the way kselftest reports: XFAIL for a declared
// failure that happened (the actual failure in a diagnostic), XPASS for
// a declared failure that did not, TIMEOUT for a scenario the runner
// ended at its timeout. matched says whether the outcome is what the
// plan declared; a skip matches, proving nothing either way.
func result(e guestproto.Entry, res scenario.Result) (r ktap.Result, matched bool) {
	r = ktap.Result{
		Name:     res.Name,
		Diag:     append([]string{}, res.Log...),
		Duration: res.Duration.Round(time.Millisecond),
	}
	if res.Attempts > 1 {
		r.Diag = append(r.Diag, guestproto.AttemptsDiag(res.Attempts))
	}
	switch {
	case res.Verdict == verdict.Skip:
		r.Status, r.Reason = ktap.Skip, res.Reason
		return r, true
	case res.TimedOut:
		r.Status, r.Directive, r.Reason = ktap.Fail, ktap.DirTimeout, res.Reason
		return r, false
	case res.Verdict == verdict.Fail && e.XFail:
		r.Status, r.Directive, r.Reason = ktap.Pass, ktap.DirXFail, e.Reason
		r.Diag = append(r.Diag, guestproto.FailureDiag(res.Reason))
		return r, true
	case res.Verdict == verdict.Fail:
		r.Status, r.Reason = ktap.Fail, res.Reason
		return r, false
	case e.XFail:
		r.Status, r.Directive, r.Reason = ktap.Pass, ktap.DirXPass, e.Reason
		return r, false
	}
	r.Status = ktap.Pass
	return r, true
}

// writeKmsg writes one line to the kernel log. The trailing newline
// matters: printk keeps a record without one open for continuation, and
// consoles print only finished records, so the marker would reach the
// console only with the next kernel message (never, before a hang).
func writeKmsg(msg string) {
	f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(strings.ReplaceAll(msg, "\n", " ") + "\n")
}

func keys(m map[string]func([]string) int) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}
