package testrun

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/guestproto"
	"dioharness/harness/image"
	"dioharness/harness/vm"
)

// TestPlanDisks: the plan names each disk with the device the machine
// attaches it as, in the order the images are attached.
func TestPlanDisks(t *testing.T) {
	var mach vm.Machine
	want := guestproto.Disks{
		{Name: "ext4", Device: "/dev/vda", FSType: "ext4"},
		{Name: "xfs", Device: "/dev/vdb", FSType: "xfs"},
		{Name: "ext4-noextent", Device: "/dev/vdc", FSType: "ext4"},
	}
	if d := cmp.Diff(want, planDisks(mach, image.Disks)); d != "" {
		t.Errorf("scenario disks (-want +got):\n%s", d)
	}
	want = guestproto.Disks{
		{Name: "root", Device: "/dev/vda", FSType: "ext4"},
		{Name: "test", Device: "/dev/vdb"},
		{Name: "scratch", Device: "/dev/vdc"},
		{Name: "results", Device: "/dev/vdd", FSType: "ext4"},
	}
	got := planDisks(mach, fstestsDisks)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("fstests disks (-want +got):\n%s", d)
	}
	if err := (guestproto.FSTests{Setup: "xfs", Dir: "/opt/fstests", TimeoutSec: 1}).Validate(got); err != nil {
		t.Errorf("the fstests plan's disks: %v", err)
	}
}
