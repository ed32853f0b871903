package guest

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/guest/pid1"
	"dioharness/harness/ktap"
	"dioharness/harness/scenario"
)

// Main is the agent's entry point. As PID 1 it runs the scenarios named
// on the kernel command line and powers off; it never returns then.
func Main(cat scenario.Catalogue, subcommands map[string]func(args []string) int) int {
	if len(os.Args) > 1 {
		if f, ok := subcommands[os.Args[1]]; ok {
			return f(os.Args[2:])
		}
	}
	if os.Getpid() != 1 {
		fmt.Fprintf(os.Stderr, "guest agent: not PID 1 and no subcommand (have: %s)\n", strings.Join(keys(subcommands), ", "))
		return 2
	}
	if err := pid1.Setup(); err != nil {
		fmt.Fprintf(os.Stderr, "guest agent: %v\n", err)
		pid1.PowerOff(2)
	}
	out, err := os.OpenFile(pid1.AgentTTY, os.O_WRONLY|unix.O_NOCTTY, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "guest agent: %v\n", err)
		pid1.PowerOff(2)
	}
	raw, _ := os.ReadFile("/proc/cmdline")
	cl := ParseCmdline(string(raw))
	code := run(cl, cat, out)
	// Wait until the UART has sent everything: QEMU exits at once on
	// the verdict and would drop what is still in the tty buffer.
	unix.IoctlSetInt(int(out.Fd()), unix.TCSBRK, 1)
	pid1.PowerOff(byte(code))
	return 0
}

// run executes the selection and returns the verdict code: 0 when every
// scenario passed or was skipped, 1 when one failed, 2 when the agent
// could not run them.
func run(cl Cmdline, cat scenario.Catalogue, out io.Writer) int {
	w := ktap.NewWriter(out)
	if cl.Probe {
		w.Plan(0)
		return 0
	}
	sel, err := cat.Lookup(cl.Run)
	if err != nil {
		w.Plan(0)
		w.Diag("error: %v", err)
		return 2
	}
	var repeated scenario.Catalogue
	for i := 0; i < cl.Repeat; i++ {
		repeated = append(repeated, sel...)
	}
	exe, err := os.Executable()
	if err != nil {
		exe = "/init"
	}
	env := scenario.NewEnv(exe, "/tmp")
	defer env.Close()
	rep := &ktapReporter{w: w}
	if scenario.RunAll(context.Background(), repeated, env, rep) > 0 {
		return 1
	}
	return 0
}

// ktapReporter writes scenario progress as KTAP. "# start NAME" lets
// the host time each scenario and kill a hung guest.
type ktapReporter struct {
	w *ktap.Writer
	n int
}

func (r *ktapReporter) Plan(n int) { r.w.Plan(n) }

func (r *ktapReporter) Start(name string) { r.w.Diag("start %s", name) }

func (r *ktapReporter) Done(res scenario.Result) {
	r.n++
	status := ktap.Pass
	switch res.Verdict {
	case scenario.Fail:
		status = ktap.Fail
	case scenario.Skip:
		status = ktap.Skip
	}
	diag := append([]string{}, res.Log...)
	if res.Attempts > 1 {
		diag = append(diag, fmt.Sprintf("attempts: %d", res.Attempts))
	}
	r.w.Result(ktap.Result{
		Number:   r.n,
		Name:     res.Name,
		Status:   status,
		Reason:   res.Reason,
		Diag:     diag,
		Duration: res.Duration.Round(time.Millisecond),
	})
}

func keys(m map[string]func([]string) int) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}
