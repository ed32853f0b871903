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
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"

	"golang.org/x/sys/unix"

	"dioharness/harness/catalogue"
	"dioharness/harness/debian"
	"dioharness/harness/kbase"
	"dioharness/harness/kernel"
	"dioharness/harness/report"
	"dioharness/harness/testrun"
)

// command is one entry of the command table: what it does, the flag
// groups it uses, the positional arguments it takes, and its own flags.
type command struct {
	name, about string
	uses        group
	// args names the positional arguments ("RESULTS-DIR..."), at
	// least one of which is then required; argsAbout says what one is.
	args, argsAbout string
	// badInput is the exit status of bad flags or arguments: 3, or for
	// bisect-step what makes git bisect run abort.
	badInput int
	// flags registers the command's own flags on fs and returns what
	// runs the command with their values.
	flags func(fs *flag.FlagSet) action
}

// action runs a command once its flags are parsed.
type action func(ctx context.Context, in invocation) int

// invocation is a parsed command line: the values of the command's flag
// groups, its positional arguments, the catalogue and where output goes.
type invocation struct {
	c              *commonFlags
	args           []string
	cat            catalogue.Catalogue
	stdout, stderr io.Writer
}

// noFlags is a command without flags of its own.
func noFlags(run action) func(*flag.FlagSet) action {
	return func(*flag.FlagSet) action { return run }
}

// building is what the commands that build and boot kernels share.
const building = paths | jobs | accel | timeout

// commands is every command of the harness, in the order usage lists them.
var commands = []command{
	{name: "qemu-test", about: "build, boot and run scenarios on bases and flavours",
		uses:  building | bases | flavours | tree | selection | repeat | shards | noBuild | rebuild,
		flags: qemuTestFlags},
	{name: "fstests", about: "run fstests in the guest on base and patched kernels (-fstests CHECKOUT)",
		uses:  paths | jobs | accel | bases | flavours | tree | noBuild | rebuild,
		flags: fstestsFlags},
	{name: "list", about: "print the scenario catalogue and its declarations", flags: noFlags(list)},
	{name: "bases", about: "print the kernel bases (patches/*/BASE)", flags: noFlags(basesCmd)},
	{name: "matrix", about: "write results/matrix.{md,json} from the latest runs", flags: matrixFlags},
	{name: "merge", about: "join the results of several runners (-shard) into one matrix",
		uses: selection, args: "RESULTS-DIR...", argsAbout: "results directory", flags: mergeFlags},
	{name: "page", about: "write results/index.html from the JSON results", flags: pageFlags},
	{name: "bench", about: "measure parallel direct-write throughput into results/bench.json",
		uses: building | bases | flavours | noBuild | rebuild, flags: benchFlags},
	{name: "bisect", about: "find the first failing commit of a kernel tree (-ksrc -good -bad -scenario [-runs 3])",
		uses: building | tree | selection, flags: bisectFlags},
	{name: "bisect-demo", about: "plant a mutant in a 16-commit history and check bisect names it",
		uses: building | bases, flags: bisectDemoFlags},
	{name: "bisect-step", about: "one git bisect run step: 0 good, 1 bad, 125 skip",
		uses: building | tree | selection, badInput: bisectAbort, flags: noFlags(bisectStep)},
	{name: "mutants", about: "boot each mutant of mutants/<base>/ and report killed / survived",
		uses: building | bases, flags: mutantsFlags},
	{name: "fuzz", about: "run seeded workload sequences against the model and the kernel rules (-seed -n)",
		uses: building | bases | flavours | noBuild | rebuild, flags: fuzzFlags},
	{name: "mutate", about: "generate mutants of the covered functions and boot each with its area's scenarios",
		uses: building | bases, flags: mutateFlags},
	{name: "series-check", about: "apply each series, checkpatch --strict, build after each patch",
		uses: building | bases | rebuild, flags: seriesCheckFlags},
	{name: "maintainers", about: "regenerate the series' To/Cc in MAINTAINERS.md",
		uses: paths | bases, flags: noFlags(maintainers)},
	{name: "upstream-base", about: "compare the files the series touch with the tag they are sent against",
		uses: paths | bases, flags: noFlags(upstreamBase)},
	{name: "send-email", about: "git send-email --dry-run of a series (-send to send)",
		uses: paths, flags: sendEmailFlags},
	{name: "ci-keys", about: "a CI workflow's job matrix and cache keys, as GitHub Actions step outputs",
		uses: paths | bases | flavours | tree, flags: ciKeysFlags},
	{name: "ci-local", about: "the qemu-test workflow's shards as processes on this machine, merged and compared with a single run",
		uses: bases | selection, flags: ciLocalFlags},
}

// usage lists the commands.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: harness <command> [flags]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-13s %s\n", c.name, c.about)
	}
	return b.String()
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return testrun.ExitBadArgs
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage())
		return 0
	}
	i := slices.IndexFunc(commands, func(c command) bool { return c.name == args[0] })
	if i < 0 {
		fmt.Fprintf(stderr, "harness: unknown command %q\n%s", args[0], usage())
		return testrun.ExitBadArgs
	}
	cmd := commands[i]
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs, cmd.uses)
	act := cmd.flags(fs)
	rest, err := cmd.parse(fs, args[1:])
	if err == nil {
		err = c.check()
	}
	switch {
	case errors.Is(err, errHelp):
		return testrun.ExitOK
	case err != nil:
		fmt.Fprintf(stderr, "harness: %v\n", err)
		if cmd.badInput != 0 {
			return cmd.badInput
		}
		return testrun.ExitBadArgs
	}
	cat, err := catalogue.Load()
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitInfra
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return act(ctx, invocation{c: &c, args: rest, cat: cat, stdout: stdout, stderr: stderr})
}

// badArgs reports bad input in one line; the exit status says so.
func badArgs(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "harness: %v\n", err)
	return testrun.ExitBadArgs
}

// env is what the building commands share: the repository, its bases
// and the archive the sources come from.
type env struct {
	repo  string
	bases kbase.Set
}

// selectedBases loads the environment and the bases -base selects; an
// error is bad input.
func (c *commonFlags) selectedBases() (env, []kbase.Spec, error) {
	e, err := loadEnv()
	if err != nil {
		return env{}, nil, err
	}
	sel, err := e.bases.Select(c.base)
	if err != nil {
		return env{}, nil, err
	}
	return e, sel, nil
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
	return testrun.Options{
		Repo:        e.repo,
		Build:       build,
		KSRC:        c.ksrc,
		Scenarios:   c.scenario,
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
		Shard:       c.shard,
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
		fs := flavours
		if fs == nil {
			fs = b.Flavours()
		}
		for _, f := range fs {
			// A flavour that only some bases declare runs on those.
			if b.HasFlavour(f) {
				out = append(out, kbase.Variant{Base: b.Name, Flavour: f})
			}
		}
	}
	if len(out) == 0 {
		var have []string
		for _, b := range sel {
			for _, f := range b.Flavours() {
				have = append(have, b.Name+"/"+string(f))
			}
		}
		return nil, fmt.Errorf("unknown kernel flavour %q: no selected base has it (%s)", c.kernel, strings.Join(have, ", "))
	}
	return out, nil
}

// qemuTestFlags are qemu-test's own flags.
func qemuTestFlags(fs *flag.FlagSet) action {
	guests := fs.Int("guests", 1, "boot up to N guests at once, one kernel each, after building every kernel (each TCG guest runs on one host thread)")
	return func(ctx context.Context, in invocation) int { return qemuTest(ctx, in, *guests) }
}

func qemuTest(ctx context.Context, in invocation, guests int) int {
	c, cat, stdout, stderr := in.c, in.cat, in.stdout, in.stderr
	if guests < 1 || guests > 16 {
		return badArgs(stderr, fmt.Errorf("bad guests %d, want [1-16]", guests))
	}
	if _, err := cat.Lookup(c.scenario); err != nil {
		return badArgs(stderr, err)
	}
	e, opts, _, status := c.kernels(stdout, stderr)
	if status != testrun.ExitOK {
		return status
	}
	outs, worst := runKernels(ctx, cat, opts, guests, stdout)
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
	// Whatever the selection, the run's matrix is in its build
	// directory: what make ci-local compares merged shards with.
	if err := writeRunMatrix(c.build, m); err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitInfra
	}
	// Only a full catalogue run on every base and flavour (declared
	// flavours included) replaces the committed matrix and the cover
	// letters' quotes of it; an interrupted one does not.
	if fullRun(c, len(opts), e.bases) && ctx.Err() == nil {
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

// fullRun reports whether a qemu-test of n kernels is a full run: the
// whole catalogue once, unsharded, on every flavour of every base.
func fullRun(c *commonFlags, n int, bases kbase.Set) bool {
	return len(c.scenario) == 0 && !c.shard.Enabled() && c.repeat == 1 && c.kernel == "" && n == len(bases.Variants())
}

func list(_ context.Context, in invocation) int {
	cat, stdout, stderr := in.cat, in.stdout, in.stderr
	e, err := loadEnv()
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
		for _, f := range b.Flavours() {
			patches, err := kernel.FlavourPatches(b, f)
			if err != nil {
				return nil, err
			}
			subjects, err := kernel.Subjects(patches)
			if err != nil {
				return nil, err
			}
			out = append(out, catalogue.Kernel{Variant: kbase.Variant{Base: b.Name, Flavour: f}, Patches: subjects})
		}
	}
	return out, nil
}

func basesCmd(_ context.Context, in invocation) int {
	stdout, stderr := in.stdout, in.stderr
	e, err := loadEnv()
	if err != nil {
		return badArgs(stderr, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BASE\tSENT AGAINST\tTESTED ON\tDEBIAN SOURCE\tSUITES\tSERIES\tPATCHES\tMORE FLAVOURS\tDEFAULT")
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
		more := []string{}
		for _, f := range b.Extra {
			more = append(more, fmt.Sprintf("%s=%s", f.Name, strings.Join(f.Series, "+")))
		}
		fmt.Fprintf(tw, "%s\t%s (%s)\t%s\t%s %s\t%v\t%v\t%d\t%v\t%s\n", b.Name, b.Upstream, b.Target, b.Release, b.Package, b.Version, b.Suites, b.Series, len(subjects), more, def)
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
