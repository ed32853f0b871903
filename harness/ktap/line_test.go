package ktap

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		in   string
		want line
	}{
		{"KTAP version 1", line{kind: kindVersion, version: "KTAP version 1"}},
		{"TAP version 13\r\n", line{kind: kindVersion, version: "TAP version 13"}},
		{"    KTAP version 1 ", line{indent: 4, kind: kindVersion, version: "KTAP version 1"}},
		{"KTAP version", line{}},
		{"KTAP version one", line{}},
		{"1..4", line{kind: kindPlan, plan: 4}},
		{"1..0 # SKIP no devices", line{kind: kindPlan, plan: 0}},
		{"1..4 junk", line{}},
		{"1..x", line{}},
		{"1..9999999999999999999999", line{}},
		{"ok 1 alpha", line{kind: kindResult, result: Result{Number: 1, Name: "alpha", Status: Pass}}},
		{"ok 2", line{kind: kindResult, result: Result{Number: 2, Status: Pass}}},
		{"not ok 3 beta gamma", line{kind: kindResult, result: Result{Number: 3, Name: "beta gamma", Status: Fail}}},
		{"ok 4 - tap style", line{kind: kindResult, result: Result{Number: 4, Name: "tap style", Status: Pass}}},
		{"ok 5 s # SKIP no such device", line{kind: kindResult, result: Result{Number: 5, Name: "s", Status: Skip, Directive: DirSkip, Reason: "no such device"}}},
		{"not ok 5 s # skip", line{kind: kindResult, result: Result{Number: 5, Name: "s", Status: Skip, Directive: DirSkip}}},
		{"ok 6 # SKIP", line{kind: kindResult, result: Result{Number: 6, Status: Skip, Directive: DirSkip}}},
		{"not ok 7 t # TIMEOUT 30 seconds", line{kind: kindResult, result: Result{Number: 7, Name: "t", Status: Fail, Directive: DirTimeout, Reason: "30 seconds"}}},
		{"not ok 8 t # TODO later", line{kind: kindResult, result: Result{Number: 8, Name: "t", Status: Fail, Directive: DirTodo, Reason: "later"}}},
		{"ok 9 t # XFAIL known", line{kind: kindResult, result: Result{Number: 9, Name: "t", Status: Pass, Directive: DirXFail, Reason: "known"}}},
		{"not ok 10 t # ERROR boom", line{kind: kindResult, result: Result{Number: 10, Name: "t", Status: Fail, Directive: DirError, Reason: "boom"}}},
		{"ok 11 check rc # rcode=0", line{kind: kindResult, result: Result{Number: 11, Name: "check rc", Status: Pass, Reason: "rcode=0"}}},
		{`ok 12 a\#b\\c\d # SKIP x # y`, line{kind: kindResult, result: Result{Number: 12, Name: `a#b\c\d`, Status: Skip, Directive: DirSkip, Reason: "x # y"}}},
		{"  not ok 1 nested", line{indent: 2, kind: kindResult, result: Result{Number: 1, Name: "nested", Status: Fail}}},
		{"ok", line{}},
		{"okay 1 x", line{}},
		{"ok x", line{}},
		{"ok 1x", line{}},
		{"not ok", line{}},
		{"[   12.345678] ok 1 from printk", line{}},
		{"ok 100001 huge", line{}},
		{"# hello", line{kind: kindDiag, diag: "hello"}},
		{"#hello  ", line{kind: kindDiag, diag: "hello"}},
		{"#", line{kind: kindDiag}},
		{"#   indented", line{kind: kindDiag, diag: "  indented"}},
		{"  # nested diag", line{indent: 2, kind: kindDiag, diag: "nested diag"}},
		{"", line{}},
		{"random: crng init done", line{}},
		{"\tok 1 tab", line{}},
	}
	for _, tt := range tests {
		got := classify(tt.in)
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(line{})); diff != "" {
			t.Errorf("classify(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in     string
		want   int64 // milliseconds
		wantOK bool
	}{
		{"duration_ms: 0", 0, true},
		{"duration_ms: 1500", 1500, true},
		{"duration_ms:42", 42, true},
		{"duration_ms: -1", 0, false},
		{"duration_ms: 1.5", 0, false},
		{"duration_ms: 9999999999999", 0, false},
		{"duration: 1", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseDuration(tt.in)
		if ok != tt.wantOK || got.Milliseconds() != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %dms, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
