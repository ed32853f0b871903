package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"dioharness/harness/report"
	"dioharness/harness/shard"
	"dioharness/harness/testrun"
)

// ciLocalJob is one job of the qemu-test workflow's matrix: the make
// command its shard step runs (.github/workflows/qemu-test.yml), with
// the variables that make it a separate runner on this machine.
type ciLocalJob struct {
	base  string
	shard shard.Shard
	// build is the job's own build directory, log its output.
	build, log string
	// flavours is how many kernels its base has (kbase.Spec.Flavours):
	// a job runs every one. dirs are the results directories of its
	// runs, in run order (base, patched, then the declared flavours).
	flavours int
	dirs     []string
	took     time.Duration
	exit     int
}

// shardTarget and shardVars are what the workflow's shard step passes
// make (a test checks the workflow against them); mergeTarget and
// mergeVars its merge step's.
const shardTarget, mergeTarget = "qemu-test", "merge"

var (
	shardVars = []string{"BASE", "SHARD"}
	mergeVars = []string{"MERGE", "MERGE_OUT"}
)

// command is the job's make command line: the workflow's shard step,
// plus BUILD (each runner has its own checkout) and GUESTS=1 (the
// workflow's runner boots its kernels on its own cores; here the jobs
// share two, so ci-local bounds the guests by running jobs at once).
func (j ciLocalJob) command(scenarios string) []string {
	args := []string{"--no-print-directory", shardTarget, "BASE=" + j.base, "SHARD=" + j.shard.String(),
		"BUILD=" + j.build, "GUESTS=1"}
	if scenarios != "" {
		args = append(args, "SCENARIO="+scenarios)
	}
	return args
}

// ciLocalFlags registers the ci-local command's own flags.
func ciLocalFlags(fs *flag.FlagSet) action {
	var f ciLocalOwn
	fs.IntVar(&f.shards, "shards", 4, "shards per base, as the workflow's SHARDS")
	fs.IntVar(&f.atOnce, "at-once", 1, "jobs running at once (each boots one guest at a time)")
	fs.StringVar(&f.whole, "whole", filepath.Join("results", "matrix.json"), "the matrix of a single run to compare the merged one with")
	fs.StringVar(&f.out, "o", filepath.Join("build", "ci-local"), "the jobs' build directories, logs and the merged results")
	return func(ctx context.Context, in invocation) int { return ciLocal(ctx, in, f) }
}

// ciLocalOwn are the ci-local command's own flags.
type ciLocalOwn struct {
	shards, atOnce int
	whole, out     string
}

// ciLocal rehearses the qemu-test workflow on this machine: every job of
// its matrix (bases x shards) as a separate make process with its own
// build directory, a given number at a time, then make merge over their
// results, as the workflow's merge job does; and it fails unless the
// merged matrix equals the one of a single run (-whole, by default
// results/matrix.json, which a full make qemu-test writes; any run's is
// in its build directory, BUILD/matrix.json) on the rehearsal's bases
// and scenarios.
func ciLocal(ctx context.Context, in invocation, f ciLocalOwn) int {
	c, cat, stdout, stderr := in.c, in.cat, in.stdout, in.stderr
	if f.shards < 1 || f.shards > shard.MaxCount || f.atOnce < 1 || f.atOnce > 16 {
		return badArgs(stderr, fmt.Errorf("ci-local: bad -shards %d or -at-once %d, want [1-%d] and [1-16]", f.shards, f.atOnce, shard.MaxCount))
	}
	if _, err := cat.Lookup(c.scenario); err != nil {
		return badArgs(stderr, err)
	}
	// The jobs and the merge get SCENARIO as make takes it.
	scenarios := strings.Join(c.scenario, ",")
	e, sel, err := c.selectedBases()
	if err != nil {
		return badArgs(stderr, err)
	}
	if _, err := report.LoadMatrix(f.whole); err != nil {
		return badArgs(stderr, fmt.Errorf("ci-local: the single run to compare with: %w (run make qemu-test BASE=all first, or the same BASE and SCENARIO and name its BUILD/matrix.json with WHOLE=)", err))
	}
	order, err := mergeOrder(cat, c.scenario)
	if err != nil {
		return badArgs(stderr, err)
	}
	dir, err := filepath.Abs(f.out)
	if err != nil {
		return badArgs(stderr, err)
	}
	var jobs []*ciLocalJob
	for _, b := range sel {
		for i := 1; i <= f.shards; i++ {
			s := shard.Shard{Index: i, Count: f.shards}
			name := fmt.Sprintf("%s-shard%dof%d", b.Name, i, f.shards)
			jobs = append(jobs, &ciLocalJob{base: b.Name, shard: s, flavours: len(b.Flavours()),
				build: filepath.Join(dir, name), log: filepath.Join(dir, name+".log")})
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "harness: ci-local: %v\n", err)
		return testrun.ExitInfra
	}
	fmt.Fprintf(stdout, "ci-local: %d jobs (%d bases x %d shards), %d at a time, logs in %s\n", len(jobs), len(sel), f.shards, f.atOnce, dir)
	start := time.Now()
	runJobs(ctx, e.repo, jobs, f.atOnce, scenarios, stdout)
	wall := time.Since(start)
	if ctx.Err() != nil {
		return testrun.ExitInfra
	}
	// make exits 2 whatever the harness's status was: a job that failed
	// but left its runs' results (a scenario that did not match) is
	// merged, and the comparison judges it.
	worst := testrun.ExitOK
	var dirs []string
	for _, b := range sel {
		for fl := range b.Flavours() {
			for _, j := range jobs {
				if j.base == b.Name && fl < len(j.dirs) {
					dirs = append(dirs, j.dirs[fl])
				}
			}
		}
	}
	for _, j := range jobs {
		if j.exit != 0 {
			worst = testrun.ExitFailed
		}
		if len(j.dirs) != j.flavours {
			fmt.Fprintf(stderr, "harness: ci-local: %s shard %s left %d results directories, want %d (log: %s)\n", j.base, j.shard, len(j.dirs), j.flavours, j.log)
			return testrun.ExitInfra
		}
	}
	merged := filepath.Join(dir, "merged")
	mergeArgs := []string{"--no-print-directory", mergeTarget, "MERGE=" + strings.Join(dirs, " "), "MERGE_OUT=" + merged}
	if scenarios != "" {
		mergeArgs = append(mergeArgs, "SCENARIO="+scenarios)
	}
	fmt.Fprintf(stdout, "ci-local: make %s\n", strings.Join(mergeArgs[1:], " "))
	mk := exec.CommandContext(ctx, "make", mergeArgs...)
	mk.Dir, mk.Stdout, mk.Stderr, mk.Env = e.repo, stdout, stderr, freshMakeEnv()
	// A merge of mismatching runs exits non-zero and still writes them.
	os.RemoveAll(merged)
	mergeErr := mk.Run()
	if mergeErr != nil {
		worst = testrun.ExitFailed
	}
	printJobTimes(stdout, jobs, wall)
	scope := matrixScope{order: order}
	for _, b := range sel {
		scope.bases = append(scope.bases, b.Name)
	}
	got, d, err := compareMatrixFiles(f.whole, filepath.Join(merged, "matrix.json"), scope)
	if err != nil {
		if mergeErr != nil {
			err = fmt.Errorf("make merge: %v: %w", mergeErr, err)
		}
		fmt.Fprintf(stderr, "harness: ci-local: %v\n", err)
		return testrun.ExitInfra
	}
	if d != "" {
		fmt.Fprintf(stdout, "ci-local: the merged matrix differs from %s (-single run +merged shards):\n%s", f.whole, d)
		return testrun.ExitFailed
	}
	if infra := infraKernels(got); len(infra) > 0 {
		fmt.Fprintf(stdout, "ci-local: the merged matrix equals %s on %s, but %s had infrastructure errors: the scenarios did not run, so that proves nothing\n",
			f.whole, scope.compared(got), strings.Join(infra, ", "))
		return testrun.ExitInfra
	}
	fmt.Fprintf(stdout, "ci-local: the merged matrix equals %s on %s: the same kernels, scenarios and verdicts\n", f.whole, scope.compared(got))
	return worst
}

// infraKernels are the kernels of m whose runs had an infrastructure
// error (a guest that never reached its agent): matrices that agree on
// those agree on nothing the shards did.
func infraKernels(m report.Matrix) []string {
	var out []string
	for _, c := range m.Columns {
		if c.Infra != "" {
			out = append(out, c.Variant.String())
		}
	}
	return out
}

// matrixScope is the part of a single run's matrix that a rehearsal on
// some bases and scenarios covers.
type matrixScope struct {
	// bases are the bases of the rehearsal's jobs.
	bases []string
	// order is the selection's run order (mergeOrder): the scenarios a
	// single run of that selection has, in the order it has them.
	order []string
}

// compared names what a comparison within the scope covered: its bases
// and the kernels and scenarios of the compared matrix m. The
// selection's run order may name more scenarios than ran (manual ones).
func (s matrixScope) compared(m report.Matrix) string {
	return fmt.Sprintf("%s (%d kernels, %d scenarios)", strings.Join(s.bases, ","), len(m.Columns), len(m.Rows))
}

// restrict is m as a single run of the scope would have written it: the
// columns of the scope's bases, in m's order, and the rows of the
// selection, in its run order. A full run's matrix (every base, the
// catalogue) is unchanged.
func (s matrixScope) restrict(m report.Matrix) report.Matrix {
	var out report.Matrix
	var cols []int
	for i, c := range m.Columns {
		if slices.Contains(s.bases, c.Variant.Base) {
			cols = append(cols, i)
			out.Columns = append(out.Columns, c)
		}
	}
	rows := map[string]report.MatrixRow{}
	for _, r := range m.Rows {
		rows[r.Name] = r
	}
	for _, name := range s.order {
		r, ok := rows[name]
		if !ok {
			continue
		}
		row := report.MatrixRow{Name: r.Name, Area: r.Area}
		for _, i := range cols {
			row.Cells = append(row.Cells, r.Cells[i])
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

// compareMatrixFiles reads the matrix of a single run (whole: make
// qemu-test's results/matrix.json) and the merged shards' (make merge's
// matrix.json), and returns the merged one and how they differ within
// scope, "" when they agree.
func compareMatrixFiles(whole, merged string, scope matrixScope) (report.Matrix, string, error) {
	w, err := report.LoadMatrix(whole)
	if err != nil {
		return report.Matrix{}, "", err
	}
	m, err := report.LoadMatrix(merged)
	if err != nil {
		return report.Matrix{}, "", err
	}
	return m, matrixDiff(scope.restrict(w), m), nil
}

// matrixDiff is how the merged shards' matrix differs from a single
// run's, "" when they agree: the same kernels (release, commit, source)
// in the same order, the same scenarios in the same order, and on each
// kernel the same verdict, declaration and match. What belongs to the
// runs and not to the kernels is left out or compared as present or
// absent: the tries a racy scenario needed to hit its race (Attempts),
// the note on how the source was found (Note: the archive may answer
// one run and not another), whether a run had an infrastructure error
// (merged, it names its shard) and whether a console held kernel
// reports (several boots hold a boot-time one several times).
func matrixDiff(whole, merged report.Matrix) string {
	return cmp.Diff(whole, merged,
		cmpopts.IgnoreFields(report.Cell{}, "Attempts"),
		cmpopts.IgnoreFields(report.Column{}, "Note"),
		cmp.FilterPath(columnField("Infra"), cmp.Comparer(func(a, b string) bool { return (a == "") == (b == "") })),
		cmp.FilterPath(columnField("KernelReports"), cmp.Comparer(func(a, b int) bool { return (a > 0) == (b > 0) })))
}

// columnField selects a field of report.Column by name.
func columnField(name string) func(cmp.Path) bool {
	return func(p cmp.Path) bool {
		f, ok := p.Last().(cmp.StructField)
		return ok && f.Name() == name && p.Index(-2).Type() == reflect.TypeOf(report.Column{})
	}
}

// runJobs runs the jobs, atOnce at a time, each with its output in its
// log, and says when each starts and ends.
func runJobs(ctx context.Context, repo string, jobs []*ciLocalJob, atOnce int, scenarios string, stdout io.Writer) {
	var mu sync.Mutex
	say := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, format, a...)
	}
	sem := make(chan struct{}, atOnce)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				j.exit = testrun.ExitInfra
				return
			}
			say("ci-local: %s shard %s: make %s\n", j.base, j.shard, strings.Join(j.command(scenarios)[1:], " "))
			start := time.Now()
			err := j.run(ctx, repo, scenarios)
			j.took = time.Since(start).Round(time.Second)
			if err != nil {
				say("ci-local: %s shard %s: %v (log: %s)\n", j.base, j.shard, err, j.log)
				return
			}
			say("ci-local: %s shard %s: exit %d after %s, %d results directories\n", j.base, j.shard, j.exit, j.took, len(j.dirs))
		}()
	}
	wg.Wait()
}

// run runs the job's make command with its output in its log, and
// reads the results directories the runs name in it.
func (j *ciLocalJob) run(ctx context.Context, repo, scenarios string) error {
	j.exit = testrun.ExitInfra
	log, err := os.Create(j.log)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.CommandContext(ctx, "make", j.command(scenarios)...)
	cmd.Dir, cmd.Stdout, cmd.Stderr, cmd.Env = repo, log, log, freshMakeEnv()
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		j.exit = ee.ExitCode()
	case err != nil:
		return err
	default:
		j.exit = testrun.ExitOK
	}
	j.dirs, err = resultsDirs(j.log)
	return err
}

// freshMakeEnv is this process's environment without what a make that
// started it passes its sub-makes (MAKEFLAGS carries its command line's
// variables): each job starts as a runner's make would.
func freshMakeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// resultsDirs are the directories a qemu-test log names in its
// "results: <dir>" lines (one per run), in order.
func resultsDirs(log string) ([]string, error) {
	f, err := os.Open(log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var dirs []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "results: "); ok {
			dirs = append(dirs, strings.TrimSpace(d))
		}
	}
	return dirs, sc.Err()
}

// printJobTimes is what each shard cost: its wall time and its runs'.
func printJobTimes(w io.Writer, jobs []*ciLocalJob, wall time.Duration) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| job | exit | wall time | runs (boot and scenarios) |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, j := range jobs {
		var runs []string
		for _, d := range j.dirs {
			r, err := report.LoadRun(filepath.Join(d, "summary.json"))
			if err != nil {
				continue
			}
			runs = append(runs, fmt.Sprintf("%s %d scenarios %s", r.Variant.Flavour, len(r.Scenarios), r.Duration))
		}
		fmt.Fprintf(w, "| %s shard %s | %d | %s | %s |\n", j.base, j.shard, j.exit, j.took, strings.Join(runs, ", "))
	}
	fmt.Fprintf(w, "\nci-local: %d jobs in %s\n", len(jobs), wall.Round(time.Second))
}
