package guestproto

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func fstestsPlan() Plan {
	p := validPlan()
	p.Scenarios = []Entry{{Name: "generic/091"}, {Name: "selftest/006"}}
	p.Repeat = 1
	p.Disks = Disks{{Name: DiskRoot, Device: "/dev/vda", FSType: "ext4"}, {Name: DiskTest, Device: "/dev/vdb"},
		{Name: DiskScratch, Device: "/dev/vdc"}, {Name: DiskResults, Device: "/dev/vdd", FSType: "ext4"}}
	p.FSTests = &FSTests{Setup: "xfs", Dir: "/opt/fstests", TimeoutSec: 900}
	return p
}

func TestFSTestsPlanRoundTrip(t *testing.T) {
	p := fstestsPlan()
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePlan(b)
	if err != nil {
		t.Fatalf("DecodePlan: %v\n%s", err, b)
	}
	if d := cmp.Diff(p, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	// A scenario plan carries no fstests part at all.
	b, err = validPlan().Encode()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "fstests") {
		t.Errorf("a scenario plan mentions fstests:\n%s", b)
	}
}

func TestFSTestsPlanInvalid(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Plan)
		want   string
	}{
		{"no setup", func(p *Plan) { p.FSTests.Setup = "" }, "no setup"},
		{"root not a device", func(p *Plan) { p.Disks[0].Device = "vda" }, `disk root: bad device "vda"`},
		{"results missing", func(p *Plan) { p.Disks = p.Disks[:3] }, "fstests: no results disk"},
		{"relative dir", func(p *Plan) { p.FSTests.Dir = "opt/fstests" }, `bad directory "opt/fstests"`},
		{"no timeout", func(p *Plan) { p.FSTests.TimeoutSec = 0 }, "bad test timeout 0s"},
	}
	for _, tc := range tests {
		p := fstestsPlan()
		tc.change(&p)
		_, err := p.Encode()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Encode error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
