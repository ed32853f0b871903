package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/bisect"
)

// The demo's range is sixteen commits with the mutant in the middle and
// the breaking commit not next to it: a skip next to the culprit would
// make any bisection inconclusive.
func TestDemoHistory(t *testing.T) {
	h := demoHistory()
	if len(h) != 16 {
		t.Fatalf("demo range has %d commits, want 16", len(h))
	}
	mutant, broken := -1, -1
	for i, s := range h {
		if s.mutant {
			mutant = i
		}
		if s.text == "this does not compile;\n" {
			broken = i
		}
	}
	if mutant < 4 || mutant > 11 {
		t.Errorf("mutant at %d, want it in the middle", mutant)
	}
	if broken < 0 || broken+1 >= mutant {
		t.Errorf("breaking commit at %d, mutant at %d: want a good commit between them", broken, mutant)
	}
	if h[broken+1].file != h[broken].file || h[broken+1].text != "" {
		t.Errorf("commit %d does not repair the build broken by %d", broken+1, broken)
	}
}

func TestCheckDemo(t *testing.T) {
	found := func(culprit string, confirmed, suspect bool, tested ...bisect.Tested) bisect.Result {
		return bisect.Result{Outcome: bisect.Found, Culprit: &bisect.Commit{Hash: culprit}, Confirmed: confirmed, Suspect: suspect, Tested: tested}
	}
	skippedBroken := bisect.Tested{Commit: bisect.Commit{Hash: "broken"}, Verdict: bisect.Skip, BuildError: "error"}
	tests := []struct {
		name string
		res  bisect.Result
		want []string
	}{
		{"right", found("planted", true, false, skippedBroken), nil},
		{"wrong culprit", found("other", true, false, skippedBroken), []string{"culprit other is not the planted mutant planted"}},
		{"not confirmed, suspect", found("planted", false, true, skippedBroken), []string{"the revert of the culprit on BAD did not pass", "the culprit is flagged suspect"}},
		{"broken never tested", found("planted", true, false), []string{"the commit that does not build (broken) was not tested and skipped"}},
		{"inconclusive", bisect.Result{Outcome: bisect.Inconclusive, Tested: []bisect.Tested{skippedBroken}}, []string{
			"no culprit: inconclusive: the culprit is one of  (the others were skipped)", "the revert of the culprit on BAD did not pass"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			if err := checkDemo(tc.res, "planted", "broken"); err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("checkDemo (-want +got):\n%s", d)
			}
		})
	}
}
