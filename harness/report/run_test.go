package report

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/verdict"
)

func TestTotals(t *testing.T) {
	tests := []struct {
		name string
		run  Run
		want Totals
	}{
		{"empty run", Run{}, Totals{}},
		{"fixture base run", baseRun(), Totals{Passed: 2, Failed: 3, Skipped: 1}},
		{"fixture patched run", patchedRun(), Totals{Passed: 3, Failed: 1, Skipped: 1}},
		{
			name: "expected failure counts as passed, unexpected pass as failed",
			run: Run{Scenarios: []Scenario{
				{Name: "a", Verdict: verdict.Fail, Expected: verdict.Fail, Matches: true},
				{Name: "b", Verdict: verdict.Pass, Expected: verdict.Fail},
			}},
			want: Totals{Passed: 1, Failed: 1},
		},
		{
			name: "unknown verdict and error count as failed",
			run: Run{Scenarios: []Scenario{
				{Name: "a", Verdict: "weird", Matches: true},
				{Name: "b", Verdict: verdict.Error, Matches: true},
			}},
			want: Totals{Failed: 2},
		},
		{
			name: "infra error and kernel reports add failed cases",
			run:  Run{Infra: "qemu exited with status 1", KernelReports: []string{"BUG: x", "WARNING: y"}},
			want: Totals{Failed: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.run.Totals()); diff != "" {
				t.Errorf("Totals mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTotalsString(t *testing.T) {
	if got, want := (Totals{Passed: 12, Failed: 0, Skipped: 3}).String(), "12 passed, 0 failed, 3 skipped"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
