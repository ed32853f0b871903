package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/kbase"
	"dioharness/harness/verdict"
)

var (
	v73base     = kbase.Variant{Base: "v7.3", Flavour: kbase.Base}
	v73patched  = kbase.Variant{Base: "v7.3", Flavour: kbase.Patched}
	v612base    = kbase.Variant{Base: "v6.12", Flavour: kbase.Base}
	v612patched = kbase.Variant{Base: "v6.12", Flavour: kbase.Patched}
)

func TestBuildMatrix(t *testing.T) {
	tests := []struct {
		name           string
		runs           []Run
		want           Matrix
		wantOK         bool
		wantRowMatches []bool
	}{
		{
			name: "bug reproduces on base and is fixed on patched",
			runs: []Run{
				{Variant: v73base, Kernel: "b", Scenarios: []Scenario{
					{Name: "race", Area: "mm", Verdict: verdict.Fail, Expected: verdict.Fail, Matches: true, Why: "no lock", Attempts: 1},
				}},
				{Variant: v73patched, Kernel: "p", Source: "Debian linux-source-7.3 7.3.4-1~bpo13+1", Scenarios: []Scenario{
					{Name: "race", Area: "mm", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 3},
				}},
			},
			want: Matrix{
				Columns: []Column{{Variant: v73base, Kernel: "b"}, {Variant: v73patched, Kernel: "p", Source: "Debian linux-source-7.3 7.3.4-1~bpo13+1"}},
				Rows: []MatrixRow{{Name: "race", Area: "mm", Cells: []Cell{
					{Verdict: verdict.Fail, Expected: verdict.Fail, Why: "no lock", Matches: true, Attempts: 1},
					{Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 3},
				}}},
			},
			wantOK:         true,
			wantRowMatches: []bool{true},
		},
		{
			name: "four kernels, scenarios missing on some, order kept",
			runs: []Run{
				{Variant: v73base, Scenarios: []Scenario{{Name: "only_73", Area: "fs", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1}, {Name: "all", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1}}},
				{Variant: v73patched, Scenarios: []Scenario{{Name: "all", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1}}},
				{Variant: v612base, Scenarios: []Scenario{{Name: "all", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1}, {Name: "only_612", Area: "net", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 2}}},
				{Variant: v612patched, Scenarios: []Scenario{{Name: "all", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1}}},
			},
			want: Matrix{
				Columns: []Column{{Variant: v73base}, {Variant: v73patched}, {Variant: v612base}, {Variant: v612patched}},
				Rows: []MatrixRow{
					{Name: "only_73", Area: "fs", Cells: []Cell{{Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1}, {Verdict: verdict.Missing}, {Verdict: verdict.Missing}, {Verdict: verdict.Missing}}},
					{Name: "all", Cells: []Cell{
						{Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1}, {Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1},
						{Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1}, {Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1}}},
					{Name: "only_612", Area: "net", Cells: []Cell{{Verdict: verdict.Missing}, {Verdict: verdict.Missing}, {Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 2}, {Verdict: verdict.Missing}}},
				},
			},
			wantRowMatches: []bool{false, true, false},
		},
		{
			name: "duplicate names use the first occurrence; run problems are carried",
			runs: []Run{
				{Variant: v73base, Infra: "lost serial", KernelReports: []string{"BUG: a", "WARNING: b"}, Scenarios: []Scenario{
					{Name: "x", Verdict: verdict.Fail, Expected: verdict.Fail, Matches: true, Attempts: 1},
					{Name: "x", Verdict: verdict.Pass, Expected: verdict.Fail, Attempts: 9},
				}},
			},
			want: Matrix{
				Columns: []Column{{Variant: v73base, Infra: "lost serial", KernelReports: 2}},
				Rows:    []MatrixRow{{Name: "x", Cells: []Cell{{Verdict: verdict.Fail, Expected: verdict.Fail, Matches: true, Attempts: 1}}}},
			},
			wantRowMatches: []bool{true},
		},
		{name: "nothing ran", want: Matrix{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BuildMatrix(tt.runs...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("BuildMatrix mismatch (-want +got):\n%s", diff)
			}
			if got.OK() != tt.wantOK {
				t.Errorf("OK() = %v, want %v", got.OK(), tt.wantOK)
			}
			var matches []bool
			for _, r := range got.Rows {
				matches = append(matches, r.Matches())
			}
			if diff := cmp.Diff(tt.wantRowMatches, matches); diff != "" {
				t.Errorf("row Matches() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMatrixWhyAndSelect(t *testing.T) {
	m := BuildMatrix(
		Run{Variant: v73base, Scenarios: []Scenario{{Name: "fix", Verdict: verdict.Fail, Expected: verdict.Fail, Why: "bug", Matches: true}}},
		Run{Variant: v73patched, Scenarios: []Scenario{{Name: "fix", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true}}},
		Run{Variant: v612base, Scenarios: []Scenario{{Name: "fix", Verdict: verdict.Fail, Expected: verdict.Fail, Why: "bug", Matches: true}}},
		Run{Variant: v612patched, Scenarios: []Scenario{{Name: "fix", Verdict: verdict.Fail, Expected: verdict.Fail, Why: "not backported", Matches: true}}},
	)
	if got, want := m.Rows[0].Why(m.Columns), "v7.3 base, v6.12 base: bug; v6.12 patched: not backported"; got != want {
		t.Errorf("Why = %q, want %q", got, want)
	}
	sel := m.Select("v6.12")
	if d := cmp.Diff([]Column{{Variant: v612base}, {Variant: v612patched}}, sel.Columns); d != "" {
		t.Errorf("Select columns (-want +got):\n%s", d)
	}
	if len(sel.Rows) != 1 || len(sel.Rows[0].Cells) != 2 || sel.Rows[0].Cells[1].Why != "not backported" {
		t.Errorf("Select rows = %+v", sel.Rows)
	}
	if got, want := m.Summary(), "matrix: 1 passed, 0 failed (1 scenarios x 4 kernels)"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
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
			want: "Kernels:\n\n- **v7.3 base**: `6.9.0 (abc123)` from Debian linux-source-7.3 7.3.4-1~bpo13+1\n" +
				"- **v7.3 patched**: `6.9.0-dio (def456)` from Debian linux-source-7.3 7.3.4-1~bpo13+1\n" + `
| Status | Scenario | Area | v7.3 base | v7.3 patched | Attempts | Declared failures |
|---|---|---|---|---|---|---|
| ✅ | mmap_race | mm | fail | pass | 1/1 | v7.3 base: missing lock in dio_mmap |
| ✅ | short_read | fs | pass | pass | 1/1 |  |
| ❌ MISMATCH | aio_order | fs | **pass** (expected fail) | pass | 3/1 | v7.3 base: aio completes out of order |
| ❌ MISMATCH | no_iommu | iommu | **skip** (expected pass) | **skip** (expected pass) | 1/1 |  |
| ❌ MISMATCH | hang | mm | **error** (expected pass) | **missing** | 2/- |  |
| ❌ MISMATCH | splice_new | fs | **missing** | **fail** (expected pass) | -/2 |  |

**Legend:** ✅ every verdict matches its declaration · ❌ MISMATCH: a verdict differs from its declaration; it is shown in bold followed by the declared verdict · ` + "`missing`" + `: the scenario did not run on that kernel · Attempts are per kernel, in column order.

**Totals:** 6 scenarios on 2 kernels: 2 matching, 4 mismatching.

**Kernel reports:** v7.3 base 1.

**Result: FAILED**
`,
		},
		{
			name: "all matching, cells escaped, infra error, drift note",
			m: Matrix{
				Columns: []Column{{Variant: v612base, Kernel: "6.12.117", Note: "6.12.110 is no longer served"}, {Variant: v612patched, Infra: "boot timeout"}},
				Rows: []MatrixRow{{Name: "a|b", Area: "mm", Cells: []Cell{
					{Verdict: verdict.Fail, Expected: verdict.Fail, Why: "line 1\nline 2 | more", Matches: true, Attempts: 1},
					{Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1},
				}}},
			},
			want: "Kernels:\n\n- **v6.12 base**: `6.12.117` (6.12.110 is no longer served)\n- **v6.12 patched**: unknown\n" + `
| Status | Scenario | Area | v6.12 base | v6.12 patched | Attempts | Declared failures |
|---|---|---|---|---|---|---|
| ✅ | a\|b | mm | fail | pass | 1/1 | v6.12 base: line 1 line 2 \| more |

**Legend:** ✅ every verdict matches its declaration · ❌ MISMATCH: a verdict differs from its declaration; it is shown in bold followed by the declared verdict · ` + "`missing`" + `: the scenario did not run on that kernel · Attempts are per kernel, in column order.

**Totals:** 1 scenario on 2 kernels: 1 matching, 0 mismatching.

**Infrastructure error (v6.12 patched):** boot timeout

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
		Run{Variant: v73base, Scenarios: []Scenario{{Name: "a", Verdict: verdict.Fail, Expected: verdict.Fail, Matches: true}}},
		Run{Variant: v73patched, Scenarios: []Scenario{{Name: "a", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true}}},
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
		Run{Variant: v73base, Kernel: "b", Source: "Debian linux-source-7.3 7.3.4-1~bpo13+1", Scenarios: []Scenario{{Name: "race", Area: "mm", Verdict: verdict.Fail, Expected: verdict.Fail, Matches: true, Why: "no lock", Attempts: 1}}},
		Run{Variant: v73patched, Kernel: "p", KernelReports: []string{"WARNING: x"}},
	)
	want := `{
  "ok": false,
  "kernels": [
    {
      "base": "v7.3",
      "flavour": "base",
      "kernel": "b",
      "source": "Debian linux-source-7.3 7.3.4-1~bpo13+1",
      "note": "",
      "infra_error": "",
      "kernel_reports": 0
    },
    {
      "base": "v7.3",
      "flavour": "patched",
      "kernel": "p",
      "source": "",
      "note": "",
      "infra_error": "",
      "kernel_reports": 1
    }
  ],
  "totals": {
    "scenarios": 1,
    "matching": 0,
    "mismatching": 1,
    "missing": {
      "v7.3 patched": 1
    }
  },
  "scenarios": [
    {
      "name": "race",
      "area": "mm",
      "matches": false,
      "why": "v7.3 base: no lock",
      "results": [
        {
          "kernel": "v7.3/base",
          "verdict": "fail",
          "expected": "fail",
          "why": "no lock",
          "matches": true,
          "attempts": 1
        },
        {
          "kernel": "v7.3/patched",
          "verdict": "missing",
          "expected": "",
          "why": "",
          "matches": false,
          "attempts": 0
        }
      ]
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
		"ok": false, "kernels": []any{},
		"totals":    map[string]any{"scenarios": 0.0, "matching": 0.0, "mismatching": 0.0, "missing": map[string]any{}},
		"scenarios": []any{},
	}
	if diff := cmp.Diff(wantZero, got); diff != "" {
		t.Errorf("zero matrix JSON mismatch (-want +got):\n%s", diff)
	}
}

func TestColumnKernelText(t *testing.T) {
	tests := []struct{ kernel, want string }{
		{"7.3.4+ ddfc7a4ca8cb", "7.3.4+, local tree ddfc7a4ca8cb"},
		{"6.12.117+ afe316170703", "6.12.117+, local tree afe316170703"},
		{"6.9.0 (abc123)", "6.9.0 (abc123)"},
		{"7.3.4+ abc", "7.3.4+ abc"},
		{"7.3.4+", "7.3.4+"},
		{"", ""},
	}
	var got, want []string
	for _, tc := range tests {
		got = append(got, Column{Kernel: tc.kernel}.KernelText())
		want = append(want, tc.want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("KernelText (-want +got):\n%s", diff)
	}
}

// TestMatrixTimeouts: a TIMEOUT cell says what backs it, in Markdown and
// JSON, and the JSON reads back.
func TestMatrixTimeouts(t *testing.T) {
	to := func(name string, c Confirmation) Scenario {
		return Scenario{Name: name, Area: "fuse", Verdict: verdict.Fail, Expected: verdict.Pass, Directive: "TIMEOUT", Confirmation: c, Attempts: 1}
	}
	m := BuildMatrix(Run{Variant: v73patched, Scenarios: []Scenario{to("fuse/a", Confirmed), to("fuse/b", Flaky), to("fuse/c", "")}})
	var md strings.Builder
	if err := WriteMatrixMarkdown(&md, m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| fuse/a | fuse | **fail** TIMEOUT, confirmed (expected pass) |",
		"| fuse/b | fuse | **fail** TIMEOUT, flaky (expected pass) |",
		"| fuse/c | fuse | **fail** TIMEOUT, unconfirmed (expected pass) |",
		"**TIMEOUT:** what backs a timeout",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	var js bytes.Buffer
	if err := WriteMatrixJSON(&js, m); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"timeout": "confirmed"`) {
		t.Errorf("matrix.json lacks the confirmation:\n%s", js.String())
	}
	path := filepath.Join(t.TempDir(), "matrix.json")
	if err := os.WriteFile(path, js.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := LoadMatrix(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(m.Rows, back.Rows); d != "" {
		t.Errorf("matrix.json round trip (-want +got):\n%s", d)
	}
}
