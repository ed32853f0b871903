package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dioharness/harness/catalogue"
	"dioharness/harness/shard"
	"dioharness/harness/testrun"
	"dioharness/harness/vm"
)

// group is a set of flags that several commands share; a command
// registers the groups it uses and no other, so a flag it would ignore
// is an unknown flag (exit 3), never accepted in silence.
type group uint

// The flag groups.
const (
	// paths: -build, -cache.
	paths group = 1 << iota
	// jobs: -jobs.
	jobs
	// bases: -base.
	bases
	// flavours: -kernel.
	flavours
	// tree: -ksrc, a kernel tree of one's own.
	tree
	// selection: -scenario, parsed into a list of patterns.
	selection
	// repeat: -repeat.
	repeat
	// shards: -shard, parsed into a shard.Shard.
	shards
	// accel: -accel.
	accel
	// timeout: -scenario-timeout.
	timeout
	// noBuild: -no-build.
	noBuild
	// rebuild: -rebuild.
	rebuild
)

// commonFlags are the values of the flag groups, parsed: a command
// reads only those of the groups it registered; the others keep their
// defaults.
type commonFlags struct {
	build, cache, ksrc, accel, base, kernel string
	scenario                                []string
	shard                                   shard.Shard
	jobs, repeat                            int
	scenarioTimeout                         time.Duration
	noBuild, rebuild                        bool
}

// register adds the flags of groups g to fs, with their defaults.
func (c *commonFlags) register(fs *flag.FlagSet, g group) {
	c.build, c.cache, c.repeat = "build", defaultCache(), 1
	c.accel, c.scenarioTimeout = os.Getenv("QEMU_ACCEL"), testrun.DefaultTimeouts.Scenario
	if g&paths != 0 {
		fs.StringVar(&c.build, "build", c.build, "build directory")
		fs.StringVar(&c.cache, "cache", c.cache, "cache shared by clones: Debian source packages, apt state, built kernel images, selftests")
	}
	if g&jobs != 0 {
		fs.IntVar(&c.jobs, "jobs", 0, "make -j (default: CPUs)")
	}
	if g&bases != 0 {
		fs.StringVar(&c.base, "base", "", "kernel bases: a name, a comma-separated list, or all (default: the default base)")
	}
	if g&flavours != 0 {
		fs.StringVar(&c.kernel, "kernel", "", "flavours: base, patched or base,patched (default: both)")
	}
	if g&tree != 0 {
		fs.StringVar(&c.ksrc, "ksrc", "", "a kernel tree of your own, built as it is (flavour custom)")
	}
	if g&selection != 0 {
		fs.Func("scenario", "comma-separated scenario globs, in run order (default: all)", func(s string) error {
			c.scenario = catalogue.Patterns(s)
			return nil
		})
	}
	if g&repeat != 0 {
		fs.IntVar(&c.repeat, "repeat", c.repeat, "run the selection N times in one boot")
	}
	if g&shards != 0 {
		fs.Func("shard", "i/N: run only the scenarios at positions p of the selection with p mod N = i-1 (harness merge joins the shards)", func(s string) error {
			var err error
			c.shard, err = shard.Parse(s)
			return err
		})
	}
	if g&accel != 0 {
		fs.StringVar(&c.accel, "accel", c.accel, "kvm or tcg (default: prove KVM by a bounded boot)")
	}
	if g&timeout != 0 {
		fs.DurationVar(&c.scenarioTimeout, "scenario-timeout", c.scenarioTimeout, "host-side bound on one scenario before the guest is killed")
	}
	if g&noBuild != 0 {
		fs.BoolVar(&c.noBuild, "no-build", false, "boot the last built kernel without running make")
	}
	if g&rebuild != 0 {
		fs.BoolVar(&c.rebuild, "rebuild", false, "build kernels even when the image cache holds one for the same inputs")
	}
}

// check validates the values, and that an accelerator asked for can
// work on this host (kvm needs /dev/kvm): refused before any build.
func (c *commonFlags) check() error {
	if c.repeat < 1 || c.repeat > 100 {
		return fmt.Errorf("bad repeat %d, want [1-100]", c.repeat)
	}
	if c.jobs < 0 {
		return fmt.Errorf("bad jobs %d, want >= 0", c.jobs)
	}
	if c.scenarioTimeout <= 0 {
		return fmt.Errorf("bad scenario timeout %s, want > 0", c.scenarioTimeout)
	}
	switch c.accel {
	case "", "kvm", "tcg":
	default:
		return fmt.Errorf("QEMU_ACCEL=%s: want kvm or tcg (or empty to prove KVM by a bounded boot)", c.accel)
	}
	if c.accel != "" {
		if err := vm.CheckAccel(c.accel); err != nil {
			return fmt.Errorf("QEMU_ACCEL=%s: %w", c.accel, err)
		}
	}
	return nil
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

// errHelp is returned by parse after printing a command's flags for -h;
// the command then exits 0.
var errHelp = errors.New("help shown")

// parse parses a command's arguments: its flags, then positional
// arguments if it takes any (cmd.args names them). A bad flag or a
// stray argument is bad input, reported in one line by the caller.
func (cmd command) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(out, "usage: harness %s [flags]%s\n", cmd.name, strings.TrimRight(" "+cmd.args, " "))
		fs.PrintDefaults()
		return nil, errHelp
	case err != nil:
		return nil, fmt.Errorf("%s: %w (harness %s -h lists the flags)", cmd.name, err, cmd.name)
	case fs.NArg() > 0 && cmd.args == "":
		return nil, fmt.Errorf("%s: unexpected argument %q", cmd.name, fs.Arg(0))
	case fs.NArg() == 0 && cmd.args != "":
		return nil, fmt.Errorf("%s: no %s given (harness %s [flags] %s)", cmd.name, cmd.argsAbout, cmd.name, cmd.args)
	}
	return fs.Args(), nil
}
