package ktap

import "testing"

func TestStatusAndDirectiveNames(t *testing.T) {
	tests := []struct {
		s    Status
		want string
	}{
		{Incomplete, "incomplete"}, {Pass, "pass"}, {Fail, "fail"}, {Skip, "skip"}, {Status(9), "Status(9)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Status(%d).String() = %q, want %q", int(tt.s), got, tt.want)
		}
	}
	for _, d := range []Directive{NoDirective, DirSkip, DirTodo, DirXFail, DirTimeout, DirError} {
		if !d.Known() {
			t.Errorf("%q.Known() = false", d)
		}
	}
	if Directive("skip").Known() || Directive("MAYBE").Known() {
		t.Error("Known accepts a non-canonical directive")
	}
}
