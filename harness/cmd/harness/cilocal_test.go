package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/kbase"
	"dioharness/harness/report"
	"dioharness/harness/shard"
	"dioharness/harness/verdict"
	"dioharness/harness/workflow"
)

// TestCILocalRunsTheWorkflowsCommands checks that ci-local's jobs and
// merge run the make targets with the variables the qemu-test
// workflow's shard and merge steps pass: a rehearsal of other commands
// would prove nothing about the workflow.
func TestCILocalRunsTheWorkflowsCommands(t *testing.T) {
	y, err := os.ReadFile(filepath.Join("..", "..", "..", ".github", "workflows", "qemu-test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := workflow.Runs(y)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range runs {
		makes, err := workflow.Makes(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range makes {
			for _, tg := range m.Targets {
				vars := slices.Clone(m.Vars)
				slices.Sort(vars)
				got[tg] = vars
			}
		}
	}
	j := ciLocalJob{base: "v7.3", shard: shard.Shard{Index: 1, Count: 4}, build: "b"}
	cmd := j.command("")
	if cmd[1] != shardTarget {
		t.Errorf("a job runs make %s, want %s", cmd[1], shardTarget)
	}
	var local []string
	for _, a := range cmd[2:] {
		name, _, _ := strings.Cut(a, "=")
		if name != "BUILD" && name != "GUESTS" {
			local = append(local, name)
		}
	}
	slices.Sort(local)
	for _, tc := range []struct {
		target     string
		local, cmd []string
	}{
		{shardTarget, local, shardVars},
		{mergeTarget, mergeVars, mergeVars},
	} {
		if diff := cmp.Diff(got[tc.target], tc.local); diff != "" {
			t.Errorf("make %s: the workflow's variables (-) and ci-local's (+):\n%s", tc.target, diff)
		}
		if diff := cmp.Diff(tc.cmd, tc.local); diff != "" {
			t.Errorf("make %s: declared and passed variables differ:\n%s", tc.target, diff)
		}
	}
}

func TestResultsDirs(t *testing.T) {
	log := filepath.Join(t.TempDir(), "job.log")
	text := "kernel v7.3/base: from the image cache\nresults: /r/v7.3-base-1-shard1of4\n  results: not this\nresults: /r/v7.3-patched-1-shard1of4\n"
	if err := os.WriteFile(log, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := resultsDirs(log)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/r/v7.3-base-1-shard1of4", "/r/v7.3-patched-1-shard1of4"}, got); diff != "" {
		t.Errorf("dirs (-want +got):\n%s", diff)
	}
}

func TestFreshMakeEnv(t *testing.T) {
	t.Setenv("MAKEFLAGS", " -- SHARDS=4")
	t.Setenv("MAKELEVEL", "1")
	t.Setenv("QEMU_ACCEL", "tcg")
	env := freshMakeEnv()
	for _, kv := range env {
		if strings.HasPrefix(kv, "MAKEFLAGS=") || strings.HasPrefix(kv, "MAKELEVEL=") {
			t.Errorf("%s passed to a job", kv)
		}
	}
	if !slices.Contains(env, "QEMU_ACCEL=tcg") {
		t.Error("QEMU_ACCEL not passed to the jobs")
	}
}

// testMatrix is a single run's matrix of two bases, both flavours, and
// three scenarios, the second declared to fail on the base flavours.
func testMatrix() report.Matrix {
	var m report.Matrix
	for _, b := range []struct{ name, kernel string }{{"v7.3", "7.3.4+"}, {"v6.12", "6.12.117+"}} {
		for i, f := range kbase.Flavours {
			m.Columns = append(m.Columns, report.Column{Variant: kbase.Variant{Base: b.name, Flavour: f},
				Kernel: fmt.Sprintf("%s %012d", b.kernel, i), Source: "Debian linux-source " + b.name})
		}
	}
	for _, name := range []string{"fuse/a", "fuse/b", "iomap/c"} {
		row := report.MatrixRow{Name: name, Area: strings.Split(name, "/")[0]}
		for _, c := range m.Columns {
			cell := report.Cell{Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1}
			if name == "fuse/b" && c.Variant.Flavour == kbase.Base {
				cell.Verdict, cell.Expected, cell.Why = verdict.Fail, verdict.Fail, "the stale page cache"
			}
			row.Cells = append(row.Cells, cell)
		}
		m.Rows = append(m.Rows, row)
	}
	return m
}

// onBases keeps the columns of the given bases, as a run of those
// bases has them.
func onBases(m report.Matrix, bases ...string) report.Matrix {
	return matrixScope{bases: bases, order: rowNames(m)}.restrict(m)
}

func rowNames(m report.Matrix) []string {
	var names []string
	for _, r := range m.Rows {
		names = append(names, r.Name)
	}
	return names
}

// TestCompareMatrixFiles compares the JSON documents make qemu-test and
// make merge write: equal when the shards say what the single run said
// on the rehearsal's bases and scenarios, whatever the runs alone
// decide (tries of a racy scenario, how often a report is on the
// consoles); different otherwise.
func TestCompareMatrixFiles(t *testing.T) {
	all := matrixScope{bases: []string{"v7.3", "v6.12"}, order: []string{"fuse/a", "fuse/b", "iomap/c", "fuse/manual"}}
	tests := []struct {
		name string
		// whole and merged change the single run's and the merged
		// shards' matrix; nil keeps testMatrix.
		whole, merged func(*report.Matrix)
		scope         matrixScope
		// want is in the diff; "" when the matrices must agree.
		want string
	}{
		{name: "a full run and its shards", scope: all},
		{name: "a racy scenario took more tries in a shard", scope: all,
			merged: func(m *report.Matrix) { m.Rows[2].Cells[1].Attempts = 5 }},
		{name: "a boot-time kernel report on every shard's console", scope: all,
			whole:  func(m *report.Matrix) { m.Columns[0].KernelReports = 1 },
			merged: func(m *report.Matrix) { m.Columns[0].KernelReports = 4 }},
		{name: "the archive answered one run and not the other", scope: all,
			merged: func(m *report.Matrix) {
				m.Columns[1].Note = "Debian's archive could not be asked; using the cached 7.3.4-1"
			}},
		{name: "the same infrastructure error, named by its shard", scope: all,
			whole:  func(m *report.Matrix) { m.Columns[2].Infra = "boot 1: the guest agent never started" },
			merged: func(m *report.Matrix) { m.Columns[2].Infra = "shard 2/2: boot 1: the guest agent never started" }},
		{name: "one base of a full run", scope: matrixScope{bases: []string{"v6.12"}, order: all.order},
			merged: func(m *report.Matrix) { *m = onBases(*m, "v6.12") }},
		{name: "a selection of a full run, in its run order",
			scope: matrixScope{bases: all.bases, order: []string{"iomap/c", "fuse/a"}},
			merged: func(m *report.Matrix) {
				m.Rows = []report.MatrixRow{m.Rows[2], m.Rows[0]}
			}},
		{name: "a kernel report on the shards' consoles only", scope: all, want: "KernelReports",
			merged: func(m *report.Matrix) { m.Columns[3].KernelReports = 2 }},
		{name: "a verdict differs", scope: all, want: "Verdict",
			merged: func(m *report.Matrix) {
				m.Rows[1].Cells[3].Verdict, m.Rows[1].Cells[3].Matches = verdict.Fail, false
			}},
		{name: "a declaration differs", scope: all, want: "Expected",
			merged: func(m *report.Matrix) { m.Rows[0].Cells[0].Expected = verdict.Skip }},
		{name: "a scenario is missing from the shards", scope: all, want: "iomap/c",
			merged: func(m *report.Matrix) { m.Rows = m.Rows[:2] }},
		{name: "a scenario is missing from the single run", scope: all, want: "fuse/b",
			whole: func(m *report.Matrix) { m.Rows = append(m.Rows[:1], m.Rows[2]) }},
		{name: "scenarios in another order", scope: all, want: "fuse/a",
			merged: func(m *report.Matrix) { m.Rows[0], m.Rows[1] = m.Rows[1], m.Rows[0] }},
		{name: "kernels in another order", scope: all, want: "Flavour",
			merged: func(m *report.Matrix) {
				m.Columns[0], m.Columns[1] = m.Columns[1], m.Columns[0]
				for _, r := range m.Rows {
					r.Cells[0], r.Cells[1] = r.Cells[1], r.Cells[0]
				}
			}},
		{name: "another build of a kernel", scope: all, want: "Kernel",
			merged: func(m *report.Matrix) { m.Columns[1].Kernel = "7.3.4+ 7b44ae7f647a" }},
		{name: "an infrastructure error in a shard only", scope: all, want: "Infra",
			merged: func(m *report.Matrix) { m.Columns[2].Infra = "boot: timed out" }},
		{name: "a base the single run lacks", scope: all, want: "v6.12",
			whole: func(m *report.Matrix) { *m = onBases(*m, "v7.3") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths []string
			for i, edit := range []func(*report.Matrix){tc.whole, tc.merged} {
				m := testMatrix()
				if edit != nil {
					edit(&m)
				}
				var b strings.Builder
				if err := report.WriteMatrixJSON(&b, m); err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(dir, fmt.Sprintf("matrix%d.json", i))
				if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
			_, d, err := compareMatrixFiles(paths[0], paths[1], tc.scope)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == "" && d != "":
				t.Errorf("the matrices differ (-single run +merged shards):\n%s", d)
			case tc.want != "" && !strings.Contains(d, tc.want):
				t.Errorf("diff %q does not name %q", d, tc.want)
			}
		})
	}
	if _, _, err := compareMatrixFiles(filepath.Join(t.TempDir(), "none.json"), "none.json", all); err == nil {
		t.Error("no single run to compare with: no error")
	}
}

func TestInfraKernels(t *testing.T) {
	m := testMatrix()
	if got := infraKernels(m); len(got) != 0 {
		t.Errorf("no infrastructure errors: got %v", got)
	}
	m.Columns[1].Infra = "boot 1: the guest agent never started"
	if diff := cmp.Diff([]string{"v7.3/patched"}, infraKernels(m)); diff != "" {
		t.Errorf("kernels (-want +got):\n%s", diff)
	}
}

// TestScopeCompared: the comparison's summary counts the kernels and
// scenarios of the compared matrix, not the selection's run order,
// which also names manual scenarios that did not run.
func TestScopeCompared(t *testing.T) {
	m := report.Matrix{
		Columns: []report.Column{{}, {}},
		Rows:    []report.MatrixRow{{Name: "fuse/a"}, {Name: "ext4/b"}},
	}
	tests := []struct {
		scope matrixScope
		want  string
	}{
		{matrixScope{bases: []string{"v7.3"}, order: []string{"fuse/a", "ext4/b", "harness/deadlock"}}, "v7.3 (2 kernels, 2 scenarios)"},
		{matrixScope{bases: []string{"v7.3", "v6.12"}}, "v7.3,v6.12 (2 kernels, 2 scenarios)"},
	}
	var got, want []string
	for _, tc := range tests {
		got = append(got, tc.scope.compared(m))
		want = append(want, tc.want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("compared (-want +got):\n%s", diff)
	}
}
