package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"dioharness/harness/bench"
	"dioharness/harness/catalogue"
	"dioharness/harness/report"
	"dioharness/harness/testrun"
)

// The guest parts of make bench: the throughput scenarios run in one
// boot, the probe overhead alone in another (nothing else may have
// loaded probes before it).
const (
	benchScenario    = "harness/bench-fuse-parallel-dio"
	benchFioScenario = "harness/bench-fio"
	overheadScenario = "harness/probe-overhead"
	overheadWorkload = "4 KiB O_DIRECT overwrites of a 64 KiB range of one file on ext4"
)

// The edit -> verdict loop: the file touched and the scenario run.
const (
	editFile     = "fs/fuse/file.c"
	editScenario = "fuse/parallel-dio-shared"
)

// benchFlags registers bench's own flags.
func benchFlags(fs *flag.FlagSet) action {
	out := fs.String("o", filepath.Join("results", "bench.json"), "output file")
	editRuns := fs.Int("edit-runs", 5, "edit -> verdict loops per kernel (0 skips them)")
	peer := fs.Bool("peer", true, "run scripts/bench-fuse-peer.sh on the host (root, /dev/fuse, the Go module proxy)")
	return func(ctx context.Context, in invocation) int { return benchCmd(ctx, in, *out, *editRuns, *peer) }
}

// benchCmd measures, per selected kernel, parallel direct-write
// throughput, fio on FUSE against ext4, probe overhead and the edit ->
// verdict loop, and on the host our FUSE server against go-fuse's memfs;
// it writes results/bench.json. It runs its own scenarios on a base, so
// it has no -scenario, -shard or -ksrc.
func benchCmd(ctx context.Context, in invocation, out string, editRuns int, peer bool) int {
	c, cat, stdout, stderr := in.c, in.cat, in.stdout, in.stderr
	if editRuns < 0 {
		return badArgs(stderr, fmt.Errorf("-edit-runs %d: want 0 or more", editRuns))
	}
	if c.kernel == "" {
		c.kernel = "patched"
	}
	// The scenarios' own bounds are 10 and 15 minutes in the guest; the
	// host must not kill them first.
	c.scenarioTimeout = max(c.scenarioTimeout, 17*time.Minute)
	e, opts, _, status := c.kernels(stdout, stderr)
	if status != testrun.ExitOK {
		return status
	}
	res := bench.Results{Started: time.Now().UTC(), Machine: hostDescription()}
	worst := testrun.ExitOK
	fail := func(v fmt.Stringer, what string, err error, exit int) {
		fmt.Fprintf(stderr, "harness: bench on %s: %s: %v\n", v, what, err)
		res.NotMeasured = append(res.NotMeasured, fmt.Sprintf("%s on %s: %v", what, v, err))
		worst = max(worst, exit)
	}
	var kernels []string
	for _, o := range opts {
		v := o.Variant
		base, flavour := v.Base, string(v.Flavour)
		built, err := testrun.Prepare(ctx, o)
		if err != nil {
			fail(v, "kernel", err, testrun.ExitInfra)
			continue
		}
		o.Built = built // both boots run this kernel
		o.Scenarios = []string{benchScenario, benchFioScenario}
		oc := testrun.Run(ctx, cat, o)
		if oc.Exit != testrun.ExitOK {
			fail(v, "throughput scenarios", fmt.Errorf("exit %d (%s)", oc.Exit, oc.Dir), oc.Exit)
		} else if err := benchFigures(&res, base, flavour, oc.Run); err != nil {
			fail(v, "throughput scenarios", err, testrun.ExitInfra)
		} else {
			kernels = append(kernels, v.String()+" "+oc.Run.Kernel)
		}
		o.Scenarios = []string{overheadScenario}
		oc = testrun.Run(ctx, cat, o)
		if oc.Exit != testrun.ExitOK {
			fail(v, "probe overhead", fmt.Errorf("exit %d (%s)", oc.Exit, oc.Dir), oc.Exit)
		} else if p, err := overheadFigures(base, flavour, overheadWorkload, oc.Run); err != nil {
			fail(v, "probe overhead", err, testrun.ExitInfra)
		} else {
			res.ProbeOverhead = append(res.ProbeOverhead, p)
		}
		if editRuns == 0 {
			res.NotMeasured = append(res.NotMeasured, "edit -> verdict on "+v.String()+": skipped (-edit-runs 0)")
			continue
		}
		o.Built, o.NoBuild = nil, false
		el, err := editLoop(ctx, cat, o, editRuns, stdout)
		if err != nil {
			fail(v, "edit -> verdict", err, testrun.ExitInfra)
			continue
		}
		res.EditLoop = append(res.EditLoop, el)
	}
	res.Machine += "; guest kernels: " + strings.Join(kernels, ", ")
	if peer {
		setup, rows, err := peerFigures(ctx, e.repo, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "harness: bench: FUSE peer: %v\n", err)
			res.NotMeasured = append(res.NotMeasured, "our FUSE server against go-fuse memfs: "+err.Error())
		}
		res.FusePeer, res.FusePeerSetup = rows, setup
	} else {
		res.NotMeasured = append(res.NotMeasured, "our FUSE server against go-fuse memfs: skipped (-peer=false)")
	}
	if len(res.ParallelDIO) == 0 && len(res.ProbeOverhead) == 0 && len(res.EditLoop) == 0 {
		fmt.Fprintf(stderr, "harness: bench: nothing measured in a guest, %s left as it was\n", out)
		return max(worst, testrun.ExitFailed)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		fmt.Fprintf(stderr, "harness: bench: %v\n", err)
		return testrun.ExitInfra
	}
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "harness: bench: %v\n", err)
		return testrun.ExitInfra
	}
	printBench(stdout, res, out)
	return worst
}

// benchFigures reads the throughput scenarios' bench lines into res.
func benchFigures(res *bench.Results, base, flavour string, r report.Run) error {
	var ss []bench.Sample
	var fr []bench.FioRun
	for _, l := range details(r) {
		smp, ok, err := bench.ParseLine(l)
		if err != nil {
			return err
		}
		if ok {
			ss = append(ss, smp)
		}
		f, ok, err := bench.ParseFioLine(l)
		if err != nil {
			return err
		}
		if ok {
			fr = append(fr, f)
		}
	}
	if len(ss) == 0 || len(fr) == 0 {
		return fmt.Errorf("the scenarios reported %d parallel_dio and %d fio lines, want some of each", len(ss), len(fr))
	}
	rows, err := bench.FromSamples(base, flavour, ss)
	if err != nil {
		return err
	}
	fio, err := bench.FioFromRuns(base, flavour, fr)
	if err != nil {
		return err
	}
	res.ParallelDIO = append(res.ParallelDIO, rows...)
	res.Fio = append(res.Fio, fio...)
	return nil
}

// details are the diagnostic lines of every scenario of r, in order:
// where the guest's bench lines are.
func details(r report.Run) []string {
	var ls []string
	for _, s := range r.Scenarios {
		ls = append(ls, s.Detail...)
	}
	return ls
}

// overheadFigures reads the probe overhead rounds.
func overheadFigures(base, flavour, workload string, r report.Run) (bench.ProbeOverhead, error) {
	var rs []bench.OverheadRound
	for _, l := range details(r) {
		rd, ok, err := bench.ParseOverheadLine(l)
		if err != nil {
			return bench.ProbeOverhead{}, err
		}
		if ok {
			rs = append(rs, rd)
		}
	}
	return bench.OverheadFromRounds(base, flavour, workload, rs)
}

// editLoop touches editFile in the kernel's source tree and times the
// rebuild, the boot and editScenario, runs times. One untimed build
// first makes sure the tree's O= directory is complete (the image
// cache may have spared the last run a build).
func editLoop(ctx context.Context, cat catalogue.Catalogue, o testrun.Options, runs int, stdout io.Writer) (bench.EditLoop, error) {
	o.Scenarios, o.Rebuild, o.Repeat = []string{editScenario}, true, 1
	fmt.Fprintf(stdout, "bench: edit -> verdict on %s: an untimed build first\n", o.Variant)
	b, err := testrun.Prepare(ctx, o)
	if err != nil {
		return bench.EditLoop{}, err
	}
	src := filepath.Join(b.Tree.Src, editFile)
	var rs []bench.EditRun
	for i := 1; i <= runs; i++ {
		now := time.Now()
		if err := os.Chtimes(src, now, now); err != nil {
			return bench.EditLoop{}, fmt.Errorf("touch %s: %w", src, err)
		}
		t0 := time.Now()
		b, err := testrun.Prepare(ctx, o)
		if err != nil {
			return bench.EditLoop{}, err
		}
		build := time.Since(t0)
		ro := o
		ro.Built = b
		oc := testrun.Run(ctx, cat, ro)
		total := time.Since(t0)
		if oc.Exit != testrun.ExitOK || len(oc.Run.Boots) != 1 || len(oc.Run.Scenarios) != 1 {
			return bench.EditLoop{}, fmt.Errorf("edit run %d: exit %d, %d boots, %d scenarios (%s)", i, oc.Exit, len(oc.Run.Boots), len(oc.Run.Scenarios), oc.Dir)
		}
		r := bench.EditRun{Build: build, Boot: oc.Run.Boots[0], Scenario: oc.Run.Scenarios[0].Duration, Total: total}
		r.Rest = total - r.Build - r.Boot - r.Scenario
		fmt.Fprintf(stdout, "bench: edit -> verdict %d/%d on %s: %s (build %s, boot %s, scenario %s, rest %s)\n", i, runs, o.Variant,
			total.Round(time.Second), build.Round(time.Second), r.Boot.Round(time.Second), r.Scenario.Round(time.Second), r.Rest.Round(time.Second))
		rs = append(rs, r)
	}
	return bench.EditLoopFromRuns(o.Variant.Base, string(o.Variant.Flavour), editFile, editScenario, rs)
}

// peerFigures runs scripts/bench-fuse-peer.sh with TSV output.
func peerFigures(ctx context.Context, repo string, stderr io.Writer) (string, []bench.PeerRow, error) {
	tsv, err := os.CreateTemp("", "bench-peer-*.tsv")
	if err != nil {
		return "", nil, err
	}
	tsv.Close()
	defer os.Remove(tsv.Name())
	cmd := exec.CommandContext(ctx, filepath.Join(repo, "scripts", "bench-fuse-peer.sh"))
	cmd.Env = append(os.Environ(), "TSV="+tsv.Name(), "COUNT_MIB=64")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", nil, fmt.Errorf("scripts/bench-fuse-peer.sh: %w", err)
	}
	b, err := os.ReadFile(tsv.Name())
	if err != nil {
		return "", nil, err
	}
	return bench.ParsePeerTSV(b)
}

// printBench prints the figures in short.
func printBench(w io.Writer, res bench.Results, path string) {
	fmt.Fprintf(w, "bench: figures in %s\n", path)
	for _, p := range res.ParallelDIO {
		fmt.Fprintf(w, "  %s %s latency %2d ms open %-14s parallel=%-5t writers %d: %8.2f MiB/s (%.2f..%.2f), %.2f x one writer, max in flight %d\n",
			p.Base, p.Flavour, p.LatencyMS, p.Open, p.Parallel, p.Writers, p.MiBps, p.MinMiBps, p.MaxMiBps, p.Speedup, p.MaxInFlight)
	}
	for _, f := range res.Fio {
		fmt.Fprintf(w, "  %s %s fio %-5s on %-4s: %8.2f MiB/s (%.2f..%.2f), %.2f x ext4\n", f.Base, f.Flavour, f.Job, f.FS, f.MiBps, f.MinMiBps, f.MaxMiBps, f.ToExt4)
	}
	for _, p := range res.ProbeOverhead {
		verdict := "goals met"
		if !p.Met() {
			verdict = "goals NOT met"
		}
		fmt.Fprintf(w, "  %s %s probe overhead: bare %.0f us, idle %.0f us (%+.1f%%, goal < %.0f%%), recording %.0f us (%+.1f%%, goal < %.0f%%): %s\n",
			p.Base, p.Flavour, p.BareUS, p.IdleUS, p.IdlePct, p.GoalIdlePct, p.RecordingUS, p.RecordingPct, p.GoalRecordingPct, verdict)
	}
	for _, l := range res.EditLoop {
		fmt.Fprintf(w, "  %s %s edit -> verdict (%s, %s): %.0f s (build %.0f s, boot %.0f s, scenario %.0f s, rest %.0f s; goal < %.0f s)\n",
			l.Base, l.Flavour, l.File, l.Scenario, l.TotalS, l.BuildS, l.BootS, l.ScenarioS, l.RestS, l.GoalS)
	}
	for _, r := range res.FusePeer {
		fmt.Fprintf(w, "  host FUSE %s %-11s: write %7.1f MB/s (%.2f x peer), read %7.1f MB/s (%.2f x peer)\n", r.Server, r.Mode, r.WriteMBps, r.WriteToPeer, r.ReadMBps, r.ReadToPeer)
	}
	for _, n := range res.NotMeasured {
		fmt.Fprintf(w, "  not measured: %s\n", n)
	}
}

// hostDescription names the machine the figures come from.
func hostDescription() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	// The host's load says how far other jobs shared the CPUs.
	load := "unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = strings.Join(f[:3], " ")
		}
	}
	return fmt.Sprintf("host: %s, %d CPUs, load average %s at start; guest: QEMU machine of qemu/%s.json", cpu, runtime.NumCPU(), load, testrun.Arch)
}
