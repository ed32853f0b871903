package report

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuildMatrix(t *testing.T) {
	tests := []struct {
		name           string
		base, patched  Run
		want           Matrix
		wantOK         bool
		wantRowMatches []bool
	}{
		{
			name: "bug reproduces on base and is fixed on patched",
			base: Run{Kernel: "b", Scenarios: []Scenario{
				{Name: "race", Area: "mm", Verdict: Fail, Expected: Fail, Matches: true, Why: "no lock", Attempts: 1},
			}},
			patched: Run{Kernel: "p", Scenarios: []Scenario{
				{Name: "race", Area: "mm", Verdict: Pass, Expected: Pass, Matches: true, Attempts: 3},
			}},
			want: Matrix{
				Scenarios: []MatrixRow{{
					Name: "race", Area: "mm", Base: Fail, Patched: Pass, ExpectBase: "fail", ExpectPatched: "pass",
					BaseMatches: true, PatchedMatches: true, Why: "no lock",
					Attempts: map[string]int{FlavourBase: 1, FlavourPatched: 3},
				}},
				Kernels:       map[string]string{FlavourBase: "b", FlavourPatched: "p"},
				Infra:         map[string]string{},
				KernelReports: map[string]int{},
			},
			wantOK:         true,
			wantRowMatches: []bool{true},
		},
		{
			name: "scenarios missing on either side, order kept",
			base: Run{Scenarios: []Scenario{
				{Name: "only_base", Area: "fs", Verdict: Pass, Expected: Pass, Matches: true, Attempts: 1},
				{Name: "both", Area: "mm", Verdict: Pass, Expected: Pass, Matches: true, Attempts: 1},
			}},
			patched: Run{Scenarios: []Scenario{
				{Name: "only_patched", Area: "net", Verdict: Pass, Expected: Pass, Matches: true, Why: "declared", Attempts: 1},
				{Name: "both", Area: "mm", Verdict: Pass, Expected: Pass, Matches: true, Attempts: 1},
			}},
			want: Matrix{
				Scenarios: []MatrixRow{
					{Name: "only_base", Area: "fs", Base: Pass, Patched: Missing, ExpectBase: "pass", BaseMatches: true,
						Attempts: map[string]int{FlavourBase: 1}},
					{Name: "both", Area: "mm", Base: Pass, Patched: Pass, ExpectBase: "pass", ExpectPatched: "pass",
						BaseMatches: true, PatchedMatches: true, Attempts: map[string]int{FlavourBase: 1, FlavourPatched: 1}},
					{Name: "only_patched", Area: "net", Base: Missing, Patched: Pass, ExpectPatched: "pass", PatchedMatches: true,
						Why: "declared", Attempts: map[string]int{FlavourPatched: 1}},
				},
				Kernels:       map[string]string{FlavourBase: "", FlavourPatched: ""},
				Infra:         map[string]string{},
				KernelReports: map[string]int{},
			},
			wantRowMatches: []bool{false, true, false},
		},
		{
			name: "duplicate names use the first occurrence; run problems are carried",
			base: Run{
				Infra:         "lost serial",
				KernelReports: []string{"BUG: a", "WARNING: b"},
				Scenarios: []Scenario{
					{Name: "x", Verdict: Fail, Expected: Fail, Matches: true, Attempts: 1},
					{Name: "x", Verdict: Pass, Expected: Fail, Attempts: 9},
				},
			},
			patched: Run{Scenarios: []Scenario{{Name: "x", Area: "late", Verdict: Pass, Expected: Pass, Matches: true, Attempts: 1}}},
			want: Matrix{
				Scenarios: []MatrixRow{{
					Name: "x", Area: "late", Base: Fail, Patched: Pass, ExpectBase: "fail", ExpectPatched: "pass",
					BaseMatches: true, PatchedMatches: true, Attempts: map[string]int{FlavourBase: 1, FlavourPatched: 1},
				}},
				Kernels:       map[string]string{FlavourBase: "", FlavourPatched: ""},
				Infra:         map[string]string{FlavourBase: "lost serial"},
				KernelReports: map[string]int{FlavourBase: 2},
			},
			wantRowMatches: []bool{true},
		},
		{
			name: "nothing ran",
			want: Matrix{
				Kernels:       map[string]string{FlavourBase: "", FlavourPatched: ""},
				Infra:         map[string]string{},
				KernelReports: map[string]int{},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BuildMatrix(tt.base, tt.patched)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("BuildMatrix mismatch (-want +got):\n%s", diff)
			}
			if got.OK() != tt.wantOK {
				t.Errorf("OK() = %v, want %v", got.OK(), tt.wantOK)
			}
			var matches []bool
			for _, r := range got.Scenarios {
				matches = append(matches, r.Matches())
			}
			if diff := cmp.Diff(tt.wantRowMatches, matches); diff != "" {
				t.Errorf("row Matches() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteMatrixMarkdown(t *testing.T) {
	tests := []struct {
		name string
		m    Matrix
		want string
	}{
		{
			name: "fixture runs",
			m:    BuildMatrix(baseRun(), patchedRun()),
			want: "Base kernel: `6.9.0 (abc123)` · Patched kernel: `6.9.0-dio (def456)`\n" + `
| Status | Scenario | Area | Base | Patched | Attempts (base/patched) | Why it fails on base |
|---|---|---|---|---|---|---|
| ✅ | mmap_race | mm | fail | pass | 1 / 1 | missing lock in dio_mmap |
| ✅ | short_read | fs | pass | pass | 1 / 1 |  |
| ❌ MISMATCH | aio_order | fs | **pass** (expected fail) | pass | 3 / 1 | aio completes out of order |
| ❌ MISMATCH | no_iommu | iommu | **skip** (expected pass) | **skip** (expected pass) | 1 / 1 |  |
| ❌ MISMATCH | hang | mm | **error** (expected pass) | **missing** | 2 / - |  |
| ❌ MISMATCH | splice_new | fs | **missing** | **fail** (expected pass) | - / 2 |  |

**Legend:** ✅ both verdicts match their declarations · ❌ MISMATCH: a verdict differs from its declaration; it is shown in bold followed by the declared verdict · ` + "`missing`" + `: the scenario did not run on that kernel.

**Totals:** 6 scenarios: 2 matching, 4 mismatching (1 missing on base, 1 missing on patched).

**Kernel reports:** base 1, patched 0.

**Result: FAILED**
`,
		},
		{
			name: "all matching, cells escaped, infra error",
			m: Matrix{
				Scenarios: []MatrixRow{{
					Name: "a|b", Area: "mm", Base: Fail, Patched: Pass, ExpectBase: "fail", ExpectPatched: "pass",
					BaseMatches: true, PatchedMatches: true, Why: "line 1\nline 2 | more",
					Attempts: map[string]int{FlavourBase: 1, FlavourPatched: 1},
				}},
				Kernels: map[string]string{FlavourBase: "6.9.0"},
				Infra:   map[string]string{FlavourPatched: "boot timeout"},
			},
			want: "Base kernel: `6.9.0` · Patched kernel: unknown\n" + `
| Status | Scenario | Area | Base | Patched | Attempts (base/patched) | Why it fails on base |
|---|---|---|---|---|---|---|
| ✅ | a\|b | mm | fail | pass | 1 / 1 | line 1 line 2 \| more |

**Legend:** ✅ both verdicts match their declarations · ❌ MISMATCH: a verdict differs from its declaration; it is shown in bold followed by the declared verdict · ` + "`missing`" + `: the scenario did not run on that kernel.

**Totals:** 1 scenario: 1 matching, 0 mismatching (0 missing on base, 0 missing on patched).

**Infrastructure error (patched):** boot timeout

**Result: FAILED**
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteMatrixMarkdown(&b, tt.m); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("markdown mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteMatrixMarkdownOK(t *testing.T) {
	m := BuildMatrix(
		Run{Scenarios: []Scenario{{Name: "a", Verdict: Fail, Expected: Fail, Matches: true}}},
		Run{Scenarios: []Scenario{{Name: "a", Verdict: Pass, Expected: Pass, Matches: true}}},
	)
	var b strings.Builder
	if err := WriteMatrixMarkdown(&b, m); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), "\n**Result: OK**\n") || strings.Contains(b.String(), "| "+markMismatch) {
		t.Errorf("matching matrix rendered as failed:\n%s", b.String())
	}
}

func TestWriteMatrixJSON(t *testing.T) {
	m := BuildMatrix(
		Run{Kernel: "b", Scenarios: []Scenario{{Name: "race", Area: "mm", Verdict: Fail, Expected: Fail, Matches: true, Why: "no lock", Attempts: 1}}},
		Run{Kernel: "p", KernelReports: []string{"WARNING: x"}},
	)
	want := `{
  "ok": false,
  "kernels": {
    "base": "b",
    "patched": "p"
  },
  "infra_errors": {},
  "kernel_reports": {
    "patched": 1
  },
  "totals": {
    "scenarios": 1,
    "matching": 0,
    "mismatching": 1,
    "missing_base": 0,
    "missing_patched": 1
  },
  "scenarios": [
    {
      "name": "race",
      "area": "mm",
      "matches": false,
      "why": "no lock",
      "base": {
        "verdict": "fail",
        "expected": "fail",
        "matches": true,
        "attempts": 1
      },
      "patched": {
        "verdict": "missing",
        "expected": "",
        "matches": false,
        "attempts": 0
      }
    }
  ]
}
`
	var b strings.Builder
	if err := WriteMatrixJSON(&b, m); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("matrix JSON mismatch (-want +got):\n%s", diff)
	}
	// A zero Matrix still has the full shape.
	b.Reset()
	if err := WriteMatrixJSON(&b, Matrix{}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatal(err)
	}
	wantZero := map[string]any{
		"ok": false, "kernels": map[string]any{}, "infra_errors": map[string]any{}, "kernel_reports": map[string]any{},
		"totals":    map[string]any{"scenarios": 0.0, "matching": 0.0, "mismatching": 0.0, "missing_base": 0.0, "missing_patched": 0.0},
		"scenarios": []any{},
	}
	if diff := cmp.Diff(wantZero, got); diff != "" {
		t.Errorf("zero matrix JSON mismatch (-want +got):\n%s", diff)
	}
}
