package workflow

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWorkflowsMatchMakefile checks every make command of the
// repository's workflows against its Makefile, and that the check saw
// the commands each workflow exists for (a parser that found nothing
// would pass everything).
func TestWorkflowsMatchMakefile(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", ".github", "workflows", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows in .github/workflows (%v)", err)
	}
	want := map[string][]string{
		"qemu-test.yml": {"ci-keys", "ci-matrix", "merge", "page", "qemu-test"},
		"fstests.yml":   {"ci-keys", "ci-matrix", "fstests"},
		"bisect.yml":    {"bisect", "ci-keys"},
	}
	for _, f := range files {
		makes, problems, err := CheckFiles(filepath.Join("..", "..", "Makefile"), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Error(p)
		}
		var targets []string
		for _, m := range makes {
			for _, tg := range m.Targets {
				if !slices.Contains(targets, tg) {
					targets = append(targets, tg)
				}
			}
		}
		slices.Sort(targets)
		w, ok := want[filepath.Base(f)]
		if !ok {
			t.Errorf("%s: a workflow this test does not know: add what it runs to want", f)
			continue
		}
		if diff := cmp.Diff(w, targets); diff != "" {
			t.Errorf("%s: make targets (-want +got):\n%s", f, diff)
		}
	}
}

// TestFixtureFails is the check failing: a fixture workflow names a
// target and a variable the Makefile lacks, and a make without a target.
func TestFixtureFails(t *testing.T) {
	mf := filepath.Join("..", "..", "Makefile")
	f := filepath.Join("testdata", "missing-target.yml")
	_, problems, err := CheckFiles(mf, f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		f + ": line 12: make qemu-tset BASE=v7.3 SHARD=\"$SHARD\": no target qemu-tset in the Makefile",
		f + ": line 16: make merge MERGE=\"$dirs\" SHARDS_OF=4: the Makefile reads no variable SHARDS_OF",
		f + ": line 19: make: name the target (the default goal is help)",
	}
	if diff := cmp.Diff(want, problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestRuns(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []Run
		err        bool
	}{
		{name: "one line", yaml: "steps:\n  - run: make page\n", want: []Run{{Line: 2, First: 2, Script: "make page"}}},
		{name: "quoted", yaml: "steps:\n  - run: \"make page X=\\\"1\\\"\"\n  - run: 'it''s'\n",
			want: []Run{{Line: 2, First: 2, Script: `make page X="1"`}, {Line: 3, First: 3, Script: "it's"}}},
		{name: "block", yaml: "  steps:\n    - name: x\n      run: |\n        a\n\n          b\n        c\n    - run: d\n",
			want: []Run{{Line: 3, First: 4, Script: "a\n\n  b\nc\n"}, {Line: 8, First: 8, Script: "d"}}},
		{name: "block at the end", yaml: "steps:\n  - run: |-\n      a\n", want: []Run{{Line: 2, First: 3, Script: "a\n"}}},
		{name: "a job called run", yaml: "jobs:\n  run:\n    steps:\n      - run: x\n  other:\n    run: y\n",
			want: []Run{{Line: 4, First: 4, Script: "x"}}},
		{name: "folded is refused", yaml: "steps:\n  - run: >\n      a\n", err: true},
		{name: "no value", yaml: "steps:\n  - run:\n      a\n", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Runs([]byte(tc.yaml))
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("runs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMakes(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		want         []Make
		err          bool
	}{
		{name: "targets and variables", script: "make -s qemu-test BASE=\"$BASE\" SHARD=${{ matrix.shard }} >> \"$GITHUB_OUTPUT\"\n",
			want: []Make{{Line: 10, Text: `make -s qemu-test BASE="$BASE" SHARD=GITHUB_EXPRESSION`, Targets: []string{"qemu-test"}, Vars: []string{"BASE", "SHARD"}}}},
		{name: "inside an if and a pipeline", script: "echo x\nif true; then\n  make merge 'MERGE=a b' | tee l\nfi\n",
			want: []Make{{Line: 12, Text: "make merge 'MERGE=a b'", Targets: []string{"merge"}, Vars: []string{"MERGE"}}}},
		{name: "not make", script: "cmake build; makefoo x\n"},
		{name: "a target that is not a literal", script: "make \"$T\"\n", err: true,
			want: []Make{{Line: 10, Text: `make "$T"`}}},
		{name: "another Makefile", script: "make -C sub all\n", err: true,
			want: []Make{{Line: 10, Text: "make -C sub all", Targets: []string{"sub", "all"}}}},
		{name: "not bash", script: "if then fi (\n", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Makes(Run{Line: 9, First: 10, Script: tc.script})
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("makes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMakefile(t *testing.T) {
	mf := ParseMakefile([]byte(`# comment: not a rule
BASE ?=
export CCACHE_DIR
GO := go
.PHONY: a b
a b: deps
	@$(GO) run x $(if $(SHARD),-shard $(SHARD)) ${JOBS}
deps:
	@echo "c: d"
%.o: %.c
`))
	want := Makefile{
		Targets: map[string]bool{"a": true, "b": true, "deps": true},
		Vars:    map[string]bool{"BASE": true, "CCACHE_DIR": true, "GO": true, "SHARD": true, "JOBS": true},
	}
	if diff := cmp.Diff(want, mf); diff != "" {
		t.Errorf("makefile (-want +got):\n%s", diff)
	}
}

func TestCheckFilesMissing(t *testing.T) {
	if _, _, err := CheckFiles(filepath.Join(t.TempDir(), "Makefile")); err == nil {
		t.Error("no error for a missing Makefile")
	}
	dir := t.TempDir()
	mf := filepath.Join(dir, "Makefile")
	if err := os.WriteFile(mf, []byte("a:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := CheckFiles(mf, filepath.Join(dir, "none.yml")); err == nil {
		t.Error("no error for a missing workflow")
	}
}
