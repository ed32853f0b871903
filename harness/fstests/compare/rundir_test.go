package compare

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/fstests"
	"dioharness/harness/kbase"
	"dioharness/harness/report"
	"dioharness/harness/verdict"
)

func TestSetupOfRunDir(t *testing.T) {
	tests := []struct {
		dir, want string
	}{
		{"results/fstests-v7.3-base-fuse-direct-io-20261201-140834", "fuse-direct-io"},
		{"fstests-v7.3-patched-ext4-20261201-142520/", "ext4"},
		{"fstests-v6.12-base-fuse-cached-20261201-142520", "fuse-cached"},
		{"results/v7.3-base-20261201-140834", ""},
		{"fstests-v7.3-base-zfs-20261201-140834", ""},
		{"fstests-v7.3-base-xfs", ""},
	}
	for _, tc := range tests {
		s, err := SetupOfRunDir(tc.dir)
		if tc.want == "" {
			if err == nil {
				t.Errorf("SetupOfRunDir(%q) = %s, want an error", tc.dir, s.Name)
			}
			continue
		}
		if err != nil || s.Name != tc.want {
			t.Errorf("SetupOfRunDir(%q) = %q, %v; want %q", tc.dir, s.Name, err, tc.want)
		}
	}
}

// TestLoadRunDir: a run read back from its directory compares as the
// run itself did.
func TestLoadRunDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fstests-v7.3-patched-ext4-20261201-142520")
	xdir := filepath.Join(dir, fstests.ResultsDir, fstests.XunitDir)
	if err := os.MkdirAll(xdir, 0o755); err != nil {
		t.Fatal(err)
	}
	run := report.Run{
		Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Patched}, Kernel: "7.3.4+", Duration: 3 * time.Minute,
		Scenarios: []report.Scenario{{Name: "generic/647", Area: "fstests/ext4", Verdict: verdict.Pass, Expected: verdict.Pass, Duration: 101 * time.Second}},
	}
	f, err := os.Create(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := report.WriteJSON(f, run); err != nil {
		t.Fatal(err)
	}
	f.Close()
	x, err := os.ReadFile(filepath.Join("..", "testdata", "result-pass.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(xdir, fstests.XunitFile("generic/647")), x, 0o644); err != nil {
		t.Fatal(err)
	}
	sr, err := LoadRunDir(dir, "results/x")
	if err != nil {
		t.Fatal(err)
	}
	got := Build("v7.3", "generic/647", nil, []SetupRun{sr})
	want := []Row{{Tests: "generic/647", Setup: "ext4", Test: "generic/647", Cells: map[string]Cell{"patched": {Verdict: verdict.Pass, Duration: 101 * time.Second, FSTests: verdict.Pass}}}}
	if d := cmp.Diff(want, got.Rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{"patched": "results/x"}, got.Parts[0].Dirs); d != "" {
		t.Errorf("results directories (-want +got):\n%s", d)
	}
	if _, err := LoadRunDir(filepath.Join(t.TempDir(), "fstests-v7.3-base-xfs-20261201-142520"), ""); err == nil {
		t.Error("a directory without a summary loaded")
	}
}

func TestRanExactly(t *testing.T) {
	ext4, _ := fstests.SetupNamed("ext4")
	ran := func(tests ...string) SetupRun {
		var sc []report.Scenario
		for _, n := range tests {
			sc = append(sc, report.Scenario{Name: n})
		}
		return SetupRun{Setup: ext4, Run: report.Run{Scenarios: sc}}
	}
	tests := []struct {
		name  string
		run   SetupRun
		picks []fstests.Pick
		want  string
	}{
		{"the same tests in another order", ran("generic/095", "generic/019"), picksOf("generic/019", "generic/095"), ""},
		{"cut short", ran("generic/019"), picksOf("generic/019", "generic/095"),
			"ran 1 tests on ext4, the selection takes 2 (not selected: none; not run: generic/095)"},
		{"another selection", ran("generic/091", "generic/019"), picksOf("generic/019"),
			"ran 2 tests on ext4, the selection takes 1 (not selected: generic/091; not run: none)"},
	}
	for _, tc := range tests {
		err := tc.run.RanExactly(tc.picks)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: error %q, want %q", tc.name, got, tc.want)
		}
	}
}
