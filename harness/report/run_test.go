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

// TestConvicts: a failure convicts the kernel unless it rests only on a
// TIMEOUT that no fresh guest confirmed; a run whose only failures are
// such TIMEOUTs says nothing sure.
func TestConvicts(t *testing.T) {
	fail := Scenario{Name: "fuse/a", Verdict: verdict.Fail, Expected: verdict.Pass}
	timeout := func(c Confirmation) Scenario {
		s := fail
		s.Directive, s.Confirmation = "TIMEOUT", c
		return s
	}
	pass := Scenario{Name: "fuse/b", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true}
	tests := []struct {
		name     string
		run      Run
		convicts []bool
		only     bool
	}{
		{"a plain failure", Run{Scenarios: []Scenario{fail, pass}}, []bool{true, false}, false},
		{"a confirmed TIMEOUT", Run{Scenarios: []Scenario{timeout(Confirmed), pass}}, []bool{true, false}, false},
		{"a TIMEOUT with a kernel report", Run{Scenarios: []Scenario{timeout(Reported)}, KernelReports: []string{"INFO: task init:1 blocked"}}, []bool{true}, false},
		{"a TIMEOUT nobody confirmed", Run{Scenarios: []Scenario{timeout("")}}, []bool{false}, true},
		{"a flaky TIMEOUT", Run{Scenarios: []Scenario{timeout(Flaky), pass}}, []bool{false, false}, true},
		{"a TIMEOUT that could not run again", Run{Scenarios: []Scenario{timeout(Unconfirmed)}}, []bool{false}, true},
		{"a flaky TIMEOUT beside a failure", Run{Scenarios: []Scenario{timeout(Flaky), fail}}, []bool{false, true}, false},
		{"a flaky TIMEOUT and a kernel report", Run{Scenarios: []Scenario{timeout(Flaky)}, KernelReports: []string{"WARNING: x"}}, []bool{false}, false},
		{"a flaky TIMEOUT and an infrastructure error", Run{Scenarios: []Scenario{timeout(Flaky)}, Infra: "boot 2: no agent"}, []bool{false}, false},
		{"all passed", Run{Scenarios: []Scenario{pass}}, []bool{false}, false},
		{"a skip", Run{Scenarios: []Scenario{{Name: "x", Verdict: verdict.Skip, Matches: true}}}, []bool{false}, false},
	}
	for _, tc := range tests {
		var got []bool
		for _, s := range tc.run.Scenarios {
			got = append(got, s.Convicts())
		}
		if d := cmp.Diff(tc.convicts, got); d != "" {
			t.Errorf("%s: Convicts (-want +got):\n%s", tc.name, d)
		}
		if o := tc.run.OnlyUnconfirmedTimeouts(); o != tc.only {
			t.Errorf("%s: OnlyUnconfirmedTimeouts = %v, want %v", tc.name, o, tc.only)
		}
	}
}
