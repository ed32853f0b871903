package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

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

// TestMatrixDiff: the committed matrix equals itself, and differs from
// a copy with one verdict changed, one scenario missing or its kernels
// in another order.
func TestMatrixDiff(t *testing.T) {
	whole, err := report.LoadMatrix(filepath.Join("..", "..", "..", "results", "matrix.json"))
	if err != nil {
		t.Fatal(err)
	}
	if d := matrixDiff(whole, whole); d != "" {
		t.Errorf("a matrix differs from itself:\n%s", d)
	}
	load := func() report.Matrix {
		m, _ := report.LoadMatrix(filepath.Join("..", "..", "..", "results", "matrix.json"))
		return m
	}
	changed := load()
	changed.Rows[0].Cells[1].Verdict = verdict.Fail
	missing := load()
	missing.Rows = missing.Rows[1:]
	order := load()
	order.Columns[0], order.Columns[1] = order.Columns[1], order.Columns[0]
	for name, m := range map[string]report.Matrix{"verdict": changed, "missing": missing, "order": order} {
		if matrixDiff(whole, m) == "" {
			t.Errorf("%s: no difference found", name)
		}
	}
}
