package testrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dioharness/harness/fstests"
	"dioharness/harness/guestproto"
	"dioharness/harness/image"
	"dioharness/harness/junit"
	"dioharness/harness/report"
	"dioharness/harness/vm"
)

// FSTests is an fstests run on one kernel: each setup boots its own
// guests from the Debian root disk, with fresh test and scratch disks.
type FSTests struct {
	// Setups are the filesystems and modes, in order.
	Setups []fstests.Setup
	// Tests are the tests of each setup, in order (the expanded TESTS).
	Tests map[string][]string
	// Root is the cached root disk image, and Dir fstests' directory
	// in it.
	Root, Dir string
	// TestTimeout bounds one test in the guest.
	TestTimeout time.Duration
	// DiskMiB is the size of the test and scratch disks.
	DiskMiB int64
}

// FSTestsOutcome is one setup's run on the kernel.
type FSTestsOutcome struct {
	Setup fstests.Setup
	Outcome
	// Xunit are fstests' own reports, one suite per test that wrote one.
	Xunit []junit.Suite
}

// hostMargin is what the host adds to the guest's per-test bound before
// it kills the guest: the time the agent takes to dump the task states,
// kill the test and wait for it to go.
const hostMargin = 3 * time.Minute

// PrepareFSTests builds what RunFSTests boots, the kernel of o (with
// o.ExtraKconfig into its own object directory, or from the image
// cache) and the initramfs, without booting anything: make
// fstests-prepare, and make fstests before it boots several kernels at
// once or one kernel for several setups. The kernel is returned for
// Options.Built: a kernel taken from the image cache was never built in
// the object directory that NoBuild would look in.
func PrepareFSTests(ctx context.Context, o Options) (*Built, error) {
	mach, err := vm.LoadMachine(filepath.Join(o.Repo, "qemu", Arch+".json"))
	if err != nil {
		return nil, err
	}
	kb, err := buildKernel(ctx, o, mach.KconfigPath())
	if err != nil {
		return nil, err
	}
	if _, err := buildInitramfs(ctx, o); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Out, "%s: fstests kernel %s ready\n", o.Variant, strings.TrimSpace(kb.release+" "+kb.commit))
	return &Built{Tree: kb.tree, BzImage: kb.bzImage, Release: kb.release}, nil
}

// RunFSTests builds the kernel of o (with o.ExtraKconfig into its own
// object directory), or boots o.Built, and runs f's tests under every
// setup on it, one results directory per setup. The exit status of each
// outcome is that of Run: 1 when a test failed or the kernel printed a
// report.
func RunFSTests(ctx context.Context, o Options, f FSTests) []FSTestsOutcome {
	out := make([]FSTestsOutcome, 0, len(f.Setups))
	infraAll := func(err error, exit int) []FSTestsOutcome {
		fmt.Fprintf(o.Out, "%s: fstests: %v\n", o.Variant, err)
		for _, s := range f.Setups {
			out = append(out, FSTestsOutcome{Setup: s, Outcome: Outcome{Exit: exit,
				Run: report.Run{Variant: o.Variant, Started: time.Now(), Infra: err.Error()}}})
		}
		return out
	}
	mach, err := vm.LoadMachine(filepath.Join(o.Repo, "qemu", Arch+".json"))
	if err != nil {
		return infraAll(err, ExitBadArgs)
	}
	if _, err := os.Stat(f.Root); err != nil {
		return infraAll(fmt.Errorf("root disk: %w", err), ExitInfra)
	}
	var kb builtKernel
	if o.Built != nil {
		kb = builtKernel{tree: o.Built.Tree, bzImage: o.Built.BzImage, release: o.Built.Release, commit: shortCommit(o.Built.Tree.Commit)}
	} else if kb, err = buildKernel(ctx, o, mach.KconfigPath()); err != nil {
		return infraAll(err, ExitInfra)
	}
	initrd, err := buildInitramfs(ctx, o)
	if err != nil {
		return infraAll(err, ExitInfra)
	}
	for _, s := range f.Setups {
		out = append(out, runSetup(ctx, o, f, s, mach, kb, initrd))
		if ctx.Err() != nil {
			break
		}
	}
	return out
}

// runSetup runs one setup's tests on a built kernel.
func runSetup(ctx context.Context, o Options, f FSTests, s fstests.Setup, mach vm.Machine, kb builtKernel, initrd string) FSTestsOutcome {
	label := o.Variant.String() + " " + s.Name
	res := FSTestsOutcome{Setup: s}
	start := time.Now()
	dir := filepath.Join(o.Repo, "results", fmt.Sprintf("fstests-%s-%s-%s", o.Variant.Slug(), s.Name, start.UTC().Format("20060102-150405")))
	rr := report.Run{Variant: o.Variant, Started: start, Kernel: strings.TrimSpace(kb.release + " " + kb.commit),
		Source: kb.tree.Source, Note: kb.tree.Note}
	res.Dir = dir
	finish := func(exit int) Outcome {
		rr.Duration = time.Since(start).Round(time.Second)
		res.Run, res.Exit = rr, exit
		if err := writeFSTestsReports(dir, rr, res.Xunit); err != nil {
			fmt.Fprintf(o.Out, "error: write reports: %v\n", err)
		}
		report.WriteTable(o.Out, rr)
		fmt.Fprintf(o.Out, "results: %s\n", dir)
		return res.Outcome
	}
	infra := func(err error) FSTestsOutcome {
		rr.Infra = err.Error()
		fmt.Fprintf(o.Out, "%s: infrastructure error: %v\n", label, err)
		finish(ExitInfra)
		return res
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return infra(err)
	}
	tests := f.Tests[s.Name]
	fp := guestproto.FSTests{Setup: s.Name, Dir: f.Dir, TimeoutSec: int(f.TestTimeout.Round(time.Second) / time.Second)}
	plan := guestproto.Plan{
		Scenarios: guestproto.Entries(tests, func(string) (bool, string) { return false, "" }),
		Repeat:    1,
		Disks:     planDisks(mach, fstestsDisks),
		FSTests:   &fp,
		Wiring:    guestproto.Wiring{AgentTTY: mach.AgentTTY(), ExitPort: mach.ExitPort()},
	}
	if err := plan.Validate(); err != nil {
		return infra(err)
	}
	work := filepath.Join(o.Build, "disks", filepath.Base(dir))
	if err := os.MkdirAll(work, 0o755); err != nil {
		return infra(err)
	}
	defer os.RemoveAll(work)
	// One results disk for the whole run: a fresh guest after a fault
	// goes on writing next to what the first one wrote.
	results := filepath.Join(work, "results.img")
	if err := fstestsResultsDisk.Create(ctx, results); err != nil {
		return infra(err)
	}
	boots := &booter{machine: mach, kernel: kb.bzImage, initramfs: initrd, work: work, results: dir,
		disks: func(ctx context.Context, d string) ([]string, []string, error) {
			var disks []string
			for _, role := range []string{guestproto.DiskTest, guestproto.DiskScratch} {
				p := filepath.Join(d, role+".img")
				if err := (image.Disk{Name: role, SizeMiB: f.DiskMiB}).Create(ctx, p); err != nil {
					return nil, nil, err
				}
				disks = append(disks, p)
			}
			return append(append([]string{f.Root}, disks...), results), []string{f.Root}, nil
		}}
	first, err := boots.config(ctx, 1, plan, false)
	if err != nil {
		return infra(err)
	}
	first.Disks, first.Volatile = []string{f.Root}, []string{f.Root}
	accel, err := vm.ChooseAccel(ctx, o.Accel, first, accelCache(o), o.Out)
	if err != nil {
		return infra(err)
	}
	boots.accel = accel
	fmt.Fprintf(o.Out, "%s: booting %s under %s, %d tests, each bounded to %s\n", label, kb.release, strings.ToUpper(accel), len(tests), f.TestTimeout)
	t := o.Timeouts
	t.Scenario = f.TestTimeout + hostMargin
	sess := session{plan: plan, boot: boots.boot, timeouts: t, maxFaults: MaxFaultReboots, out: o.Out, label: label}
	oc := sess.run(ctx)
	// What fstests wrote: the per-test logs and its own xunit reports,
	// when a guest came up to write any (else reading the blank disk
	// only adds an error to the one that says why).
	if !oc.agentSpoke() {
		fmt.Fprintf(o.Out, "%s: no guest reached its agent: no fstests results to read\n", label)
	} else if err := image.CopyOut(ctx, results, "/"+fstests.ResultsDir, dir); err != nil {
		fmt.Fprintf(o.Out, "%s: fstests results: %v\n", label, err)
	} else {
		res.Xunit, err = fstests.ReadXunitDir(filepath.Join(dir, fstests.ResultsDir, fstests.XunitDir))
		if err != nil {
			fmt.Fprintf(o.Out, "%s: fstests results: %v\n", label, err)
		}
	}
	finishRun(oc, func(string) string { return "fstests/" + s.Name }, dir, o, &rr, finish)
	return res
}

// writeFSTestsReports writes the run's reports and joins fstests' own
// xunit suites to our JUnit document.
func writeFSTestsReports(dir string, rr report.Run, xunit []junit.Suite) error {
	if err := writeReports(dir, rr); err != nil {
		return err
	}
	if len(xunit) == 0 {
		return nil
	}
	p := filepath.Join(dir, "junit.xml")
	ours, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	joined, err := fstests.JoinJUnit(ours, xunit)
	if err != nil {
		return err
	}
	return os.WriteFile(p, joined, 0o644)
}

// fstestsResultsDisk is where fstests writes its results (RESULT_BASE);
// the host formats it so that it can read it back with debugfs.
var fstestsResultsDisk = image.Disk{Name: guestproto.DiskResults, FSType: "ext4", SizeMiB: 512,
	Mkfs: []string{"mkfs.ext4", "-q", "-F", "-L", "dioresults"}, Package: "e2fsprogs"}

// fstestsDisks are the disks of an fstests guest as the plan names
// them, in the order runSetup attaches them: the Debian root disk
// (ext4), the blank test and scratch disks the guest formats for the
// setup, and the results disk.
var fstestsDisks = []image.Disk{
	{Name: guestproto.DiskRoot, FSType: "ext4"},
	{Name: guestproto.DiskTest},
	{Name: guestproto.DiskScratch},
	fstestsResultsDisk,
}
