package ktap

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fed is the outcome of one Feed call.
type fed struct {
	Event Event
	OK    bool
}

func TestParserFeedEvents(t *testing.T) {
	in := []string{
		"[    0.9] serial8250: ttyS0 at I/O 0x3f8",
		"KTAP version 1\n",
		"1..2\n",
		"# detail\n",
		"# duration_ms: 20\n",
		"ok 1 a\n",
		"  KTAP version 1",
		"  1..1",
		"  ok 1 sub # SKIP nope",
		"[    1.0] noise",
		"not ok 2 b",
	}
	sub := Result{Number: 1, Name: "sub", Status: Skip, Directive: DirSkip, Reason: "nope"}
	want := []fed{
		{},
		{Event{Kind: EventVersion, Version: "KTAP version 1"}, true},
		{Event{Kind: EventPlan, Plan: 2}, true},
		{Event{Kind: EventDiag, Diag: "detail"}, true},
		{Event{Kind: EventDiag, Diag: "duration_ms: 20"}, true},
		{Event{Kind: EventResult, Result: Result{Number: 1, Name: "a", Status: Pass, Diag: []string{"detail"}, Duration: 20 * time.Millisecond}}, true},
		{Event{Kind: EventVersion, Depth: 1, Version: "KTAP version 1"}, true},
		{Event{Kind: EventPlan, Depth: 1, Plan: 1}, true},
		{Event{Kind: EventResult, Depth: 1, Result: sub}, true},
		{},
		{Event{Kind: EventResult, Result: Result{Number: 2, Name: "b", Status: Fail, Subtests: []Result{sub}}}, true},
	}
	p := NewParser()
	var got []fed
	for _, l := range in {
		ev, ok := p.Feed(l)
		got = append(got, fed{ev, ok})
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	if rep := p.Report(); !rep.Complete {
		t.Errorf("Report().Complete = false, want true: %+v", rep)
	}
}

func TestParserReportIsASnapshot(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(text(
		"KTAP version 1",
		"1..2",
		"  KTAP version 1",
		"  1..2",
		"  # first",
		"  ok 1 s1",
		"  # second",
		"ok 1 parent",
		"# last",
		"ok 2 tail",
	), "\n"), "\n")
	whole, err := Parse(strings.NewReader(text(lines...)))
	if err != nil {
		t.Fatal(err)
	}
	p := NewParser()
	var snaps []*Report
	for _, l := range lines {
		p.Feed(l)
		snaps = append(snaps, p.Report())
	}
	// Taking snapshots must not change the final outcome.
	if diff := cmp.Diff(whole, p.Report(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("final report differs after snapshots (-whole +streamed):\n%s", diff)
	}
	// A snapshot taken mid-subtest shows the test in progress.
	wantMid := &Report{
		Version: "KTAP version 1", Plan: 2,
		Missing: []int{1, 2},
		Partial: &Result{Number: 1, Status: Incomplete, Subtests: []Result{
			{Number: 1, Name: "s1", Status: Pass, Diag: []string{"first"}},
			{Number: 2, Status: Incomplete, Diag: []string{"second"}},
		}},
		Problems: []string{"end of input: subtest 2 at depth 1 has no result line"},
	}
	if diff := cmp.Diff(wantMid, snaps[6], cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("mid-run snapshot mismatch (-want +got):\n%s", diff)
	}
	// Earlier snapshots are not modified by later lines.
	if got := len(snaps[6].Partial.Subtests); got != 2 {
		t.Errorf("snapshot changed after more input: %d subtests", got)
	}
}
