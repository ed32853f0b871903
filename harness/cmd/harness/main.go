// Command harness builds the base or patched kernel, boots it in QEMU
// with the guest agent, runs the scenario catalogue and reports; it also
// checks and mails the patch series and drives git bisect run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/report"
	"dioharness/harness/scenario"
	"dioharness/harness/scenarios"
	"dioharness/harness/testrun"
)

const usage = `usage: harness <command> [flags]

commands:
  qemu-test     build, boot and run scenarios on one or more flavours
  list          print the scenario catalogue
  matrix        write results/matrix.{md,json} from the latest runs
  bisect        git bisect run in a kernel tree (-ksrc -good -bad -scenario)
  bisect-step   one git bisect run step: 0 good, 1 bad, 125 skip
  series-check  apply patches/, checkpatch --strict, build after each
  maintainers   regenerate the series To/Cc in MAINTAINERS.md
  send-email    git send-email --dry-run of patches/ (-send to send)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cat := scenarios.All()
	if err := cat.Validate(); err != nil {
		fmt.Fprintf(stderr, "harness: catalogue: %v\n", err)
		return 2
	}
	switch args[0] {
	case "qemu-test":
		return qemuTest(ctx, cat, args[1:], stdout, stderr)
	case "list":
		return list(cat, stdout)
	case "matrix":
		return matrix(args[1:], stdout, stderr)
	case "bisect":
		return bisect(ctx, cat, args[1:], stdout, stderr)
	case "bisect-step":
		return bisectStep(ctx, cat, args[1:], stdout, stderr)
	case "series-check":
		return seriesCheck(ctx, args[1:], stdout, stderr)
	case "maintainers":
		return maintainers(ctx, args[1:], stdout, stderr)
	case "send-email":
		return sendEmail(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "harness: unknown command %q\n%s", args[0], usage)
	return 2
}

// commonFlags are shared by the commands that build and boot.
type commonFlags struct {
	build, ksrc, scenario, accel, kernel string
	jobs, repeat                         int
	scenarioTimeout                      time.Duration
	noBuild                              bool
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.build, "build", "build", "build directory")
	fs.StringVar(&c.ksrc, "ksrc", "", "a kernel tree of your own, built as it is")
	fs.StringVar(&c.scenario, "scenario", "", "comma-separated scenario globs (default: all)")
	fs.StringVar(&c.accel, "accel", os.Getenv("QEMU_ACCEL"), "kvm or tcg (default: prove KVM by a bounded boot)")
	fs.StringVar(&c.kernel, "kernel", "patched", "flavours to run: base, patched or base,patched")
	fs.IntVar(&c.jobs, "jobs", 0, "make -j (default: CPUs)")
	fs.IntVar(&c.repeat, "repeat", 1, "run the selection N times in one boot")
	fs.BoolVar(&c.noBuild, "no-build", false, "boot the last built kernel without running make")
	fs.DurationVar(&c.scenarioTimeout, "scenario-timeout", testrun.DefaultTimeouts.Scenario, "host-side bound on one scenario before the guest is killed")
}

func (c *commonFlags) options(repo string, out io.Writer) testrun.Options {
	ccache := os.Getenv("CCACHE_DIR")
	if ccache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			ccache = filepath.Join(home, ".cache", "dioharness", "ccache")
		}
	}
	build, _ := filepath.Abs(c.build)
	return testrun.Options{
		Repo:        repo,
		Build:       build,
		KSRC:        c.ksrc,
		Scenarios:   c.scenario,
		Repeat:      c.repeat,
		Accel:       c.accel,
		Jobs:        c.jobs,
		CCacheDir:   ccache,
		Timeouts:    testrun.Timeouts{Boot: testrun.DefaultTimeouts.Boot, Scenario: c.scenarioTimeout},
		Out:         out,
		Interactive: isTerminal(out),
		NoBuild:     c.noBuild,
	}
}

func qemuTest(ctx context.Context, cat scenario.Catalogue, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qemu-test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return testrun.ExitBadArgs
	}
	repo, err := repoRoot()
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitBadArgs
	}
	if _, err := cat.Lookup(c.scenario); err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitBadArgs
	}
	flavours := strings.Split(c.kernel, ",")
	if c.ksrc != "" {
		flavours = []string{"custom"}
	}
	for _, f := range flavours {
		if f != "base" && f != "patched" && f != "custom" {
			fmt.Fprintf(stderr, "harness: unknown kernel flavour %q, want base, patched or base,patched\n", f)
			return testrun.ExitBadArgs
		}
	}
	worst := testrun.ExitOK
	runs := map[string]report.Run{}
	for _, f := range flavours {
		o := c.options(repo, stdout)
		o.Flavour = f
		res := testrun.Run(ctx, cat, o)
		runs[f] = res.Run
		worst = max(worst, res.Exit)
	}
	if len(flavours) == 2 {
		m := report.BuildMatrix(runs["base"], runs["patched"])
		fmt.Fprintln(stdout)
		if err := report.WriteMatrixMarkdown(stdout, m); err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
		}
		// Only a full catalogue run replaces the committed matrix and
		// the cover letter's quote of it.
		if c.scenario == "" && c.repeat == 1 {
			if err := writeMatrix(repo, m); err != nil {
				fmt.Fprintf(stderr, "harness: %v\n", err)
				return testrun.ExitInfra
			}
		}
		if !m.OK() && worst == testrun.ExitOK {
			worst = testrun.ExitFailed
		}
		// The closing line CI reads: rows as declared on both kernels.
		ok := 0
		for _, r := range m.Scenarios {
			if r.Matches() {
				ok++
			}
		}
		fmt.Fprintf(stdout, "\nmatrix: %d passed, %d failed\n", ok, len(m.Scenarios)-ok)
	}
	return worst
}

func list(cat scenario.Catalogue, stdout io.Writer) int {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tAREA\tBASE\tPATCHED\tPATCH")
	for _, s := range cat {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Area, s.Expected("base"), s.Expected("patched"), s.Patch)
	}
	tw.Flush()
	fmt.Fprintln(stdout)
	for _, s := range cat {
		fmt.Fprintf(stdout, "%s [%s]\n  setup:  %s\n  checks: %s\n", s.Name, s.Area, s.Setup, s.Checks)
		if s.FailsOnBase != "" {
			fmt.Fprintf(stdout, "  fails on base: %s\n", s.FailsOnBase)
		}
	}
	return 0
}

// repoRoot finds the repository from the working directory upwards.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "patches", "BASE")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("not inside the dioharness repository (no patches/BASE above %s)", dir)
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
