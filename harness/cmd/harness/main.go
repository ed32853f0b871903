// Command harness builds kernel bases with and without the series,
// boots them in QEMU with the guest agent, runs the scenario catalogue
// and reports; it also checks and mails the patch series and drives git
// bisect run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/catalogue"
	"dioharness/harness/debian"
	"dioharness/harness/kbase"
	"dioharness/harness/report"
	"dioharness/harness/shard"
	"dioharness/harness/testrun"
)

const usage = `usage: harness <command> [flags]

commands:
  qemu-test     build, boot and run scenarios on bases and flavours
  fstests       run fstests in the guest on base and patched kernels (-fstests CHECKOUT)
  list          print the scenario catalogue and its declarations
  bases         print the kernel bases (patches/*/BASE)
  matrix        write results/matrix.{md,json} from the latest runs
  merge         join the results of several runners (-shard) into one matrix
  page          write results/index.html from the JSON results
  bench         measure parallel direct-write throughput into results/bench.json
  bisect        find the first failing commit of a kernel tree (-ksrc -good -bad -scenario [-runs 3])
  bisect-demo   plant a mutant in a 16-commit history and check bisect names it
  bisect-step   one git bisect run step: 0 good, 1 bad, 125 skip
  mutants       boot each mutant of mutants/<base>/ and report killed / survived
  series-check  apply each series, checkpatch --strict, build after each patch
  maintainers   regenerate the series' To/Cc in MAINTAINERS.md
  upstream-base compare the files the series touch with the tag they are sent against
  send-email    git send-email --dry-run of a series (-send to send)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return testrun.ExitBadArgs
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cat, err := catalogue.Load()
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitInfra
	}
	cmds := map[string]func(context.Context, catalogue.Catalogue, []string, io.Writer, io.Writer) int{
		"qemu-test":     qemuTest,
		"fstests":       fstestsCmd,
		"list":          list,
		"bases":         bases,
		"matrix":        matrix,
		"merge":         merge,
		"page":          page,
		"bench":         benchCmd,
		"bisect":        bisectCmd,
		"bisect-step":   bisectStep,
		"mutants":       mutants,
		"bisect-demo":   bisectDemo,
		"series-check":  seriesCheck,
		"maintainers":   maintainers,
		"upstream-base": upstreamBase,
		"send-email":    sendEmail,
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	f, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "harness: unknown command %q\n%s", args[0], usage)
		return testrun.ExitBadArgs
	}
	return f(ctx, cat, args[1:], stdout, stderr)
}

// badArgs reports bad input in one line; the exit status says so.
func badArgs(stderr io.Writer, err error) int {
	if errors.Is(err, errHelp) {
		return testrun.ExitOK
	}
	fmt.Fprintf(stderr, "harness: %v\n", err)
	return testrun.ExitBadArgs
}

// errHelp is returned by parseFlags after printing a command's flags
// for -h; the command then exits 0.
var errHelp = errors.New("help shown")

// parseFlags parses a command's flags; a bad flag is bad input, reported
// in one line by the caller.
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(out, "usage: harness %s [flags]\n", fs.Name())
		fs.PrintDefaults()
		return errHelp
	case err != nil:
		return fmt.Errorf("%s: %w (harness %s -h lists the flags)", fs.Name(), err, fs.Name())
	case fs.NArg() > 0:
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// commonFlags are shared by the commands that build and boot.
type commonFlags struct {
	build, cache, ksrc, scenario, accel, base, kernel string
	shard                                             string
	jobs, repeat                                      int
	scenarioTimeout                                   time.Duration
	noBuild, rebuild                                  bool
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.build, "build", "build", "build directory")
	fs.StringVar(&c.cache, "cache", defaultCache(), "cache shared by clones: Debian source packages, apt state, built kernel images, selftests")
	fs.StringVar(&c.ksrc, "ksrc", "", "a kernel tree of your own, built as it is (flavour custom)")
	fs.StringVar(&c.scenario, "scenario", "", "comma-separated scenario globs (default: all)")
	fs.StringVar(&c.accel, "accel", os.Getenv("QEMU_ACCEL"), "kvm or tcg (default: prove KVM by a bounded boot)")
	fs.StringVar(&c.base, "base", "", "kernel bases: a name, a comma-separated list, or all (default: the default base)")
	fs.StringVar(&c.kernel, "kernel", "", "flavours: base, patched or base,patched (default: both)")
	fs.IntVar(&c.jobs, "jobs", 0, "make -j (default: CPUs)")
	fs.IntVar(&c.repeat, "repeat", 1, "run the selection N times in one boot")
	fs.BoolVar(&c.noBuild, "no-build", false, "boot the last built kernel without running make")
	fs.BoolVar(&c.rebuild, "rebuild", false, "build kernels even when the image cache holds one for the same inputs")
	fs.StringVar(&c.shard, "shard", "", "i/N: run only the scenarios at positions p of the selection with p mod N = i-1 (harness merge joins the shards)")
	fs.DurationVar(&c.scenarioTimeout, "scenario-timeout", testrun.DefaultTimeouts.Scenario, "host-side bound on one scenario before the guest is killed")
}

// defaultCache lives outside the repository, next to ccache, so fresh
// clones on one machine (CI) share the downloaded sources.
func defaultCache() string {
	if c := os.Getenv("DIOHARNESS_CACHE"); c != "" {
		return c
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "dioharness")
	}
	return filepath.Join(os.TempDir(), "dioharness-cache")
}

// check validates the flags that need no I/O.
func (c *commonFlags) check() error {
	if c.repeat < 1 || c.repeat > 100 {
		return fmt.Errorf("bad repeat %d, want [1-100]", c.repeat)
	}
	if c.jobs < 0 {
		return fmt.Errorf("bad jobs %d, want >= 0", c.jobs)
	}
	if _, err := shard.Parse(c.shard); err != nil {
		return err
	}
	if c.scenarioTimeout <= 0 {
		return fmt.Errorf("bad scenario timeout %s, want > 0", c.scenarioTimeout)
	}
	switch c.accel {
	case "", "kvm", "tcg":
	default:
		return fmt.Errorf("QEMU_ACCEL=%s: want kvm or tcg (or empty to prove KVM by a bounded boot)", c.accel)
	}
	return nil
}

// env is what the building commands share: the repository, its bases
// and the archive the sources come from.
type env struct {
	repo  string
	bases kbase.Set
}

func loadEnv() (env, error) {
	repo, err := repoRoot()
	if err != nil {
		return env{}, err
	}
	set, err := kbase.Load(repo)
	if err != nil {
		return env{}, err
	}
	return env{repo: repo, bases: set}, nil
}

func (c *commonFlags) archive(out io.Writer) (*debian.Archive, error) {
	m, err := debian.FindMirrors("/etc/apt")
	if err != nil {
		return nil, err
	}
	return &debian.Archive{Dir: filepath.Join(c.cache, "debian"), Mirrors: m, Log: out}, nil
}

func (c *commonFlags) options(e env, out io.Writer) testrun.Options {
	ccache := os.Getenv("CCACHE_DIR")
	if ccache == "" {
		ccache = filepath.Join(c.cache, "ccache")
	}
	build, _ := filepath.Abs(c.build)
	sh, _ := shard.Parse(c.shard) // checked by check
	return testrun.Options{
		Repo:        e.repo,
		Build:       build,
		KSRC:        c.ksrc,
		Scenarios:   catalogue.Patterns(c.scenario),
		Repeat:      c.repeat,
		Accel:       c.accel,
		Jobs:        c.jobs,
		CCacheDir:   ccache,
		Cache:       c.cache,
		Rebuild:     c.rebuild,
		Timeouts:    testrun.Timeouts{Boot: testrun.DefaultTimeouts.Boot, Scenario: c.scenarioTimeout},
		Out:         out,
		Interactive: isTerminal(out),
		NoBuild:     c.noBuild,
		Shard:       sh,
	}
}

// kernels loads the bases and returns the run options of every kernel
// the flags select, and the Debian archive their sources come from (nil
// only for KSRC, which needs none, when the archive cannot be read).
// A non-zero status is what the command exits with.
func (c *commonFlags) kernels(stdout, stderr io.Writer) (env, []testrun.Options, *debian.Archive, int) {
	e, err := loadEnv()
	if err != nil {
		return e, nil, nil, badArgs(stderr, err)
	}
	vs, err := c.variants(e)
	if err != nil {
		return e, nil, nil, badArgs(stderr, err)
	}
	arch, err := c.archive(stdout)
	if err != nil && c.ksrc == "" {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return e, nil, nil, testrun.ExitInfra
	}
	opts := make([]testrun.Options, len(vs))
	for i, v := range vs {
		if opts[i], err = c.kernelOptions(e, v, arch, stdout); err != nil {
			return e, nil, nil, badArgs(stderr, err)
		}
	}
	return e, opts, arch, testrun.ExitOK
}

// kernelOptions are the run options of kernel v: the common flags, the
// Debian archive and, for a base's flavours, the base's description.
func (c *commonFlags) kernelOptions(e env, v kbase.Variant, arch *debian.Archive, out io.Writer) (testrun.Options, error) {
	o := c.options(e, out)
	o.Variant, o.Archive = v, arch
	if v.Base == "" {
		return o, nil
	}
	spec, err := e.bases.Get(v.Base)
	if err != nil {
		return o, err
	}
	return testrun.ForBase(o, spec)
}

// variants turns -base, -kernel and -ksrc into the kernels to run.
func (c *commonFlags) variants(e env) ([]kbase.Variant, error) {
	if c.ksrc != "" {
		if c.base != "" || c.kernel != "" {
			return nil, errors.New("KSRC builds a tree of your own: it takes no BASE or KERNEL")
		}
		return []kbase.Variant{{Flavour: kbase.Custom}}, nil
	}
	sel, err := e.bases.Select(c.base)
	if err != nil {
		return nil, err
	}
	flavours, err := kbase.ParseFlavours(c.kernel)
	if err != nil {
		return nil, err
	}
	var out []kbase.Variant
	for _, b := range sel {
		for _, f := range flavours {
			out = append(out, kbase.Variant{Base: b.Name, Flavour: f})
		}
	}
	return out, nil
}

func qemuTest(ctx context.Context, cat catalogue.Catalogue, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qemu-test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	guests := fs.Int("guests", 1, "boot up to N guests at once, one kernel each, after building every kernel (each TCG guest runs on one host thread)")
	if err := parseFlags(fs, args); err != nil {
		return badArgs(stderr, err)
	}
	if err := c.check(); err != nil {
		return badArgs(stderr, err)
	}
	if *guests < 1 || *guests > 16 {
		return badArgs(stderr, fmt.Errorf("bad guests %d, want [1-16]", *guests))
	}
	if _, err := cat.Lookup(catalogue.Patterns(c.scenario)); err != nil {
		return badArgs(stderr, err)
	}
	e, opts, _, status := c.kernels(stdout, stderr)
	if status != testrun.ExitOK {
		return status
	}
	outs, worst := runKernels(ctx, cat, opts, *guests, stdout)
	if worst == testrun.ExitBadArgs {
		return worst
	}
	var runs []report.Run
	for _, oc := range outs {
		runs = append(runs, oc.Run)
	}
	if len(runs) < 2 {
		return worst
	}
	m := report.BuildMatrix(runs...)
	fmt.Fprintln(stdout)
	if err := report.WriteMatrixMarkdown(stdout, m); err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
	}
	// Only a full catalogue run on every base and flavour replaces the
	// committed matrix and the cover letters' quotes of it.
	if c.scenario == "" && c.shard == "" && c.repeat == 1 && c.kernel == "" && len(opts) == 2*len(e.bases) {
		if err := writeMatrix(e, cat, m); err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return testrun.ExitInfra
		}
	}
	if !m.OK() && worst == testrun.ExitOK {
		worst = testrun.ExitFailed
	}
	fmt.Fprintf(stdout, "\n%s\n", m.Summary())
	return worst
}

// envOnly parses a command that takes no flags and loads the bases.
func envOnly(name string, args []string, stderr io.Writer) (env, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := parseFlags(fs, args); err != nil {
		return env{}, err
	}
	return loadEnv()
}

func list(_ context.Context, cat catalogue.Catalogue, args []string, stdout, stderr io.Writer) int {
	e, err := envOnly("list", args, stderr)
	if err != nil {
		return badArgs(stderr, err)
	}
	kernels, err := declaredKernels(e)
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitInfra
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "SCENARIO\tAREA")
	for _, k := range kernels {
		fmt.Fprintf(tw, "\t%s", k.Variant)
	}
	fmt.Fprintln(tw)
	for _, s := range cat {
		fmt.Fprintf(tw, "%s\t%s", s.Name, s.Area)
		for _, k := range kernels {
			fmt.Fprintf(tw, "\t%s", catalogue.Expected(s, k).Verdict)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintln(stdout)
	for _, s := range cat {
		fmt.Fprintf(stdout, "%s [%s]\n  setup:  %s\n  checks: %s\n", s.Name, s.Area, s.Setup, s.Checks)
		if s.Patch != "" {
			fmt.Fprintf(stdout, "  proves: %s\n  fails without it: %s\n", s.Patch, s.FailsOnBase)
		}
		for b, why := range s.Differs {
			fmt.Fprintf(stdout, "  fails on %s: %s\n", b, why)
		}
	}
	return 0
}

// declaredKernels are every base and flavour with the patches each
// applies: what `list` shows declarations for.
func declaredKernels(e env) ([]catalogue.Kernel, error) {
	var out []catalogue.Kernel
	for _, b := range e.bases {
		subjects, err := baseSubjects(b)
		if err != nil {
			return nil, err
		}
		out = append(out,
			catalogue.Kernel{Variant: kbase.Variant{Base: b.Name, Flavour: kbase.Base}},
			catalogue.Kernel{Variant: kbase.Variant{Base: b.Name, Flavour: kbase.Patched}, Patches: subjects})
	}
	return out, nil
}

func bases(_ context.Context, _ catalogue.Catalogue, args []string, stdout, stderr io.Writer) int {
	e, err := envOnly("bases", args, stderr)
	if err != nil {
		return badArgs(stderr, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BASE\tSENT AGAINST\tTESTED ON\tDEBIAN SOURCE\tSUITES\tSERIES\tPATCHES\tDEFAULT")
	for _, b := range e.bases {
		subjects, err := baseSubjects(b)
		if err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return testrun.ExitInfra
		}
		def := ""
		if b.Default {
			def = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s (%s)\t%s\t%s %s\t%v\t%v\t%d\t%s\n", b.Name, b.Upstream, b.Target, b.Release, b.Package, b.Version, b.Suites, b.Series, len(subjects), def)
	}
	tw.Flush()
	return 0
}

// repoRoot finds the repository from the working directory upwards.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "harness", "kbase")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "patches")); err == nil {
				return d, nil
			}
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("not inside the dioharness repository (no patches/ and harness/ above %s)", dir)
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
