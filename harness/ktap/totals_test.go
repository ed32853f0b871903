package ktap

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// kselftestRun is what a kselftest-style producer writes for one of each
// outcome: pass, fail, expected failure, unexpected pass, skip, a test
// its timeout ended, and the closing totals.
const kselftestRun = `KTAP version 1
1..6
# duration_ms: 3
ok 1 fuse/a
# FAIL: pwrite returned EIO
# duration_ms: 4
not ok 2 fuse/b # pwrite returned EIO
# failure: pwrite returned EIO
# duration_ms: 5
ok 3 fuse/c # XFAIL the base kernel returns the error
# duration_ms: 6
ok 4 fuse/d # XPASS the base kernel returns the error
# duration_ms: 0
ok 5 xfs/e # SKIP no XFS
# duration_ms: 90000
not ok 6 harness/hang # TIMEOUT 90s
# Totals: pass:1 fail:2 xfail:1 xpass:1 skip:1 error:0
`

func TestTotalsWriterParserRoundTrip(t *testing.T) {
	rep, err := Parse(strings.NewReader(kselftestRun))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Complete || len(rep.Problems) > 0 {
		t.Fatalf("Parse: complete %v, problems %q", rep.Complete, rep.Problems)
	}
	want := Totals{Pass: 1, Fail: 2, XFail: 1, XPass: 1, Skip: 1}
	if rep.Totals == nil {
		t.Fatalf("Parse: no Totals; trailing diagnostics %q", rep.Diag)
	}
	if d := cmp.Diff(want, *rep.Totals); d != "" {
		t.Errorf("parsed Totals (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, Count(rep.Results)); d != "" {
		t.Errorf("Count of the parsed results (-want +got):\n%s", d)
	}
	if len(rep.Diag) != 0 {
		t.Errorf("the Totals line stayed in Diag: %q", rep.Diag)
	}

	// Writing the parsed results back gives the same text.
	var b strings.Builder
	w := NewWriter(&b)
	if err := w.Plan(rep.Plan); err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if err := w.Result(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Totals(*rep.Totals); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(kselftestRun, b.String()); d != "" {
		t.Errorf("write(parse(x)) != x (-want +got):\n%s", d)
	}
}

func TestParseDirectives(t *testing.T) {
	tests := []struct {
		line string
		want Result
	}{
		{"ok 3 a # XFAIL why", Result{Number: 3, Name: "a", Status: Pass, Directive: DirXFail, Reason: "why"}},
		// Tolerated: the TAP habit of "not ok" for an expected failure.
		{"not ok 3 a # XFAIL why", Result{Number: 3, Name: "a", Status: Fail, Directive: DirXFail, Reason: "why"}},
		{"ok 3 a # xpass why", Result{Number: 3, Name: "a", Status: Pass, Directive: DirXPass, Reason: "why"}},
		{"not ok 3 a # TIMEOUT killed by the host after 60s", Result{Number: 3, Name: "a", Status: Fail, Directive: DirTimeout, Reason: "killed by the host after 60s"}},
		{"not ok 3 a # TIMEOUT", Result{Number: 3, Name: "a", Status: Fail, Directive: DirTimeout}},
	}
	for _, tc := range tests {
		l := classify(tc.line)
		if l.kind != kindResult {
			t.Errorf("classify(%q): not a result", tc.line)
			continue
		}
		if d := cmp.Diff(tc.want, l.result, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("classify(%q) (-want +got):\n%s", tc.line, d)
		}
	}
}

func TestCount(t *testing.T) {
	tests := []struct {
		name string
		in   []Result
		want Totals
	}{
		{"empty", nil, Totals{}},
		{"plain", []Result{{Status: Pass}, {Status: Fail}, {Status: Skip, Directive: DirSkip}}, Totals{Pass: 1, Fail: 1, Skip: 1}},
		{"xfail whatever the ok", []Result{{Status: Pass, Directive: DirXFail}, {Status: Fail, Directive: DirXFail}}, Totals{XFail: 2}},
		{"xpass", []Result{{Status: Pass, Directive: DirXPass}}, Totals{XPass: 1}},
		{"timeout is a failure", []Result{{Status: Fail, Directive: DirTimeout}}, Totals{Fail: 1}},
		{"error and incomplete", []Result{{Status: Fail, Directive: DirError}, {Status: Incomplete}}, Totals{Error: 2}},
		{"todo counts by ok", []Result{{Status: Fail, Directive: DirTodo}, {Status: Pass, Directive: DirTodo}}, Totals{Pass: 1, Fail: 1}},
	}
	for _, tc := range tests {
		if d := cmp.Diff(tc.want, Count(tc.in)); d != "" {
			t.Errorf("%s: Count (-want +got):\n%s", tc.name, d)
		}
	}
}

func TestParseTotals(t *testing.T) {
	good := "Totals: pass:38 fail:0 xfail:7 xpass:0 skip:1 error:0"
	got, ok := ParseTotals(good)
	if want := (Totals{Pass: 38, XFail: 7, Skip: 1}); !ok || got != want {
		t.Errorf("ParseTotals(%q) = %+v, %v; want %+v", good, got, ok, want)
	}
	if s := got.String(); s != good {
		t.Errorf("String() = %q, want %q", s, good)
	}
	for _, bad := range []string{
		"Totals: pass:1 fail:0",
		"Totals: fail:0 pass:1 xfail:0 xpass:0 skip:0 error:0",
		"Totals: pass:x fail:0 xfail:0 xpass:0 skip:0 error:0",
		"Totals: pass:-1 fail:0 xfail:0 xpass:0 skip:0 error:0",
		"totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0",
		"Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0 extra:1",
	} {
		if got, ok := ParseTotals(bad); ok {
			t.Errorf("ParseTotals(%q) = %+v, accepted", bad, got)
		}
	}
}

func TestTotalsOnlyTrailing(t *testing.T) {
	// A Totals line before the plan is satisfied belongs to the next
	// test as an ordinary diagnostic; it is not the run's totals.
	in := "KTAP version 1\n1..2\nok 1 a\n# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0\n"
	rep, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Totals != nil {
		t.Errorf("Totals = %+v from an unfinished document", *rep.Totals)
	}
}

func TestWriterRejectsTimeoutOK(t *testing.T) {
	for _, d := range []Directive{DirTimeout, DirError} {
		rec := &recorder{}
		if err := NewWriter(rec).Result(Result{Name: "a", Status: Pass, Directive: d}); err == nil {
			t.Errorf("Result(ok # %s) succeeded; ktap.rst requires not ok", d)
		}
		if len(rec.writes) != 0 {
			t.Errorf("wrote %q for an invalid result", rec.writes)
		}
	}
}
