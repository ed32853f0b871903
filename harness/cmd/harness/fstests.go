package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"dioharness/harness/fstests"
	"dioharness/harness/fstests/compare"
	"dioharness/harness/kbase"
	"dioharness/harness/rootfs"
	"dioharness/harness/series"
	"dioharness/harness/testrun"
	"dioharness/harness/verdict"
)

// fstestsOwn are the fstests command's own flags.
type fstestsOwn struct {
	dir, fstyp, tests string
	from              string
	smoke, optional   bool
	// list prints what -tests selects on each setup and boots nothing.
	list bool
	// prepare builds the root disk, fstests and the kernels, and
	// boots nothing.
	prepare bool
	// guests is how many kernels' guests run one setup at once.
	guests int
	// replace lets a FROM fold replace what the committed
	// results/fstests-<base>.json holds.
	replace bool
	timeout time.Duration
	diskMiB int64
}

// fstestsFlags registers the fstests command's own flags.
func fstestsFlags(fs *flag.FlagSet) action {
	var f fstestsOwn
	fs.StringVar(&f.dir, "fstests", os.Getenv("FSTESTS"), "the fstests checkout to build and run (FSTESTS)")
	fs.StringVar(&f.fstyp, "fstyp", "", "setups: "+strings.Join(fstests.SetupNames(), ", ")+", or fuse for every FUSE mode; comma-separated (default: all)")
	fs.StringVar(&f.tests, "tests", "", "tests as check takes them, a list (generic/091 generic/095) or groups (-g quick), or a named selection ("+strings.Join(namedSelections(), ", ")+") (default: "+fstests.DefaultTests+")")
	fs.BoolVar(&f.smoke, "smoke", false, "run the smoke list ("+fstests.SmokeTests+") on "+fstests.SmokeSetups+" and the patched kernel, unless -tests, -fstyp or -kernel say otherwise")
	fs.BoolVar(&f.optional, "optional", false, "without -fstests, say how to get a checkout and exit 0 (make test)")
	fs.BoolVar(&f.list, "list", false, "print the tests -tests selects on each setup, each with the rule that took it, and exit: no build, no boot")
	fs.StringVar(&f.from, "from", "", "compare the runs in these results directories (comma-separated) instead of running, and write results/fstests-<base>.{md,json} (base and patched) or results/fstests-<base>-<flavour>.{md,json} (base and a declared flavour)")
	fs.BoolVar(&f.prepare, "prepare", false, "build the root disk with fstests and the kernels, boot nothing (make fstests-prepare)")
	fs.BoolVar(&f.replace, "replace-committed", false, "let a full run or -from replace, drop or cut runs of the committed results/fstests-<base>[-<flavour>].{md,json} (and the cover letters' fstests line); without it that is refused")
	fs.DurationVar(&f.timeout, "test-timeout", fstests.DefaultTimeout, "wall-clock bound on one test in the guest")
	fs.Int64Var(&f.diskMiB, "disk-mib", fstests.DefaultDiskMiB, "size of the test and scratch disks")
	fs.IntVar(&f.guests, "guests", 1, "boot up to N guests at once, one kernel each, after building every kernel (make fstests: GUESTS)")
	return func(ctx context.Context, in invocation) int { return fstestsCmd(ctx, in, f) }
}

// fstestsKernels are the flavours fstests runs when KERNEL= names
// none: the two that results/fstests-<base>.json compares.
const fstestsKernels = string(kbase.Base) + "," + string(kbase.Patched)

// fstestsCmd runs fstests in the guest on each selected kernel and
// setup, and compares base and patched.
func fstestsCmd(ctx context.Context, in invocation, f fstestsOwn) int {
	c, stdout, stderr := in.c, in.stdout, in.stderr
	if f.guests < 1 || f.guests > 16 {
		return badArgs(stderr, fmt.Errorf("fstests: bad guests %d, want [1-16]", f.guests))
	}
	guests := f.guests
	if f.timeout <= 0 || f.diskMiB < 1024 {
		return badArgs(stderr, fmt.Errorf("fstests: bad test timeout %s or disk size %d MiB (want > 0 and >= 1024)", f.timeout, f.diskMiB))
	}
	if f.smoke {
		// make test's budget: the patched kernel alone, one guest per
		// filesystem (FUSE in the mode the series changes).
		if f.fstyp == "" {
			f.fstyp = fstests.SmokeSetups
		}
		if c.kernel == "" {
			c.kernel = string(kbase.Patched)
		}
	}
	// Without KERNEL= every kernel of results/fstests-<base>.json, base
	// and patched, runs: a flavour a BASE file declares runs when named.
	every := c.kernel == ""
	if every {
		c.kernel = fstestsKernels
	}
	setups, err := fstests.ParseSetups(f.fstyp)
	if err != nil {
		return badArgs(stderr, err)
	}
	spec := f.tests
	switch {
	case spec == "" && f.smoke:
		spec = fstests.SmokeTests
	case spec == "":
		spec = fstests.DefaultTests
	}
	sel, err := fstests.ParseSelection(spec)
	if err != nil {
		return badArgs(stderr, err)
	}
	if f.prepare && (f.list || f.from != "" || f.smoke) {
		return badArgs(stderr, fmt.Errorf("fstests: -prepare builds what a run needs; it takes no -list, -from or -smoke"))
	}
	if f.dir == "" && f.optional {
		fmt.Fprintf(stdout, "fstests: skipped: %s\n", rootfs.HowToGet)
		return testrun.ExitOK
	}
	if err := rootfs.CheckFSTests(f.dir); err != nil {
		return badArgs(stderr, err)
	}
	dir, err := filepath.Abs(f.dir)
	if err != nil {
		return badArgs(stderr, err)
	}
	tests := map[string][]string{}
	picks := map[string][]fstests.Pick{}
	for _, s := range setups {
		if picks[s.Name], err = sel.Picks(dir, s); err != nil {
			return badArgs(stderr, err)
		}
		for _, p := range picks[s.Name] {
			tests[s.Name] = append(tests[s.Name], p.Test)
		}
	}
	if f.list {
		listPicks(stdout, sel, setups, picks)
		return testrun.ExitOK
	}
	e, opts, arch, status := c.kernels(stdout, stderr)
	if status != testrun.ExitOK {
		return status
	}
	// A run results/ keeps (keptComparisons), whatever its tests, adds
	// to the committed comparison of its base, and replaces its runs of
	// the same selection only when told to (refused here, before hours
	// of guests). make test's smoke run never writes it.
	var writes map[string]string
	if !f.smoke && !f.prepare && f.from == "" {
		if writes, err = keptComparisons(opts, every, len(setups) == len(fstests.Setups)); err != nil {
			return badArgs(stderr, err)
		}
	}
	full := len(writes) > 0
	if full && !f.replace {
		for _, name := range writes {
			if err := keepsSelection(e, name, sel.String(), setups); err != nil {
				return badArgs(stderr, err)
			}
		}
	}
	if arch == nil {
		fmt.Fprintf(stderr, "harness: fstests builds its root disk from Debian's archive, which cannot be read\n")
		return testrun.ExitInfra
	}
	// The fstests kernels: the scenario kernels with kconfig/fstests'
	// fragments, in object directories of their own.
	for i := range opts {
		if opts[i], err = testrun.FSTestsKernel(opts[i]); err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			return testrun.ExitInfra
		}
	}

	suite, err := debianSuite()
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitInfra
	}
	b := rootfs.Builder{Dir: filepath.Join(c.cache, "rootfs"), Log: stdout}
	img, err := b.Get(ctx, rootfs.FSTestsSpec(suite, arch.Mirrors.Archive, dir, c.jobs))
	if err != nil {
		fmt.Fprintf(stderr, "harness: %v\n", err)
		return testrun.ExitInfra
	}
	fmt.Fprintf(stdout, "fstests: %s, root disk %s\n", img.FSTests, filepath.Base(img.Path))

	if f.prepare {
		return prepareFSTests(ctx, opts, stdout, stderr)
	}
	if f.from != "" {
		return compareRunDirs(e, strings.Split(f.from, ","), sel, picks, img, f.replace, stdout, stderr)
	}

	run := testrun.FSTests{Tests: tests, Root: img.Path, Dir: rootfs.FSTestsDir,
		TestTimeout: f.timeout, DiskMiB: f.diskMiB}
	worst := testrun.ExitOK
	byBase := map[string][]compare.SetupRun{}
	var bases []string
	comparisonOf := func(base string) compare.Comparison {
		cmp := compare.Build(base, sel.String(), picks, byBase[base])
		cmp.FSTests, cmp.Root = img.FSTests, filepath.Base(img.Path)
		return cmp
	}
	// Setup by setup, each on every kernel: a run stopped part way (an
	// interrupt, a deadline) leaves complete pairs (base and patched, or
	// base and a flavour), and a full run writes the comparison after
	// each pair. The kernels are built first, once each and one at a
	// time (a build uses every core), so that their guests can boot
	// together and every setup boots the same build.
	built := map[string]*testrun.Built{}
	for _, o := range opts {
		b, err := testrun.PrepareFSTests(ctx, o)
		if err != nil {
			// RunFSTests builds again and reports the error in its
			// results.
			fmt.Fprintf(stdout, "%s: %v\n", o.Variant, err)
			continue
		}
		built[o.Variant.String()] = b
	}
	for _, s := range setups {
		pair := make([]testrun.Options, len(opts))
		for i, o := range opts {
			o.Built = built[o.Variant.String()]
			pair[i] = o
		}
		one := run
		one.Setups = []fstests.Setup{s}
		ran := runEach(ctx, pair, guests, stdout, func(o testrun.Options) []testrun.FSTestsOutcome { return testrun.RunFSTests(ctx, o, one) })
		for i, ocs := range ran {
			v := pair[i].Variant
			for _, oc := range ocs {
				if oc.Exit == testrun.ExitBadArgs {
					return oc.Exit
				}
				if oc.Exit == testrun.ExitInfra {
					worst = max(worst, oc.Exit)
				}
				rel, _ := filepath.Rel(e.repo, oc.Dir)
				if _, ok := byBase[v.Base]; !ok {
					bases = append(bases, v.Base)
				}
				byBase[v.Base] = append(byBase[v.Base], compare.SetupRun{Setup: oc.Setup, Run: oc.Run, Xunit: fstests.Cases(oc.Xunit), Dir: rel})
			}
		}
		// An interrupted pair is left out of results/.
		if full && ctx.Err() == nil {
			for _, base := range bases {
				if _, ok := writes[base]; !ok {
					continue
				}
				cmp, err := withCommitted(e, comparisonOf(base), f.replace, stdout)
				if err != nil {
					// The run stays in its results directories, for
					// a FROM= fold.
					fmt.Fprintf(stderr, "harness: %v\n", err)
					worst = max(worst, testrun.ExitBadArgs)
					continue
				}
				if err := writeComparison(e, cmp); err != nil {
					fmt.Fprintf(stderr, "harness: %v\n", err)
					worst = max(worst, testrun.ExitInfra)
				}
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	for _, base := range bases {
		cmp := comparisonOf(base)
		fmt.Fprintln(stdout)
		cmp.WriteMarkdown(stdout)
		worst = max(worst, comparisonExit(cmp))
		fmt.Fprintf(stdout, "\n%s\n", cmp.Summary())
	}
	return worst
}

// keptComparisons are the committed comparisons a run of the kernels
// of opts writes, per base: results/fstests-<base> for base and patched
// on every setup when KERNEL= named no flavour (every), and
// results/fstests-<base>-<flavour> for base and one flavour the base's
// BASE file declares, both named by KERNEL=, on whichever setups FSTYP=
// selects (a declared flavour changes what some setups exercise, as the
// pdio RFC does fuse-parallel-odirect's O_DIRECT writes: its comparison
// holds the setups it was run on). Any other run (base and patched on
// fewer setups, or named by KERNEL=; one kernel; patched beside a
// declared flavour) writes nothing: its results directories keep it for
// a FROM= fold. The error is compare.FileName's, for a pair it has no
// file for.
func keptComparisons(opts []testrun.Options, every, allSetups bool) (map[string]string, error) {
	var bases []string
	flavours := map[string][]string{}
	for _, o := range opts {
		b := o.Variant.Base
		if b == "" {
			continue
		}
		if _, ok := flavours[b]; !ok {
			bases = append(bases, b)
		}
		flavours[b] = append(flavours[b], string(o.Variant.Flavour))
	}
	out := map[string]string{}
	for _, b := range bases {
		fls := flavours[b]
		if len(fls) != 2 || !slices.Contains(fls, string(kbase.Base)) {
			continue
		}
		patched := slices.Contains(fls, string(kbase.Patched))
		if patched && !(every && allSetups) {
			continue
		}
		name, err := compare.FileName(b, fls)
		if err != nil {
			return nil, err
		}
		out[b] = name
	}
	return out, nil
}

// runEach runs one setup on each kernel of opts and returns the
// outcomes in the order of opts: one after the other, or, with guests
// above 1, up to guests at once (a TCG guest runs on one host thread),
// each run's progress lines going out as they come and its final table
// whole once it ends. One after the other, it stops at an interrupt.
func runEach(ctx context.Context, opts []testrun.Options, guests int, stdout io.Writer, run func(testrun.Options) []testrun.FSTestsOutcome) [][]testrun.FSTestsOutcome {
	out := make([][]testrun.FSTestsOutcome, len(opts))
	if guests <= 1 || len(opts) < 2 {
		for i, o := range opts {
			out[i] = run(o)
			if ctx.Err() != nil {
				return out[:i+1]
			}
		}
		return out
	}
	return atOnce(opts, guests, stdout, " ", run)
}

// prepareFSTests builds every selected kernel for fstests (the root
// disk is built by then) and boots nothing.
func prepareFSTests(ctx context.Context, opts []testrun.Options, stdout, stderr io.Writer) int {
	for _, o := range opts {
		if _, err := testrun.PrepareFSTests(ctx, o); err != nil {
			fmt.Fprintf(stderr, "harness: %s: %v\n", o.Variant, err)
			return testrun.ExitInfra
		}
	}
	fmt.Fprintln(stdout, "fstests: prepared; make fstests boots them")
	return testrun.ExitOK
}

// compareRunDirs compares runs made earlier (each setup and kernel may
// come from a different make fstests) and writes results/ for each base.
// Each run must have run exactly the tests sel takes on its setup. An
// entry ending in .json is a comparison written earlier (a committed
// results/fstests-<base>.json): the runs are merged into it, replacing
// its runs of the same selection on the same setups and keeping the
// rest. Unless replace, a fold that would lose anything of the
// committed comparison (replace a run it holds, drop one, cut one to
// fewer tests) is refused before anything is written: results/ and the
// cover letters quote the committed one.
func compareRunDirs(e env, dirs []string, sel fstests.Selection, picks map[string][]fstests.Pick, img rootfs.Image, replace bool, stdout, stderr io.Writer) int {
	byBase := map[string][]compare.SetupRun{}
	// prev are the comparisons given, by the name of their files.
	prev := map[string]compare.Comparison{}
	var bases []string
	for _, d := range dirs {
		abs, err := filepath.Abs(strings.TrimSpace(d))
		if err != nil {
			return badArgs(stderr, err)
		}
		if strings.HasSuffix(abs, ".json") {
			c, err := compare.Load(abs)
			if err != nil {
				return badArgs(stderr, err)
			}
			name, err := c.FileName()
			if err != nil {
				return badArgs(stderr, fmt.Errorf("FROM: %s: %w", d, err))
			}
			if _, dup := prev[name]; dup {
				return badArgs(stderr, fmt.Errorf("FROM: two comparisons written to results/%s.json", name))
			}
			prev[name] = c
			continue
		}
		rel, _ := filepath.Rel(e.repo, abs)
		sr, err := compare.LoadRunDir(abs, rel)
		if err != nil {
			return badArgs(stderr, err)
		}
		p, ok := picks[sr.Setup.Name]
		if !ok {
			return badArgs(stderr, fmt.Errorf("FROM: %s ran on %s, which FSTYP= does not select", d, sr.Setup.Name))
		}
		if err := sr.RanExactly(p); err != nil {
			return badArgs(stderr, fmt.Errorf("FROM: %s: %w (TESTS=%s)", d, err, sel))
		}
		b := sr.Run.Variant.Base
		if _, ok := byBase[b]; !ok {
			bases = append(bases, b)
		}
		byBase[b] = append(byBase[b], sr)
	}
	cmps := map[string]compare.Comparison{}
	merged := map[string]bool{}
	for _, base := range bases {
		cmp := compare.Build(base, sel.String(), picks, byBase[base])
		cmp.FSTests, cmp.Root = img.FSTests, filepath.Base(img.Path)
		name, err := cmp.FileName()
		if err != nil {
			return badArgs(stderr, fmt.Errorf("FROM: %w", err))
		}
		if p, ok := prev[name]; ok {
			merged[name] = true
			merged, err := compare.Merge(p, cmp)
			if err != nil {
				return badArgs(stderr, err)
			}
			cmp = merged
		}
		if !replace {
			if err := keepsCommitted(e, cmp); err != nil {
				return badArgs(stderr, err)
			}
		}
		cmps[base] = cmp
	}
	for name := range prev {
		if !merged[name] {
			return badArgs(stderr, fmt.Errorf("FROM: results/%s.json but no run directory of its kernels to merge into it", name))
		}
	}
	worst := testrun.ExitOK
	for _, base := range bases {
		cmp := cmps[base]
		if err := writeComparison(e, cmp); err != nil {
			fmt.Fprintf(stderr, "harness: %v\n", err)
			worst = max(worst, testrun.ExitInfra)
		}
		cmp.WriteMarkdown(stdout)
		worst = max(worst, comparisonExit(cmp))
		fmt.Fprintf(stdout, "\n%s\n", cmp.Summary())
	}
	return worst
}

// loadCommitted reads the committed results/<name>.json
// (compare.FileName) and names it: nil when there is none.
func loadCommitted(e env, name string) (*compare.Comparison, string, error) {
	rel := filepath.Join("results", name+".json")
	path := filepath.Join(e.repo, rel)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, rel, nil
	}
	c, err := compare.Load(path)
	if err != nil {
		return nil, rel, fmt.Errorf("%w; writing would overwrite it: REPLACE_COMMITTED=1 (-replace-committed) does", err)
	}
	return &c, rel, nil
}

// keepsCommitted refuses a comparison that would lose anything of the
// committed comparison it is written over (compare.Dropped); there is
// nothing to lose where none is committed.
func keepsCommitted(e env, next compare.Comparison) error {
	name, err := next.FileName()
	if err != nil {
		return err
	}
	committed, rel, err := loadCommitted(e, name)
	if err != nil || committed == nil {
		return err
	}
	if lost := compare.Dropped(*committed, next); len(lost) > 0 {
		return fmt.Errorf("FROM: writing %s would %s: refused (REPLACE_COMMITTED=1, -replace-committed, replaces it and the cover letters' fstests line)", rel, strings.Join(lost, ", "))
	}
	return nil
}

// keepsSelection refuses a full run of the selection tests on setups
// when the committed results/<name>.json holds runs of it on any of
// them, which the run would replace.
func keepsSelection(e env, name, tests string, on []fstests.Setup) error {
	committed, rel, err := loadCommitted(e, name)
	if err != nil || committed == nil {
		return err
	}
	var setups []string
	for _, p := range committed.Parts {
		if p.Tests == tests && slices.ContainsFunc(on, func(s fstests.Setup) bool { return s.Name == p.Setup }) {
			setups = append(setups, p.Setup)
		}
	}
	if len(setups) == 0 {
		return nil
	}
	return fmt.Errorf("%s holds runs of TESTS=%s on %s, which this run would replace: refused (REPLACE_COMMITTED=1, -replace-committed, replaces them; FSTYP= or KERNEL= runs without writing results/)",
		rel, tests, strings.Join(setups, ", "))
}

// withCommitted merges a full run into the committed comparison of its
// base and kernels, so that the runs of other selections stay. When that one cannot
// take it (another fstests, root disk or kernel release, or a form this
// harness does not read), the run replaces it if replace says so, said
// in one line, and is refused otherwise.
func withCommitted(e env, c compare.Comparison, replace bool, out io.Writer) (compare.Comparison, error) {
	name, err := c.FileName()
	if err != nil {
		return c, err
	}
	prev, rel, err := loadCommitted(e, name)
	if err == nil && prev == nil {
		return c, nil
	}
	if err == nil {
		var merged compare.Comparison
		if merged, err = compare.Merge(*prev, c); err == nil {
			return merged, nil
		}
	}
	if !replace {
		return c, fmt.Errorf("%s cannot take this run (%v), so it was not written: REPLACE_COMMITTED=1 (-replace-committed) replaces it; the run directories keep this run", rel, err)
	}
	fmt.Fprintf(out, "fstests: %s is replaced by this run, not merged: %v\n", rel, err)
	return c, nil
}

// comparisonExit is 1 when the kernel with patches (patched, or a
// declared flavour) does worse than the base one (a test that fails
// only there, or a kernel report on it), or, when one flavour ran
// alone, when a test failed or the kernel reported.
func comparisonExit(c compare.Comparison) int {
	if len(c.Regressions()) > 0 {
		return testrun.ExitFailed
	}
	alone := len(c.Columns) == 1
	for _, r := range c.Rows {
		for fl, cell := range r.Cells {
			if len(cell.Reports) > 0 && (alone || fl != string(kbase.Base)) {
				return testrun.ExitFailed
			}
			if alone && (cell.Verdict == verdict.Fail || cell.Verdict == verdict.Timeout) {
				return testrun.ExitFailed
			}
		}
	}
	return testrun.ExitOK
}

// writeComparison commits a full run: results/<name>.{md,json}
// (compare.FileName), and its summary line in the cover letters of the
// series it tests (quotedBy).
func writeComparison(e env, c compare.Comparison) error {
	name, err := c.FileName()
	if err != nil {
		return err
	}
	spec, err := e.bases.Get(c.Base)
	if err != nil {
		return err
	}
	quote, err := quotedBy(spec, c)
	if err != nil {
		return err
	}
	var md, js bytes.Buffer
	if err := c.WriteMarkdown(&md); err != nil {
		return err
	}
	if err := c.WriteJSON(&js); err != nil {
		return err
	}
	dir := filepath.Join(e.repo, "results")
	for file, b := range map[string][]byte{name + ".md": md.Bytes(), name + ".json": js.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
			return fmt.Errorf("write fstests results: %w", err)
		}
	}
	for _, d := range quote {
		if err := series.QuoteFSTests(d, c.Summary()); err != nil {
			return err
		}
	}
	return nil
}

// quotedBy are the series directories whose cover letters quote a
// comparison's summary: base and patched, the patched flavour's series;
// base and a declared flavour, the series only that flavour applies
// (the pdio RFC, not the fixes it applies on, whose covers quote base
// and patched).
func quotedBy(spec kbase.Spec, c compare.Comparison) ([]string, error) {
	var flavour kbase.Flavour
	for _, col := range c.Columns {
		if fl := kbase.Flavour(col.Flavour); fl != kbase.Base && fl != kbase.Patched {
			flavour = fl
		}
	}
	if flavour == "" {
		return spec.SeriesDirs(), nil
	}
	all, err := spec.FlavourSeries(flavour)
	if err != nil {
		return nil, err
	}
	var own []string
	for _, s := range all {
		if !slices.Contains(spec.Series, s) {
			own = append(own, filepath.Join(spec.Dir, s))
		}
	}
	return own, nil
}

// listPicks prints what a selection takes on each setup, and why; setups
// that take the same tests share one list.
func listPicks(w io.Writer, sel fstests.Selection, setups []fstests.Setup, picks map[string][]fstests.Pick) {
	if sel.Named != "" {
		if n, ok := fstests.NamedSelection(sel.Named); ok {
			fmt.Fprintf(w, "@%s: %s\n", n.Name, n.About)
		}
	}
	done := map[string]bool{}
	for i, s := range setups {
		if done[s.Name] {
			continue
		}
		names := []string{s.Name}
		for _, o := range setups[i+1:] {
			if slices.Equal(picks[o.Name], picks[s.Name]) {
				names = append(names, o.Name)
				done[o.Name] = true
			}
		}
		fmt.Fprintf(w, "\nTESTS=%s on %s: %d tests\n", sel, strings.Join(names, ", "), len(picks[s.Name]))
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		for _, p := range picks[s.Name] {
			fmt.Fprintf(tw, "%s\t%s\n", p.Test, p.Why)
		}
		tw.Flush()
	}
}

func namedSelections() []string {
	var n []string
	for _, s := range fstests.NamedSelections() {
		n = append(n, "@"+s.Name)
	}
	return n
}

// debianSuite is the machine's Debian suite (VERSION_CODENAME in
// /etc/os-release): the root disk comes from the same release as the
// tools that build the kernels.
func debianSuite() (string, error) {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "", fmt.Errorf("which Debian release: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok && strings.Trim(v, `"`) != "" {
			return strings.Trim(v, `"`), nil
		}
	}
	return "", errors.New("no VERSION_CODENAME in /etc/os-release: not a Debian release the root disk can be built from")
}
