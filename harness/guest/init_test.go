package guest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"dioharness/harness/guestproto"
	"dioharness/harness/ktap"
	"dioharness/harness/scenario"
	"dioharness/harness/verdict"
)

func TestResult(t *testing.T) {
	plain := guestproto.Entry{Name: "fuse/a"}
	declared := guestproto.Entry{Name: "fuse/a", XFail: true, Reason: "base returns EIO"}
	tests := []struct {
		name    string
		e       guestproto.Entry
		res     scenario.Result
		want    ktap.Result
		matched bool
	}{
		{"pass", plain, scenario.Result{Name: "fuse/a", Verdict: verdict.Pass},
			ktap.Result{Name: "fuse/a", Status: ktap.Pass}, true},
		{"unexpected failure", plain, scenario.Result{Name: "fuse/a", Verdict: verdict.Fail, Reason: "pwrite: EIO", Log: []string{"FAIL: pwrite: EIO"}},
			ktap.Result{Name: "fuse/a", Status: ktap.Fail, Reason: "pwrite: EIO", Diag: []string{"FAIL: pwrite: EIO"}}, false},
		{"declared failure is XFAIL", declared, scenario.Result{Name: "fuse/a", Verdict: verdict.Fail, Reason: "pwrite: EIO"},
			ktap.Result{Name: "fuse/a", Status: ktap.Pass, Directive: ktap.DirXFail, Reason: "base returns EIO", Diag: []string{"failure: pwrite: EIO"}}, true},
		{"declared failure that passed is XPASS", declared, scenario.Result{Name: "fuse/a", Verdict: verdict.Pass},
			ktap.Result{Name: "fuse/a", Status: ktap.Pass, Directive: ktap.DirXPass, Reason: "base returns EIO"}, false},
		{"skip matches either way", declared, scenario.Result{Name: "fuse/a", Verdict: verdict.Skip, Reason: "no LKDTM"},
			ktap.Result{Name: "fuse/a", Status: ktap.Skip, Reason: "no LKDTM"}, true},
		{"timeout is TIMEOUT, also when a failure is declared", declared, scenario.Result{Name: "fuse/a", Verdict: verdict.Fail, TimedOut: true, Reason: "timed out after 1m30s"},
			ktap.Result{Name: "fuse/a", Status: ktap.Fail, Directive: ktap.DirTimeout, Reason: "timed out after 1m30s"}, false},
		{"attempts and duration", plain, scenario.Result{Name: "fuse/a", Verdict: verdict.Pass, Attempts: 3, Duration: 1500 * time.Microsecond},
			ktap.Result{Name: "fuse/a", Status: ktap.Pass, Diag: []string{"attempts: 3"}, Duration: 2 * time.Millisecond}, true},
	}
	for _, tc := range tests {
		got, matched := result(tc.e, tc.res)
		if d := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); d != "" || matched != tc.matched {
			t.Errorf("%s: matched %v (want %v), result (-want +got):\n%s", tc.name, matched, tc.matched, d)
		}
	}
}

// TestRunFollowsThePlan runs a small catalogue through the agent's run
// loop from the plan's Start and checks the KTAP, the kmsg markers and
// the verdict.
func TestRunFollowsThePlan(t *testing.T) {
	cat := scenario.Catalogue{
		{Declaration: guestproto.Declaration{Name: "harness/ok", Area: "harness"}, Run: func(t *scenario.T) {}},
		{Declaration: guestproto.Declaration{Name: "harness/bad", Area: "harness"}, Run: func(t *scenario.T) { t.Fatalf("broken") }},
		{Declaration: guestproto.Declaration{Name: "harness/slow", Area: "harness"}, Timeout: 50 * time.Millisecond, Run: func(t *scenario.T) { <-t.Context().Done() }},
	}
	plan := guestproto.Plan{
		Scenarios: []guestproto.Entry{
			{Name: "harness/ok"},
			{Name: "harness/bad", XFail: true, Reason: "declared"},
			{Name: "harness/slow"},
		},
		Repeat: 2,
		Start:  2, // the first boot got as far as harness/slow
		Wiring: guestproto.Wiring{AgentTTY: "/dev/ttyS1", ExitPort: 0xf4},
	}
	var out strings.Builder
	var kmsg []string
	v := run(guestproto.Cmdline{Plan: guestproto.PlanPath}, plan, cat, &out, "/init", func(s string) { kmsg = append(kmsg, s) }, false)
	if v != guestproto.VerdictMismatch {
		t.Errorf("verdict %v, want mismatch (a TIMEOUT)", v)
	}
	rep, err := ktap.Parse(strings.NewReader(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name      string
		Status    ktap.Status
		Directive ktap.Directive
	}
	var got []row
	for _, r := range rep.Results {
		got = append(got, row{r.Name, r.Status, r.Directive})
	}
	want := []row{
		{"harness/slow", ktap.Fail, ktap.DirTimeout},
		{"harness/ok", ktap.Pass, ktap.NoDirective},
		{"harness/bad", ktap.Pass, ktap.DirXFail},
		{"harness/slow", ktap.Fail, ktap.DirTimeout},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("results (-want +got):\n%s\n%s", d, out.String())
	}
	if !rep.Complete || rep.Totals == nil || *rep.Totals != (ktap.Totals{Pass: 1, XFail: 1, Fail: 2}) {
		t.Errorf("complete %v, totals %+v\n%s", rep.Complete, rep.Totals, out.String())
	}
	if name, ok := guestproto.ParseStart(rep.Results[1].Diag[0]); !ok || name != "harness/ok" {
		t.Errorf("first diagnostic of result 2 = %q, want the start announcement", rep.Results[1].Diag)
	}
	wantKmsg := []string{
		guestproto.KmsgStart(1, "harness/slow"), guestproto.KmsgEnd(1, "harness/slow", "fail"),
		guestproto.KmsgStart(2, "harness/ok"), guestproto.KmsgEnd(2, "harness/ok", "pass"),
		guestproto.KmsgStart(3, "harness/bad"), guestproto.KmsgEnd(3, "harness/bad", "fail"),
		guestproto.KmsgStart(4, "harness/slow"), guestproto.KmsgEnd(4, "harness/slow", "fail"),
	}
	if d := cmp.Diff(wantKmsg, kmsg); d != "" {
		t.Errorf("kmsg markers (-want +got):\n%s", d)
	}
}

// TestRunGivesScenariosThePlan: scenarios find their disks and the
// selftests where the plan says, by name, not by an order compiled into
// the agent.
func TestRunGivesScenariosThePlan(t *testing.T) {
	var got []string
	cat := scenario.Catalogue{{Declaration: guestproto.Declaration{Name: "harness/env", Area: "harness"}, Run: func(t *scenario.T) {
		d := t.PlanDisk("xfs")
		got = append(got, d.Device, d.FSType, t.Env().SelftestDir)
		t.PlanDisk("btrfs")
		got = append(got, "not reached")
	}}}
	plan := guestproto.Plan{
		Scenarios:   []guestproto.Entry{{Name: "harness/env", XFail: true, Reason: "no btrfs disk"}},
		Repeat:      1,
		Disks:       guestproto.Disks{{Name: "ext4", Device: "/dev/vdx", FSType: "ext4"}, {Name: "xfs", Device: "/dev/vdy", FSType: "xfs"}},
		SelftestDir: "/opt/selftests",
		Wiring:      guestproto.Wiring{AgentTTY: "/dev/ttyS1", ExitPort: 0xf4},
	}
	var out strings.Builder
	if v := run(guestproto.Cmdline{Plan: guestproto.PlanPath}, plan, cat, &out, "/init", func(string) {}, false); v != guestproto.VerdictOK {
		t.Errorf("verdict %v, want ok (the declared failure)\n%s", v, out.String())
	}
	if d := cmp.Diff([]string{"/dev/vdy", "xfs", "/opt/selftests"}, got); d != "" {
		t.Errorf("what the scenario saw (-want +got):\n%s", d)
	}
	if !strings.Contains(out.String(), `the plan names no disk "btrfs"`) {
		t.Errorf("a disk the plan lacks did not fail the scenario:\n%s", out.String())
	}
}

func TestRunUnknownScenario(t *testing.T) {
	plan := guestproto.Plan{Scenarios: []guestproto.Entry{{Name: "fuse/gone"}}, Repeat: 1, Wiring: guestproto.Wiring{AgentTTY: "/dev/ttyS1", ExitPort: 0xf4}}
	var out strings.Builder
	v := run(guestproto.Cmdline{}, plan, nil, &out, "/init", func(string) {}, false)
	if v != guestproto.VerdictAgentError || !strings.Contains(out.String(), `"fuse/gone"`) {
		t.Errorf("verdict %v, output %q; want an agent error naming the scenario", v, out.String())
	}
}

func TestRunProbe(t *testing.T) {
	var out strings.Builder
	v := run(guestproto.Cmdline{Probe: true}, guestproto.Plan{}, nil, &out, "/init", func(string) {}, false)
	if v != guestproto.VerdictOK || out.String() != "KTAP version 1\n1..0\n" {
		t.Errorf("probe: verdict %v, output %q", v, out.String())
	}
}
