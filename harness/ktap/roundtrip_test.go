package ktap

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestWriteThenParse(t *testing.T) {
	results := []Result{
		{Number: 1, Name: "mmap_race", Status: Pass, Duration: 1234 * time.Millisecond},
		{Number: 2, Name: "uaf#close", Status: Fail, Diag: []string{"expected 0", "  got -EFAULT", ""}, Duration: 7 * time.Millisecond},
		{Number: 3, Name: `back\slash`, Status: Skip, Directive: DirSkip, Reason: "needs KASAN # really"},
		{Number: 4, Name: "known", Status: Fail, Directive: DirXFail, Reason: "bug 123"},
		{Number: 5, Name: "group", Status: Fail, Subtests: []Result{
			{Number: 1, Name: "a", Status: Pass, Duration: time.Millisecond},
			{Number: 2, Name: "b", Status: Fail, Directive: DirTimeout, Reason: "30s", Diag: []string{"stuck"},
				Subtests: []Result{{Number: 1, Name: "deep", Status: Pass}}},
		}},
	}
	var b strings.Builder
	w := NewWriter(&b)
	if err := w.Plan(len(results)); err != nil {
		t.Fatal(err)
	}
	if err := w.Diag("kernel %s", "6.9.0-dio"); err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if err := w.Result(r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Parse(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	want := &Report{Version: "KTAP version 1", Plan: len(results), Complete: true, Results: results}
	// The top-level diagnostic belongs to the first result.
	want.Results = append([]Result(nil), results...)
	want.Results[0].Diag = []string{"kernel 6.9.0-dio"}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s\noutput:\n%s", diff, b.String())
	}
}
