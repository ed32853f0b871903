package guestproto

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func validPlan() Plan {
	return Plan{
		Scenarios: []Entry{
			{Name: "fuse/a"},
			{Name: "fuse/b", XFail: true, Reason: "the base kernel lacks the fix"},
		},
		Repeat:      2,
		Disks:       Disks{{Name: "ext4", Device: "/dev/vda", FSType: "ext4"}, {Name: "blank", Device: "/dev/vdb"}},
		SelftestDir: "/selftests",
		Wiring:      Wiring{AgentTTY: "/dev/ttyS1", ExitPort: 0xf4},
	}
}

func TestPlanRoundTrip(t *testing.T) {
	for _, start := range []int{0, 1, 3} {
		p := validPlan()
		p.Start = start
		b, err := p.Encode()
		if err != nil {
			t.Fatalf("Encode(start %d): %v", start, err)
		}
		got, err := DecodePlan(b)
		if err != nil {
			t.Fatalf("DecodePlan(start %d): %v\n%s", start, err, b)
		}
		if d := cmp.Diff(p, got); d != "" {
			t.Errorf("round trip (start %d) (-want +got):\n%s", start, d)
		}
	}
}

func TestPlanRuns(t *testing.T) {
	p := validPlan()
	p.Start = 1
	a, b := p.Scenarios[0], p.Scenarios[1]
	if d := cmp.Diff([]Entry{a, b, a, b}, p.Runs()); d != "" {
		t.Errorf("Runs (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]Entry{b, a, b}, p.Remaining()); d != "" {
		t.Errorf("Remaining from 1 (-want +got):\n%s", d)
	}
}

func TestPlanInvalid(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Plan)
		want   string
	}{
		{"no scenarios", func(p *Plan) { p.Scenarios = nil }, "no scenarios"},
		{"empty name", func(p *Plan) { p.Scenarios[0].Name = "" }, `bad name ""`},
		{"space in name", func(p *Plan) { p.Scenarios[0].Name = "fuse/a b" }, "bad name"},
		{"duplicate", func(p *Plan) { p.Scenarios[1] = p.Scenarios[0] }, "listed twice"},
		{"xfail without reason", func(p *Plan) { p.Scenarios[1].Reason = " " }, "without a reason"},
		{"reason without xfail", func(p *Plan) { p.Scenarios[0].Reason = "x" }, "not declared to fail"},
		{"repeat 0", func(p *Plan) { p.Repeat = 0 }, "bad repeat 0, want [1-1000]"},
		{"start past the end", func(p *Plan) { p.Start = 4 }, "bad start 4, want [0-3]"},
		{"negative start", func(p *Plan) { p.Start = -1 }, "bad start -1"},
		{"tty", func(p *Plan) { p.AgentTTY = "ttyS1" }, `bad agent tty "ttyS1"`},
		{"port", func(p *Plan) { p.ExitPort = 0 }, "no exit port"},
		{"disk without a name", func(p *Plan) { p.Disks[0].Name = "" }, `bad disk name ""`},
		{"disk twice", func(p *Plan) { p.Disks[1].Name = "ext4" }, "disk ext4 listed twice"},
		{"disk not a device", func(p *Plan) { p.Disks[1].Device = "vdb" }, `disk blank: bad device "vdb"`},
		{"two disks on one device", func(p *Plan) { p.Disks[1].Device = "/dev/vda" }, "device /dev/vda is another disk's"},
		{"relative selftest directory", func(p *Plan) { p.SelftestDir = "selftests" }, `bad selftest directory "selftests"`},
	}
	for _, tc := range tests {
		p := validPlan()
		tc.change(&p)
		_, err := p.Encode()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Encode error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestDecodePlanRejectsUnknownFields(t *testing.T) {
	b, err := validPlan().Encode()
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(b), `"repeat"`, `"repeats": 1, "repeat"`, 1)
	if _, err := DecodePlan([]byte(bad)); err == nil || !strings.Contains(err.Error(), "repeats") {
		t.Errorf("DecodePlan with an unknown field: %v, want an error naming it", err)
	}
}

func TestDisksNamed(t *testing.T) {
	ds := validPlan().Disks
	if d, ok := ds.Named("blank"); !ok || d != (Disk{Name: "blank", Device: "/dev/vdb"}) {
		t.Errorf("Named(blank) = %+v, %v", d, ok)
	}
	if d, ok := ds.Named("xfs"); ok {
		t.Errorf("Named(xfs) = %+v, want none", d)
	}
}

func TestEntries(t *testing.T) {
	expect := func(name string) (bool, string) {
		if name == "fuse/b" {
			return true, "why"
		}
		return false, "ignored when not declared"
	}
	got := Entries([]string{"fuse/a", "fuse/b"}, expect)
	want := []Entry{{Name: "fuse/a"}, {Name: "fuse/b", XFail: true, Reason: "why"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Entries (-want +got):\n%s", d)
	}
}

func TestCmdlineRoundTrip(t *testing.T) {
	tests := []Cmdline{
		{},
		{Plan: PlanPath},
		{Plan: PlanPath, Probe: true},
	}
	for _, c := range tests {
		line := "console=ttyS0,115200 panic=-1 " + strings.Join(c.Words(), " ") + " rdinit=/init"
		if d := cmp.Diff(c, ParseCmdline(line)); d != "" {
			t.Errorf("ParseCmdline(%q) (-want +got):\n%s", line, d)
		}
		for _, w := range c.Words() {
			if !IsKey(w) {
				t.Errorf("IsKey(%q) = false for a word of the contract", w)
			}
		}
	}
	if got := ParseCmdline("dioharness.probe=yes"); got.Probe {
		t.Errorf("dioharness.probe=yes parsed as probe; only =1 is")
	}
	if IsKey("console=ttyS0") {
		t.Errorf("IsKey(console=ttyS0) = true")
	}
}

func TestDiagRoundTrip(t *testing.T) {
	for _, name := range []string{"fuse/a", "harness/hang"} {
		got, ok := ParseStart(StartDiag(name))
		if !ok || got != name {
			t.Errorf("ParseStart(StartDiag(%q)) = %q, %v", name, got, ok)
		}
	}
	for _, n := range []int{1, 2, 17} {
		got, ok := ParseAttempts(AttemptsDiag(n))
		if !ok || got != n {
			t.Errorf("ParseAttempts(AttemptsDiag(%d)) = %d, %v", n, got, ok)
		}
	}
	got, ok := ParseFailure(FailureDiag("pwrite: EIO\n  at offset 0"))
	if !ok || got != "pwrite: EIO at offset 0" {
		t.Errorf("ParseFailure(FailureDiag(...)) = %q, %v; want the reason on one line", got, ok)
	}
	for _, bad := range []string{"starting fuse/a", "start ", "start a b", "attempts: 0", "attempts: x", "failure: "} {
		if _, ok := ParseStart(bad); ok {
			t.Errorf("ParseStart(%q) accepted", bad)
		}
		if _, ok := ParseAttempts(bad); ok {
			t.Errorf("ParseAttempts(%q) accepted", bad)
		}
		if _, ok := ParseFailure(bad); ok {
			t.Errorf("ParseFailure(%q) accepted", bad)
		}
	}
}

func TestKmsgRoundTrip(t *testing.T) {
	tests := []struct {
		line string
		n    int
		name string
		ok   bool
	}{
		{KmsgStart(3, "fuse/a"), 3, "fuse/a", true},
		{"[    3.101000] " + KmsgStart(1, "ext4/lock-a"), 1, "ext4/lock-a", true},
		{"[    3.1][    T1] " + KmsgStart(12, "xfs/b"), 12, "xfs/b", true},
		{KmsgEnd(3, "fuse/a", "pass"), 0, "", false},
		{"dioharness: start fuse/a", 0, "", false}, // the old, unnumbered marker
		{"dioharness: start 0 fuse/a", 0, "", false},
	}
	for _, tc := range tests {
		n, name, ok := ParseKmsgStart(tc.line)
		if n != tc.n || name != tc.name || ok != tc.ok {
			t.Errorf("ParseKmsgStart(%q) = %d, %q, %v; want %d, %q, %v", tc.line, n, name, ok, tc.n, tc.name, tc.ok)
		}
	}
}

func TestExitRoundTrip(t *testing.T) {
	for _, v := range []Verdict{VerdictOK, VerdictMismatch, VerdictAgentError} {
		got, ok := DecodeExit(v.ExitStatus())
		if !ok || got != v {
			t.Errorf("DecodeExit(%d) = %v, %v; want %v", v.ExitStatus(), got, ok, v)
		}
	}
	// What QEMU reports when the agent never wrote the port.
	for _, status := range []int{0, 2, -1, 256} {
		if v, ok := DecodeExit(status); ok {
			t.Errorf("DecodeExit(%d) = %v, true; want not a verdict", status, v)
		}
	}
	if got := VerdictMismatch.ExitStatus(); got != 3 {
		t.Errorf("VerdictMismatch.ExitStatus() = %d, want 3 ((1<<1)|1)", got)
	}
}
