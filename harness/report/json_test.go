package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/kbase"
	"dioharness/harness/verdict"
)

func TestWriteJSONGolden(t *testing.T) {
	run := Run{
		Variant: kbase.Variant{Base: "v6.12", Flavour: kbase.Base}, Note: "linux-source-6.12 6.12.110-1~deb12u1 is no longer served", Kernel: "6.9.0", Started: started, Duration: ms(2500),
		Scenarios: []Scenario{
			{Name: "mmap_race", Area: "mm", Verdict: verdict.Fail, Expected: verdict.Fail, Matches: true, Directive: "XFAIL", Reason: "UAF",
				Why: "missing lock", Duration: ms(1234), Attempts: 2, Detail: []string{"<TASK>"}},
		},
	}
	want := `{
  "base": "v6.12",
  "flavour": "base",
  "kernel": "6.9.0",
  "source": "",
  "note": "linux-source-6.12 6.12.110-1~deb12u1 is no longer served",
  "started": "2025-03-04T10:00:00Z",
  "duration_ms": 2500,
  "infra_error": "",
  "kernel_reports": [],
  "totals": {
    "passed": 1,
    "failed": 0,
    "skipped": 0
  },
  "scenarios": [
    {
      "name": "mmap_race",
      "area": "mm",
      "verdict": "fail",
      "expected": "fail",
      "matches": true,
      "directive": "XFAIL",
      "reason": "UAF",
      "why": "missing lock",
      "duration_ms": 1234,
      "attempts": 2,
      "detail": [
        "<TASK>"
      ]
    }
  ]
}
`
	var b strings.Builder
	if err := WriteJSON(&b, run); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("JSON mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadRunRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		run  Run
		want Run // zero means run itself
	}{
		{name: "fixture base run", run: baseRun()},
		{name: "fixture patched run", run: patchedRun()},
		{name: "empty run", run: Run{}},
		{name: "infra error", run: Run{Variant: kbase.Variant{Flavour: kbase.Custom}, Infra: "qemu: could not open kernel"}},
		{
			name: "durations are kept to the millisecond",
			run:  Run{Duration: 1500*ms(1) + 499999, Scenarios: []Scenario{{Name: "a", Duration: 2500500000}}},
			want: Run{Duration: ms(1500), Scenarios: []Scenario{{Name: "a", Duration: ms(2501)}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "summary.json")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(f, tt.run); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := LoadRun(path)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if cmp.Equal(want, Run{}) {
				want = tt.run
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("LoadRun mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunMarshalJSONIsUsedByEncodingJSON(t *testing.T) {
	b, err := json.Marshal(struct{ Runs []Run }{Runs: []Run{baseRun()}})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"infra_error"`, `"kernel_reports"`, `"duration_ms"`, `"totals"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("json.Marshal output lacks %s: %s", key, b)
		}
	}
}

func TestLoadRunErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"flavour": 3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	flavour := filepath.Join(dir, "flavour.json")
	if err := os.WriteFile(flavour, []byte(`{"base": "v7.3", "flavour": "va nilla"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	word := filepath.Join(dir, "verdict.json")
	if err := os.WriteFile(word, []byte(`{"flavour": "base", "scenarios": [{"name": "a", "verdict": "passed"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, wantSub string
	}{
		{"missing file", filepath.Join(dir, "nope.json"), "nope.json"},
		{"wrong type", bad, "bad.json"},
		{"bad flavour", flavour, `bad kernel flavour "va nilla"`},
		{"unknown verdict", word, `unknown verdict "passed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadRun(tt.path)
			if err == nil || !strings.HasPrefix(err.Error(), "report: load run") || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("LoadRun(%s) error = %v, want report: load run ... %s", tt.path, err, tt.wantSub)
			}
		})
	}
}
