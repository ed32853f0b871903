package testrun

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/catalogue"
	"dioharness/harness/guestproto"
	"dioharness/harness/image"
	"dioharness/harness/kbase"
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

// TestForBase: a run reads its base's series once, and a run whose
// series was never read refuses to plan rather than judge a patched
// kernel as one without patches.
func TestForBase(t *testing.T) {
	dir := t.TempDir()
	series := filepath.Join(dir, "fuse")
	if err := os.MkdirAll(series, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, subject := range map[string]string{"0001-a.patch": "[PATCH 1/2] fuse: first", "0002-b.patch": "[PATCH 2/2] fuse: second"} {
		if err := os.WriteFile(filepath.Join(series, name), []byte("From 0 Mon Sep 17 00:00:00 2001\nSubject: "+subject+"\n\nbody\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(series, "series"), []byte("0001-a.patch\n0002-b.patch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := kbase.Spec{Name: "v7.3", Dir: dir, Series: []string{"fuse"}}
	patched := kbase.Variant{Base: "v7.3", Flavour: kbase.Patched}
	o, err := ForBase(Options{Variant: patched}, spec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(series, "0001-a.patch"), filepath.Join(series, "0002-b.patch")}
	if d := cmp.Diff(want, o.Patches); d != "" {
		t.Errorf("patches (-want +got):\n%s", d)
	}
	k, err := o.declared()
	if d := cmp.Diff(catalogue.Kernel{Variant: patched, Patches: []string{"fuse: first", "fuse: second"}}, k); err != nil || d != "" {
		t.Errorf("declared kernel (-want +got): %v\n%s", err, d)
	}
	base := kbase.Variant{Base: "v7.3", Flavour: kbase.Base}
	if o, err = ForBase(Options{Variant: base}, spec); err != nil {
		t.Fatal(err)
	}
	if k, err := o.declared(); err != nil || len(k.Patches) != 0 || len(o.Patches) != 0 {
		t.Errorf("base flavour: kernel %+v, %v; patches %v", k, err, o.Patches)
	}
	spec.Extra = []kbase.FlavourSpec{{Name: "rfc", Series: []string{"fuse"}}}
	rfc := kbase.Variant{Base: "v7.3", Flavour: "rfc"}
	if o, err = ForBase(Options{Variant: rfc}, spec); err != nil {
		t.Fatal(err)
	}
	if k, err := o.declared(); err != nil || len(k.Patches) != 2 || len(o.Patches) != 2 {
		t.Errorf("declared flavour: kernel %+v, %v; patches %v", k, err, o.Patches)
	}
	if _, err := ForBase(Options{Variant: kbase.Variant{Base: "v7.3", Flavour: "nope"}}, spec); err == nil || !strings.Contains(err.Error(), `has no flavour "nope"`) {
		t.Errorf("unknown flavour: %v", err)
	}
	if _, err := (Options{Variant: patched, Spec: &spec}).declared(); err == nil {
		t.Errorf("a patched run whose series was not read declared a kernel")
	}
	if k, err := (Options{Variant: kbase.Variant{Flavour: kbase.Custom}}).declared(); err != nil || k.Variant.Flavour != kbase.Custom {
		t.Errorf("custom: %+v, %v", k, err)
	}
}

// TestTimeoutScale: a scenario bound longer than the default stretches
// the guest's own timeouts by as much; a shorter one never shrinks them.
func TestTimeoutScale(t *testing.T) {
	for _, tc := range []struct {
		scenario time.Duration
		want     float64
	}{
		{0, 1},
		{DefaultTimeouts.Scenario, 1},
		{time.Minute, 1},
		{10 * time.Minute, 2.5},
	} {
		if got := (Timeouts{Scenario: tc.scenario}).scale(); got != tc.want {
			t.Errorf("Timeouts{Scenario: %s}.scale() = %v, want %v", tc.scenario, got, tc.want)
		}
	}
}
