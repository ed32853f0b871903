// Package testrun takes one kernel flavour from source to verdict: it
// prepares and builds the kernel, packs the guest agent into an
// initramfs, makes the disk images, boots the guest, watches it, and
// writes results/<flavour>-<timestamp>/ (console.log, results.ktap,
// junit.xml, summary.json) and the human table.
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

	"dioharness/harness/debian"
	"dioharness/harness/image"
	"dioharness/harness/kbase"
	"dioharness/harness/kernel"
	"dioharness/harness/ktap"
	"dioharness/harness/report"
	"dioharness/harness/scenario"
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
	// Spec describes the base; nil for a custom tree.
	Spec *kbase.Spec
	// Archive fetches the base's source from Debian's archive.
	Archive *debian.Archive
	// KSRC is a user's kernel tree, for the custom flavour.
	KSRC string
	// Scenarios is the comma-separated glob list; empty runs all.
	Scenarios string
	// Repeat runs the selection this many times in one boot.
	Repeat int
	// Accel overrides the accelerator choice (QEMU_ACCEL).
	Accel string
	// Jobs is make -j.
	Jobs int
	// CCacheDir is the ccache directory ("" disables ccache).
	CCacheDir string
	// Timeouts bound the guest phases.
	Timeouts Timeouts
	// Out receives progress lines and the final table.
	Out io.Writer
	// Interactive redraws progress lines in place.
	Interactive bool
	// NoBuild boots the kernel built last time without running make:
	// quick re-runs, and several runs against one build at once.
	NoBuild bool
}

// Outcome is a finished run.
type Outcome struct {
	Run  report.Run
	Dir  string
	Exit int
}

// Run executes one flavour. Infrastructure errors are reported in the
// Outcome (Exit 2) with whatever was gathered kept in Dir.
func Run(ctx context.Context, cat scenario.Catalogue, o Options) Outcome {
	sel, err := cat.Lookup(o.Scenarios)
	if err != nil {
		fmt.Fprintf(o.Out, "error: %v\n", err)
		return Outcome{Exit: ExitBadArgs}
	}
	if err := vm.CheckAccel(o.Accel); err != nil {
		fmt.Fprintf(o.Out, "error: %v\n", err)
		return Outcome{Exit: ExitBadArgs}
	}
	label := o.Variant.String()
	start := time.Now()
	dir := filepath.Join(o.Repo, "results", fmt.Sprintf("%s-%s", o.Variant.Slug(), start.UTC().Format("20060102-150405")))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(o.Out, "error: %v\n", err)
		return Outcome{Exit: ExitInfra}
	}
	rr := report.Run{Variant: o.Variant, Started: start}
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

	kb, err := buildKernel(ctx, o)
	if err != nil {
		return infra(err)
	}
	rr.Kernel = strings.TrimSpace(kb.release + " " + kb.commit)
	rr.Source, rr.Note = kb.tree.Source, kb.tree.Note
	if kb.tree.Variant.Flavour == kbase.Patched && len(kb.kernel.Patches) == 0 {
		rr.Note = strings.TrimPrefix(rr.Note+"; ", "; ") + "the series of " + o.Variant.Base + " holds no patch yet: patched is the base"
	}
	initrd, err := buildInitramfs(ctx, o)
	if err != nil {
		return infra(err)
	}
	// Per run, so concurrent runs never share a writable image.
	diskDir := filepath.Join(o.Build, "disks", filepath.Base(dir))
	if err := os.MkdirAll(diskDir, 0o755); err != nil {
		return infra(err)
	}
	defer os.RemoveAll(diskDir)
	disks, err := image.Make(ctx, diskDir)
	if err != nil {
		return infra(err)
	}
	kimg, release := kb.bzImage, kb.release
	cfg := vm.Config{
		Kernel:     kimg,
		Initramfs:  initrd,
		Disks:      disks,
		ConsoleLog: filepath.Join(dir, "console.log"),
		Append: []string{
			"dioharness.flavour=" + label,
			"dioharness.run=" + runArg(sel),
			fmt.Sprintf("dioharness.repeat=%d", max(o.Repeat, 1)),
		},
	}
	accel, err := vm.ChooseAccel(ctx, o.Accel, cfg, filepath.Join(o.Build, "accel.cache"), o.Out)
	if err != nil {
		return infra(err)
	}
	cfg.Accel = accel
	fmt.Fprintf(o.Out, "%s: booting %s under %s, %d scenarios\n", label, release, strings.ToUpper(accel), len(sel)*max(o.Repeat, 1))
	m, err := vm.Start(ctx, cfg)
	if err != nil {
		return infra(err)
	}
	w := watch(m, o.Timeouts, o.Out, label)
	verdict, waitErr := m.Wait()
	m.Close()
	raw := strings.Join(w.lines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "results.ktap"), []byte(raw), 0o644); err != nil {
		return infra(err)
	}
	for _, r := range m.Console().Reports() {
		rr.KernelReports = append(rr.KernelReports, quoteReport(r))
	}
	parsed, perr := ktap.Parse(strings.NewReader(raw))
	if perr == nil {
		rr.Scenarios = scenarios(sel, parsed, kb.kernel, m.Console().Reports())
	}
	switch {
	case w.hang != "":
		rr.Infra = w.hang + " (console kept in " + filepath.Join(dir, "console.log") + ")"
		return finish(ExitInfra)
	case len(rr.KernelReports) > 0:
		for _, r := range rr.KernelReports {
			fmt.Fprintf(o.Out, "%s: kernel report:\n%s\n", label, indent(r))
		}
		return finish(ExitFailed)
	case perr != nil:
		return infra(fmt.Errorf("agent output unreadable: %w", perr))
	case !parsed.Complete:
		why := "guest ended before reporting every scenario"
		if waitErr != nil {
			why += ": " + waitErr.Error()
		}
		return infra(errors.New(why))
	case verdict == 2:
		return infra(errors.New("guest agent could not run the scenarios (see results.ktap)"))
	}
	for _, s := range rr.Scenarios {
		if !s.Matches {
			return finish(ExitFailed)
		}
	}
	return finish(ExitOK)
}

// runArg passes the exact selection to the guest, so the guest and the
// host agree on the scenario list.
func runArg(sel scenario.Catalogue) string {
	return strings.Join(sel.Names(), ",")
}

// scenarios joins the guest's KTAP results with the declarations. A
// kernel report during a scenario fails it whatever the guest saw.
func scenarios(sel scenario.Catalogue, k *ktap.Report, kern scenario.Kernel, reports []vm.Report) []report.Scenario {
	byName := map[string]scenario.Scenario{}
	for _, s := range sel {
		byName[s.Name] = s
	}
	reported := map[string]string{}
	for _, r := range reports {
		if r.During != "" {
			if _, ok := reported[r.During]; !ok {
				reported[r.During] = r.Title
			}
		}
	}
	var out []report.Scenario
	seen := map[string]int{}
	for _, res := range k.Results {
		s := byName[res.Name]
		seen[res.Name]++
		exp := s.Expected(kern)
		rs := report.Scenario{
			Name:     res.Name,
			Area:     s.Area,
			Expected: report.Verdict(exp.Verdict),
			Why:      exp.Why,
			Reason:   res.Reason,
			Duration: res.Duration,
			Attempts: attempts(res.Diag),
			Detail:   res.Diag,
		}
		switch res.Status {
		case ktap.Pass:
			rs.Verdict = report.Pass
		case ktap.Skip:
			rs.Verdict = report.Skip
		default:
			rs.Verdict = report.Fail
		}
		if title, ok := reported[res.Name]; ok {
			rs.Verdict = report.Fail
			rs.Reason = "kernel report: " + title
		}
		// A skip proves nothing about the kernel, but it is not a
		// kernel failure either: it is shown as skip and does not
		// fail the run.
		rs.Matches = rs.Verdict == rs.Expected || rs.Verdict == report.Skip
		if rs.Expected == report.Fail && rs.Verdict == report.Fail {
			rs.Reason = "as declared: " + exp.Why + " (" + rs.Reason + ")"
		}
		out = append(out, rs)
	}
	for _, s := range sel {
		if seen[s.Name] == 0 {
			exp := s.Expected(kern)
			out = append(out, report.Scenario{Name: s.Name, Area: s.Area, Verdict: report.Error, Expected: report.Verdict(exp.Verdict), Why: exp.Why, Reason: "no result from the guest"})
		}
	}
	return out
}

func attempts(diag []string) int {
	for _, d := range diag {
		var n int
		if _, err := fmt.Sscanf(d, "attempts: %d", &n); err == nil {
			return n
		}
	}
	return 1
}

func quoteReport(r vm.Report) string {
	head := r.Title
	if r.During != "" {
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
	kernel           scenario.Kernel
	bzImage, release string
	commit           string
}

func buildKernel(ctx context.Context, o Options) (builtKernel, error) {
	var (
		t       kernel.Tree
		patches []string
		err     error
	)
	switch o.Variant.Flavour {
	case kbase.Custom:
		t, err = kernel.Custom(ctx, o.KSRC, filepath.Join(o.Build, "kernel"))
	case kbase.Base, kbase.Patched:
		if o.Spec == nil || o.Archive == nil {
			return builtKernel{}, fmt.Errorf("kernel %s: no base description", o.Variant)
		}
		src := &kernel.Sources{Dir: filepath.Join(o.Build, "kernel", o.Spec.Name), Spec: *o.Spec, Archive: o.Archive, Log: o.Out}
		if o.Variant.Flavour == kbase.Base {
			t, err = src.Base(ctx)
			break
		}
		if t, err = src.Patched(ctx); err == nil {
			patches, err = src.AllPatches()
		}
	default:
		err = fmt.Errorf("unknown kernel flavour %q", o.Variant.Flavour)
	}
	if err != nil {
		return builtKernel{}, err
	}
	subjects, err := kernel.Subjects(patches)
	if err != nil {
		return builtKernel{}, err
	}
	b := builtKernel{tree: t, kernel: scenario.Kernel{Variant: o.Variant, Patches: subjects}, commit: shortCommit(t.Commit)}
	frags, err := Fragments(o.Repo, o.Spec)
	if err != nil {
		return builtKernel{}, err
	}
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
		LogFile:     filepath.Join(o.Build, "kernel", "build-"+o.Variant.Slug()+".log"),
	})
	if err != nil {
		return builtKernel{}, err
	}
	b.bzImage, b.release = res.BzImage, res.Release
	return b, nil
}

// Fragments are the kconfig fragments of a build: kconfig/*.config in
// name order, then the base's own (spec may be nil).
func Fragments(repo string, spec *kbase.Spec) ([]string, error) {
	frags, err := filepath.Glob(filepath.Join(repo, "kconfig", "*.config"))
	if err != nil || len(frags) == 0 {
		return nil, fmt.Errorf("no kconfig fragments in %s", filepath.Join(repo, "kconfig"))
	}
	sort.Strings(frags)
	if spec != nil {
		for _, k := range spec.Kconfig {
			frags = append(frags, filepath.Join(repo, k))
		}
	}
	return frags, nil
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
	agent := filepath.Join(dir, "init")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", agent, "./harness/cmd/guest")
	cmd.Dir = o.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build guest agent: %w: %s", err, out)
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
	path := filepath.Join(dir, "initramfs.cpio.gz")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := image.WriteInitramfs(f, entries); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// fioTools are host binaries copied into the guest with their shared
// libraries (a real client for the mixed-I/O scenarios).
var fioTools = []string{"fio"}
