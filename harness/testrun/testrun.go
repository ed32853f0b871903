// Package testrun takes one kernel (a base in one flavour, or a custom
// tree) from source to verdict: it prepares and builds the kernel, packs the guest agent into an
// initramfs, makes the disk images, boots the guest on the machine of
// qemu/<arch>.json with the plan, watches it, boots a fresh guest for
// the rest when the kernel hangs or panics in a scenario, and writes
// results/<base>-<flavour>-<timestamp>/ (console.log and agent.log per boot,
// results.ktap, junit.xml, summary.json) and the human table.
package testrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"dioharness/harness/catalogue"
	"dioharness/harness/debian"
	"dioharness/harness/guestproto"
	"dioharness/harness/image"
	"dioharness/harness/kbase"
	"dioharness/harness/kernel"
	"dioharness/harness/kselftest"
	"dioharness/harness/ktap"
	"dioharness/harness/report"
	"dioharness/harness/shard"
	"dioharness/harness/vm"
)

// Exit codes, as git bisect run and CI read them.
const (
	ExitOK      = 0 // every scenario matched its declaration
	ExitFailed  = 1 // a scenario did not, or the kernel reported a bug
	ExitInfra   = 2 // build, boot or timeout: no verdict on the kernel
	ExitBadArgs = 3 // bad input; nothing was run
)

// Options configures a run.
type Options struct {
	// Repo is the repository root (patches/, kconfig/, results/).
	Repo string
	// Build is the build directory.
	Build string
	// Variant is the kernel: a base and flavour, or custom (KSRC).
	Variant kbase.Variant
	// Spec describes the base; nil for a custom tree. Patches are
	// every patch of its series, in the order the patched flavour
	// applies them, and Kernel is what the declarations are judged
	// against: the variant and the subjects of the patches it carries.
	// ForBase reads the series once for the whole run. A custom tree
	// has neither: its Kernel is its variant alone.
	Spec    *kbase.Spec
	Patches []string
	Kernel  catalogue.Kernel
	// Archive fetches the base's source from Debian's archive.
	Archive *debian.Archive
	// KSRC is a user's kernel tree, for the custom flavour.
	KSRC string
	// Scenarios are the glob patterns of the selection, in run order
	// (catalogue.Patterns); none runs every scenario that is not manual.
	Scenarios []string
	// Repeat runs the selection this many times in one boot.
	Repeat int
	// Accel overrides the accelerator choice (QEMU_ACCEL).
	Accel string
	// Jobs is make -j.
	Jobs int
	// CCacheDir is the ccache directory ("" disables ccache).
	CCacheDir string
	// Cache is the harness cache outside the checkout: Cache/kernels
	// holds built images (kernel.ImageCache) and Cache/selftests the
	// selftest binaries, so a fresh clone boots what an earlier run
	// built. "" keeps both under Build and disables the image cache.
	Cache string
	// Rebuild ignores cached kernel images (they are still refreshed).
	Rebuild bool
	// Timeouts bound the guest phases.
	Timeouts Timeouts
	// Out receives progress lines and the final table.
	Out io.Writer
	// Interactive redraws progress lines in place.
	Interactive bool
	// NoBuild boots the kernel built last time without running make:
	// quick re-runs, and several runs against one build at once.
	NoBuild bool
	// ExtraKconfig are fragments merged after every other one, and
	// ObjSuffix is appended to the O= directory the kernel is then
	// built in, so that it never replaces the scenario kernel (make
	// fstests: kconfig/fstests/ in _obj-fstests). Both empty for the
	// scenario kernel.
	ExtraKconfig []string
	ObjSuffix    string
	// Built is a kernel built elsewhere (series-check builds one per
	// patch); Run boots it instead of preparing and building one.
	Built *Built
	// ResultsName prefixes the results directory; default the
	// variant's slug ("v7.3-patched").
	ResultsName string
	// Shard runs only this runner's part of the selection (package
	// shard); the zero value runs all of it.
	Shard shard.Shard
	// Fuzz is passed to the guest for mixed/fuzz (make fuzz).
	Fuzz *guestproto.Fuzz
}

// Built is a kernel that is already built.
type Built struct {
	Tree             kernel.Tree
	BzImage, Release string
}

// ForBase returns o for a flavour of the base spec (o.Variant), with the
// base's series read once for the whole run: the patches the flavour
// applies and their subjects (Options.Kernel).
func ForBase(o Options, spec kbase.Spec) (Options, error) {
	if !spec.HasFlavour(o.Variant.Flavour) {
		return o, fmt.Errorf("base %s has no flavour %q (it has %s)", spec.Name, o.Variant.Flavour, flavourList(spec))
	}
	patches, err := kernel.FlavourPatches(spec, o.Variant.Flavour)
	if err != nil {
		return o, err
	}
	o.Spec, o.Patches, o.Kernel = &spec, patches, catalogue.Kernel{Variant: o.Variant}
	if o.Variant.Flavour != kbase.Base {
		if o.Kernel.Patches, err = kernel.Subjects(patches); err != nil {
			return o, err
		}
	}
	return o, nil
}

func flavourList(spec kbase.Spec) string {
	var out []string
	for _, f := range spec.Flavours() {
		out = append(out, string(f))
	}
	return strings.Join(out, ", ")
}

// declared is what the declarations are judged against on o's kernel.
func (o Options) declared() (catalogue.Kernel, error) {
	switch {
	case o.Variant.Flavour == kbase.Custom:
		return catalogue.Kernel{Variant: o.Variant}, nil
	case o.Spec == nil || o.Kernel.Variant != o.Variant:
		return catalogue.Kernel{}, fmt.Errorf("kernel %s: its base's series was not read (testrun.ForBase)", o.Variant)
	}
	return o.Kernel, nil
}

// Outcome is a finished run.
type Outcome struct {
	Run  report.Run
	Dir  string
	Exit int
}

// Arch is the architecture of the guests: qemu/<Arch>.json describes
// their machine.
const Arch = "x86_64"

// Prepare builds the kernel of o, or takes it from the image cache, and
// returns it for Options.Built: qemu-test -guests builds every kernel
// first, one at a time on all cores, then boots several guests at once.
func Prepare(ctx context.Context, o Options) (*Built, error) {
	mach, err := vm.LoadMachine(filepath.Join(o.Repo, "qemu", Arch+".json"))
	if err != nil {
		return nil, err
	}
	if _, err := o.declared(); err != nil {
		return nil, err
	}
	kb, err := buildKernel(ctx, o, mach.KconfigPath())
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", o.Variant, err)
	}
	return &Built{Tree: kb.tree, BzImage: kb.bzImage, Release: kb.release}, nil
}

// Run executes one flavour. Infrastructure errors are reported in the
// Outcome (Exit 2) with whatever was gathered kept in Dir.
func Run(ctx context.Context, cat catalogue.Catalogue, o Options) Outcome {
	// Bad input fails before anything is built or a results directory
	// exists.
	mach, err := vm.LoadMachine(filepath.Join(o.Repo, "qemu", Arch+".json"))
	if err != nil {
		fmt.Fprintf(o.Out, "error: %v\n", err)
		return Outcome{Exit: ExitBadArgs}
	}
	if o.Accel != "" {
		if err := vm.CheckAccel(o.Accel); err != nil {
			fmt.Fprintf(o.Out, "error: QEMU_ACCEL: %v\n", err)
			return Outcome{Exit: ExitBadArgs}
		}
	}
	order, err := cat.RunOrder(o.Scenarios)
	if err != nil {
		fmt.Fprintf(o.Out, "error: %v\n", err)
		return Outcome{Exit: ExitBadArgs}
	}
	mine := o.Shard.Select(order)
	if len(mine) == 0 {
		fmt.Fprintf(o.Out, "error: shard %s of %d selected scenarios is empty: use at most %d shards\n", o.Shard, len(order), len(order))
		return Outcome{Exit: ExitBadArgs}
	}
	order = mine
	label := o.Variant.String()
	// The patches are known before the build: the plan's expectations
	// follow from which patches this kernel carries.
	kern, err := o.declared()
	if err != nil {
		fmt.Fprintf(o.Out, "error: %v\n", err)
		return Outcome{Exit: ExitBadArgs}
	}
	plan := guestproto.Plan{
		Scenarios:    guestproto.Entries(order, cat.Expect(kern)),
		Repeat:       max(o.Repeat, 1),
		Disks:        planDisks(mach, image.Disks),
		SelftestDir:  kselftest.Dir,
		TimeoutScale: o.Timeouts.scale(),
		Base:         o.Variant.Base,
		Fuzz:         o.Fuzz,
		Wiring:       guestproto.Wiring{AgentTTY: mach.AgentTTY(), ExitPort: mach.ExitPort()},
	}
	if err := plan.Validate(); err != nil {
		fmt.Fprintf(o.Out, "error: %v\n", err)
		return Outcome{Exit: ExitBadArgs}
	}
	start := time.Now()
	name := o.ResultsName
	if name == "" {
		name = o.Variant.Slug()
	}
	dir := filepath.Join(o.Repo, "results", fmt.Sprintf("%s-%s", name, start.UTC().Format("20060102-150405")))
	if o.Shard.Enabled() {
		// After the timestamp, so runs of one kernel still sort by time.
		dir += fmt.Sprintf("-shard%dof%d", o.Shard.Index, o.Shard.Count)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(o.Out, "error: %v\n", err)
		return Outcome{Exit: ExitInfra}
	}
	rr := report.Run{Variant: o.Variant, Started: start, Shard: o.Shard.String()}
	out := Outcome{Dir: dir}
	finish := func(exit int) Outcome {
		rr.Duration = time.Since(start).Round(time.Second)
		out.Run, out.Exit = rr, exit
		if err := writeReports(dir, rr); err != nil {
			fmt.Fprintf(o.Out, "error: write reports: %v\n", err)
		}
		report.WriteTable(o.Out, rr)
		fmt.Fprintf(o.Out, "results: %s\n", dir)
		return out
	}
	infra := func(err error) Outcome {
		rr.Infra = err.Error()
		fmt.Fprintf(o.Out, "%s: infrastructure error: %v\n", label, err)
		return finish(ExitInfra)
	}

	var kb builtKernel
	if o.Built != nil {
		kb = builtKernel{tree: o.Built.Tree, bzImage: o.Built.BzImage, release: o.Built.Release, commit: shortCommit(o.Built.Tree.Commit)}
	} else if kb, err = buildKernel(ctx, o, mach.KconfigPath()); err != nil {
		return infra(err)
	}
	kimg, release := kb.bzImage, kb.release
	rr.Kernel = strings.TrimSpace(release + " " + kb.commit)
	rr.Source, rr.Note = kb.tree.Source, kb.tree.Note
	if o.Variant.Flavour != kbase.Base && o.Variant.Flavour != kbase.Custom && len(kern.Patches) == 0 {
		rr.Note = strings.TrimPrefix(rr.Note+"; ", "; ") + "the series of " + o.Variant.String() + " hold no patch yet: it is the base"
	}
	initrd, err := buildInitramfs(ctx, o)
	if err != nil {
		return infra(err)
	}
	// Per run, so concurrent runs never share a writable image.
	work := filepath.Join(o.Build, "disks", filepath.Base(dir))
	if err := os.MkdirAll(work, 0o755); err != nil {
		return infra(err)
	}
	defer os.RemoveAll(work)
	tests, err := selftests(ctx, o, kb.tree)
	if err != nil {
		return infra(err)
	}
	boots := &booter{machine: mach, kernel: kimg, initramfs: initrd, extra: tests, work: work, results: dir, disks: scenarioDisks}
	first, err := boots.config(ctx, 1, plan, false)
	if err != nil {
		return infra(err)
	}
	accel, err := vm.ChooseAccel(ctx, o.Accel, first, accelCache(o), o.Out)
	if err != nil {
		return infra(err)
	}
	boots.accel = accel
	fmt.Fprintf(o.Out, "%s: booting %s under %s, %d scenarios\n", label, release, strings.ToUpper(accel), len(plan.Runs()))
	sess := session{plan: plan, boot: boots.boot, timeouts: o.Timeouts, maxFaults: MaxFaultReboots, out: o.Out, label: label, confirm: true}
	oc := sess.run(ctx)
	return finishRun(oc, areaIn(cat), dir, o, &rr, finish)
}

// finishRun writes what the guests reported, joins it with the
// declarations and decides the exit status: 2 when the infrastructure
// failed, 1 when the kernel printed a report or a scenario did not
// match its declaration (a hang or panic in a scenario included), 0
// otherwise.
func finishRun(oc outcome, area func(name string) string, dir string, o Options, rr *report.Run, finish func(int) Outcome) Outcome {
	var errs []error
	for _, b := range oc.boots {
		errs = append(errs, os.WriteFile(filepath.Join(dir, agentName(b.n)), []byte(strings.Join(b.lines, "\n")+"\n"), 0o644))
		if b.hasEvidence() {
			var e bytes.Buffer
			writeEvidence(&e, b)
			errs = append(errs, os.WriteFile(filepath.Join(dir, evidenceName(b.n)), e.Bytes(), 0o644))
		}
		if b.load != "" {
			rr.HostLoad = append(rr.HostLoad, fmt.Sprintf("boot %d: the agent came up after %s; host load %s", b.n, b.bootDur.Round(100*time.Millisecond), b.load))
		}
		if b.hangRec != nil {
			rr.HostLoad = append(rr.HostLoad, fmt.Sprintf("boot %d: judged hung (%s); host load %s", b.n, b.hangRec.why, b.hangRec.load))
		}
	}
	var k bytes.Buffer
	errs = append(errs, writeKTAP(&k, oc))
	errs = append(errs, os.WriteFile(filepath.Join(dir, "results.ktap"), k.Bytes(), 0o644))
	if err := errors.Join(errs...); err != nil {
		rr.Infra = err.Error()
		return finish(ExitInfra)
	}
	for _, sl := range oc.slots {
		sc := scenarioResult(sl.entry, area(sl.entry.Name), hostResult(sl))
		switch {
		case sl.confirm != nil:
			sc.Confirmation = sl.confirm.state
		case sc.Directive == string(ktap.DirTimeout) && len(sl.reports) > 0:
			sc.Confirmation = report.Reported
		}
		rr.Scenarios = append(rr.Scenarios, sc)
		for _, r := range sl.reports {
			rr.KernelReports = append(rr.KernelReports, quoteReport(r, sl.boot))
		}
	}
	// The kernel reports of the runs again, once per scenario.
	quoted := map[string]bool{}
	for _, sl := range oc.slots {
		if sl.confirm == nil || quoted[sl.entry.Name] {
			continue
		}
		quoted[sl.entry.Name] = true
		for _, r := range sl.confirm.reports {
			rr.KernelReports = append(rr.KernelReports, quoteReport(r, sl.confirm.boot))
		}
	}
	for _, r := range oc.reports {
		rr.KernelReports = append(rr.KernelReports, quoteReport(r, 0))
	}
	for _, b := range oc.boots {
		rr.Boots = append(rr.Boots, b.bootDur)
	}
	if len(oc.boots) > 1 {
		var up []string
		for _, b := range oc.boots {
			up = append(up, b.bootDur.Round(100*time.Millisecond).String())
		}
		fmt.Fprintf(o.Out, "%s: %d boots (agent up after %s), %d scenario faults\n", o.Variant, len(oc.boots), strings.Join(up, ", "), oc.faults)
	}
	if oc.infra != nil {
		rr.Infra = oc.infra.Error()
		fmt.Fprintf(o.Out, "%s: infrastructure error: %v\n", o.Variant, oc.infra)
		return finish(ExitInfra)
	}
	if len(rr.KernelReports) > 0 {
		for _, r := range rr.KernelReports {
			fmt.Fprintf(o.Out, "%s: kernel report:\n%s\n", o.Variant, indent(r))
		}
		return finish(ExitFailed)
	}
	for _, s := range rr.Scenarios {
		if !s.Matches {
			return finish(ExitFailed)
		}
	}
	return finish(ExitOK)
}

// areaIn is the area of a scenario of cat.
func areaIn(cat catalogue.Catalogue) func(string) string {
	return func(name string) string {
		d, _ := cat.Named(name)
		return d.Area
	}
}

// booter boots the guests of one run, each with its own plan, fresh
// disks and console log.
type booter struct {
	machine   vm.Machine
	kernel    string
	initramfs string        // the cached agent initramfs
	extra     []image.Entry // per-run files appended with the plan
	work      string        // per-run scratch: per-boot initramfs and disks
	results   string        // the results directory: console logs
	accel     string
	// disks makes the disks of one boot in dir, and says which of
	// them are volatile (vm.Config.Volatile).
	disks func(ctx context.Context, dir string) (disks, volatile []string, err error)
}

// planDisks tells the guest the disks of a boot: the i-th image is the
// machine's i-th disk device.
func planDisks(mach vm.Machine, disks []image.Disk) guestproto.Disks {
	out := make(guestproto.Disks, 0, len(disks))
	for i, d := range disks {
		out = append(out, guestproto.Disk{Name: d.Name, Device: mach.DiskDevice(i), FSType: d.FSType})
	}
	return out
}

// scenarioDisks are the scenario catalogue's disks (image.Disks), fresh
// for every boot.
func scenarioDisks(ctx context.Context, dir string) ([]string, []string, error) {
	d, err := image.Make(ctx, dir)
	return d, nil, err
}

// config prepares boot n: the agent initramfs with plan appended, and
// fresh disk images when disks is set (a guest that died may have left
// them dirty).
func (b *booter) config(ctx context.Context, n int, plan guestproto.Plan, disks bool) (vm.Config, error) {
	js, err := plan.Encode()
	if err != nil {
		return vm.Config{}, err
	}
	initrd := filepath.Join(b.work, fmt.Sprintf("initramfs-%d.cpio.gz", n))
	files := append([]image.Entry{{Path: guestproto.PlanPath, Data: js, Mode: 0o644}}, b.extra...)
	if err := image.AppendFiles(initrd, b.initramfs, files); err != nil {
		return vm.Config{}, err
	}
	cfg := vm.Config{
		Machine:    b.machine,
		Kernel:     b.kernel,
		Initramfs:  initrd,
		Accel:      b.accel,
		Append:     guestproto.Cmdline{Plan: guestproto.PlanPath}.Words(),
		ConsoleLog: filepath.Join(b.results, consoleName(n)),
	}
	if disks {
		os.RemoveAll(filepath.Join(b.work, fmt.Sprintf("disks-%d", n-1)))
		dd := filepath.Join(b.work, fmt.Sprintf("disks-%d", n))
		if err := os.MkdirAll(dd, 0o755); err != nil {
			return vm.Config{}, err
		}
		if cfg.Disks, cfg.Volatile, err = b.disks(ctx, dd); err != nil {
			return vm.Config{}, err
		}
	}
	return cfg, nil
}

// boot is the session's bootFunc.
func (b *booter) boot(ctx context.Context, n int, plan guestproto.Plan) (guest, error) {
	cfg, err := b.config(ctx, n, plan, true)
	if err != nil {
		return nil, err
	}
	g, err := vm.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return g, nil
}

func quoteReport(r vm.Report, boot int) string {
	head := reportTitle(r)
	switch {
	case r.During != "" && boot > 1:
		head += fmt.Sprintf(" (during %s, boot %d)", r.During, boot)
	case r.During != "":
		head += " (during " + r.During + ")"
	}
	return head + "\n" + strings.Join(r.Lines, "\n")
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

func writeReports(dir string, rr report.Run) error {
	var junit, js bytes.Buffer
	if err := report.WriteJUnit(&junit, rr); err != nil {
		return err
	}
	if err := report.WriteJSON(&js, rr); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "junit.xml"), junit.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "summary.json"), js.Bytes(), 0o644)
}

// builtKernel is what buildKernel made.
type builtKernel struct {
	tree             kernel.Tree
	bzImage, release string
	commit           string
}

// buildKernel prepares and builds the kernel. machineKconfig is the
// fragment the virtual hardware needs (qemu/<arch>.config); it is merged
// first, then kconfig/*.config in name order, then the base's own
// fragments, so a later fragment overrides an earlier one.
func buildKernel(ctx context.Context, o Options, machineKconfig string) (builtKernel, error) {
	var (
		t   kernel.Tree
		err error
	)
	switch o.Variant.Flavour {
	case kbase.Custom:
		t, err = kernel.Custom(ctx, o.KSRC, filepath.Join(o.Build, "kernel"))
	default:
		if o.Spec == nil || o.Archive == nil {
			return builtKernel{}, fmt.Errorf("kernel %s: no base description", o.Variant)
		}
		src := &kernel.Sources{Dir: filepath.Join(o.Build, "kernel", o.Spec.Name), Spec: *o.Spec, Archive: o.Archive, Log: o.Out}
		cached, key, err := cachedImage(ctx, o, src, machineKconfig)
		if err != nil || cached != nil {
			if cached != nil {
				return *cached, nil
			}
			return builtKernel{}, err
		}
		if t, err = src.Flavour(ctx, o.Variant.Flavour); err != nil {
			return builtKernel{}, err
		}
		b, err := buildTree(ctx, o, t, machineKconfig)
		if err != nil || key == "" {
			return b, err
		}
		if _, err := ImageCache(o).Store(key, kernel.Result{BzImage: b.bzImage, Release: b.release}, t.Commit); err != nil {
			return builtKernel{}, err
		}
		return b, nil
	}
	if err != nil {
		return builtKernel{}, err
	}
	return buildTree(ctx, o, t, machineKconfig)
}

// cachedImage returns the kernel of o from the image cache when it holds
// one for exactly these inputs and the base's selftests are cached too;
// otherwise the key to store the build under ("" when the cache is off).
func cachedImage(ctx context.Context, o Options, src *kernel.Sources, machineKconfig string) (*builtKernel, string, error) {
	if ImageCache(o).Dir == "" || o.NoBuild {
		return nil, "", nil
	}
	source, note, err := src.Source(ctx)
	if err != nil {
		return nil, "", err
	}
	img, key, ok, err := lookupImage(ctx, o, source, machineKconfig)
	if err != nil || !ok || o.Rebuild {
		return nil, key, err
	}
	fmt.Fprintf(o.Out, "kernel %s: %s from the image cache (key %s, built %s): the same source, patches, kconfig and toolchain; REBUILD=1 builds it\n",
		o.Variant, img.Release, key[:12], img.Built.Format(time.RFC3339))
	t := kernel.Tree{Variant: o.Variant, Commit: img.Commit, Source: source, Note: note}
	return &builtKernel{tree: t, commit: shortCommit(img.Commit), bzImage: img.BzImage, release: img.Release}, key, nil
}

// buildTree configures and builds a prepared tree (or, with NoBuild,
// finds its last build).
func buildTree(ctx context.Context, o Options, t kernel.Tree, machineKconfig string) (builtKernel, error) {
	if o.ObjSuffix != "" && !o.NoBuild {
		if err := seedObj(ctx, t.Obj, t.Obj+o.ObjSuffix, o.Out); err != nil {
			return builtKernel{}, err
		}
	}
	t.Obj += o.ObjSuffix
	b := builtKernel{tree: t, commit: shortCommit(t.Commit)}
	frags, err := Fragments(o.Repo, machineKconfig, o.Spec)
	if err != nil {
		return builtKernel{}, err
	}
	frags = append(frags, o.ExtraKconfig...)
	if o.NoBuild {
		rel, err := os.ReadFile(filepath.Join(t.Obj, "include/config/kernel.release"))
		if err != nil {
			return builtKernel{}, fmt.Errorf("-no-build: no kernel built in %s yet: %w", t.Obj, err)
		}
		b.bzImage, b.release = filepath.Join(t.Obj, "arch/x86/boot/bzImage"), strings.TrimSpace(string(rel))
		return b, nil
	}
	if err := kernel.Configure(ctx, t, frags, o.Out); err != nil {
		return builtKernel{}, err
	}
	res, err := kernel.Build(ctx, t, kernel.BuildOptions{
		Jobs:        o.Jobs,
		CCacheDir:   o.CCacheDir,
		Log:         o.Out,
		Interactive: o.Interactive,
		LogFile:     filepath.Join(o.Build, "kernel", "build-"+o.Variant.Slug()+o.ObjSuffix+".log"),
	})
	if err != nil {
		return builtKernel{}, err
	}
	b.bzImage, b.release = res.BzImage, res.Release
	return b, nil
}

// Fragments are the kconfig fragments of a build, in merge order: the
// machine's (machineKconfig, may be ""), kconfig/*.config in name order,
// then the base's own (spec may be nil).
func Fragments(repo, machineKconfig string, spec *kbase.Spec) ([]string, error) {
	frags, err := filepath.Glob(filepath.Join(repo, "kconfig", "*.config"))
	if err != nil || len(frags) == 0 {
		return nil, fmt.Errorf("no kconfig fragments in %s", filepath.Join(repo, "kconfig"))
	}
	sort.Strings(frags)
	if machineKconfig != "" {
		frags = append([]string{machineKconfig}, frags...)
	}
	if spec != nil {
		for _, k := range spec.Kconfig {
			frags = append(frags, filepath.Join(repo, k))
		}
	}
	return frags, nil
}

// accelCache remembers whether KVM works on this host (keyed inside by
// the QEMU and host kernel versions): in the shared cache when there is
// one, so fresh clones do not each pay the bounded proof boot.
func accelCache(o Options) string {
	if o.Cache != "" {
		return filepath.Join(o.Cache, "accel.cache")
	}
	return filepath.Join(o.Build, "accel.cache")
}

// SelftestDir holds the selftest binaries of the base of o.
func SelftestDir(o Options) string {
	if o.Cache != "" {
		return filepath.Join(o.Cache, "selftests", o.Spec.Name)
	}
	return filepath.Join(o.Build, "selftests", o.Spec.Name)
}

// ImageCache is where built kernel images are kept, if anywhere.
func ImageCache(o Options) kernel.ImageCache {
	if o.Cache == "" {
		return kernel.ImageCache{}
	}
	return kernel.ImageCache{Dir: filepath.Join(o.Cache, "kernels")}
}

// selftests builds the kernel selftests the base's series adds, for the
// guest's kselftest/* scenarios: every kernel of a base gets them, so
// they fail without the fix as they pass with it. A custom tree gets
// none (its own selftests are the user's business).
func selftests(ctx context.Context, o Options, t kernel.Tree) ([]image.Entry, error) {
	if o.Spec == nil {
		return nil, nil
	}
	kt := kselftest.Tree{Source: t.Source, Base: filepath.Join(o.Build, "kernel", o.Spec.Name, "base"), Src: t.Src, Obj: t.Obj}
	tests, err := kernel.SelftestPatches(*o.Spec)
	if err != nil {
		return nil, err
	}
	bins, err := kselftest.Build(ctx, kt, tests, SelftestDir(o), o.Out)
	if err != nil {
		return nil, err
	}
	var out []image.Entry
	for _, b := range bins {
		out = append(out, image.Entry{Path: strings.TrimPrefix(kselftest.Dir, "/") + "/" + b.Name, Source: b.Path, Mode: 0o755})
	}
	return out, nil
}

// MachineKconfig is the kconfig fragment the guest machine needs.
func MachineKconfig(repo string) (string, error) {
	mach, err := vm.LoadMachine(filepath.Join(repo, "qemu", Arch+".json"))
	if err != nil {
		return "", err
	}
	return mach.KconfigPath(), nil
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// buildInitramfs builds the static agent and packs it as /init.
func buildInitramfs(ctx context.Context, o Options) (string, error) {
	dir := filepath.Join(o.Build, "guest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Runs of one checkout may overlap (qemu-test -guests, or make
	// mutants beside make fstests): each writes its agent and initramfs
	// aside and renames them into place, so no run reads a file another
	// is writing.
	agentTmp, err := os.CreateTemp(dir, "init.tmp-")
	if err != nil {
		return "", err
	}
	agentTmp.Close()
	defer os.Remove(agentTmp.Name())
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", agentTmp.Name(), "./harness/cmd/guest")
	cmd.Dir = o.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build guest agent: %w: %s", err, out)
	}
	agent := filepath.Join(dir, "init")
	if err := os.Rename(agentTmp.Name(), agent); err != nil {
		return "", err
	}
	entries := []image.Entry{{Path: "init", Source: agent, Mode: 0o755}}
	for _, d := range []string{"dev", "proc", "sys", "tmp", "run", "mnt"} {
		entries = append(entries, image.Entry{Path: d, Dir: true, Mode: 0o755})
	}
	extra, err := image.Tools(fioTools)
	if err != nil {
		return "", err
	}
	entries = append(entries, extra...)
	f, err := os.CreateTemp(dir, "initramfs.tmp-")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if err := image.WriteInitramfs(f, entries); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "initramfs.cpio.gz")
	return path, os.Rename(f.Name(), path)
}

// fioTools are host binaries copied into the guest with their shared
// libraries (a real client for the mixed-I/O scenarios).
var fioTools = []string{"fio"}
