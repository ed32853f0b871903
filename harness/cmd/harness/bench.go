package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"dioharness/harness/bench"
	"dioharness/harness/report"
	"dioharness/harness/scenario"
	"dioharness/harness/testrun"
)

// benchScenario measures parallel direct-write throughput in the guest.
const benchScenario = "harness/bench-fuse-parallel-dio"

// benchCmd boots each selected kernel with the bench scenario alone (so
// no earlier scenario has loaded the probes) and writes its figures to
// results/bench.json.
func benchCmd(ctx context.Context, cat scenario.Catalogue, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	out := fs.String("o", filepath.Join("results", "bench.json"), "output file")
	if err := parseFlags(fs, args); err != nil {
		return badArgs(stderr, err)
	}
	if err := c.check(); err != nil {
		return badArgs(stderr, err)
	}
	if c.scenario != "" || c.shard != "" || c.ksrc != "" {
		return badArgs(stderr, errors.New("bench runs its own scenario on a base: it takes no SCENARIO, SHARD or KSRC"))
	}
	if c.kernel == "" {
		c.kernel = "patched"
	}
	c.scenario = benchScenario
	// The scenario's own bound is 10 minutes in the guest; the host
	// must not kill it first.
	c.scenarioTimeout = max(c.scenarioTimeout, 12*time.Minute)
	_, opts, _, status := c.kernels(stdout, stderr)
	if status != testrun.ExitOK {
		return status
	}
	res := bench.Results{Started: time.Now().UTC(), Machine: hostDescription()}
	worst := testrun.ExitOK
	var kernels []string
	for _, o := range opts {
		v := o.Variant
		oc := testrun.Run(ctx, cat, o)
		if oc.Exit != testrun.ExitOK {
			fmt.Fprintf(stderr, "harness: bench on %s: exit %d, no figures kept (%s)\n", v, oc.Exit, oc.Dir)
			worst = max(worst, oc.Exit)
			continue
		}
		rows, err := benchRows(oc.Run)
		if err != nil {
			fmt.Fprintf(stderr, "harness: bench on %s: %v\n", v, err)
			worst = max(worst, testrun.ExitInfra)
			continue
		}
		res.ParallelDIO = append(res.ParallelDIO, rows...)
		kernels = append(kernels, v.String()+" "+oc.Run.Kernel)
	}
	res.Machine += "; guest kernels: " + strings.Join(kernels, ", ")
	res.NotMeasured = notMeasured
	if len(res.ParallelDIO) == 0 {
		fmt.Fprintln(stderr, "harness: bench: nothing measured, results/bench.json left as it was")
		return max(worst, testrun.ExitFailed)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		fmt.Fprintf(stderr, "harness: bench: %v\n", err)
		return testrun.ExitInfra
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintf(stderr, "harness: bench: %v\n", err)
		return testrun.ExitInfra
	}
	fmt.Fprintf(stdout, "bench: %d figures in %s\n", len(res.ParallelDIO), *out)
	for _, p := range res.ParallelDIO {
		fmt.Fprintf(stdout, "  %s %s latency %2d ms parallel=%-5t writers %d: %8.2f MiB/s (%.2f..%.2f), %.2f x one writer, max in flight %d\n",
			p.Base, p.Flavour, p.LatencyMS, p.Parallel, p.Writers, p.MiBps, p.MinMiBps, p.MaxMiBps, p.Speedup, p.MaxInFlight)
	}
	return worst
}

// notMeasured are the figures make bench does not produce yet.
var notMeasured = []string{
	"edit -> verdict loop (touch fs/fuse/file.c, rebuild, boot, one scenario): not measured by make bench",
	"our FUSE server against go-fuse memfs (scripts/bench-fuse-peer.sh): not run by make bench",
	"fio on the FUSE mount against ext4: not measured by make bench",
	"probe overhead idle and recording (harness/probe-overhead): not run by make bench",
}

// benchRows reads the bench lines of the scenario's diagnostics.
func benchRows(r report.Run) ([]bench.ParallelDIO, error) {
	var ss []bench.Sample
	for _, s := range r.Scenarios {
		if s.Name != benchScenario {
			continue
		}
		for _, l := range s.Detail {
			smp, ok, err := bench.ParseLine(l)
			if err != nil {
				return nil, err
			}
			if ok {
				ss = append(ss, smp)
			}
		}
	}
	if len(ss) == 0 {
		return nil, errors.New("the scenario reported no bench line")
	}
	return bench.FromSamples(r.Variant.Base, string(r.Variant.Flavour), ss)
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
