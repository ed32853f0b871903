// Package fstests is the contract between the host and the guest for
// running the community's filesystem suite (fstests, formerly xfstests)
// in the test guest: the filesystem setups it runs under, the selection
// of tests, the configuration fstests' check reads and fstests' own
// xunit report. The host's comparison of a base and a patched kernel is
// package fstests/compare.
//
// A guest boots the Debian root disk of package rootfs with the agent as
// PID 1 and runs check once per test (package fstests/checkrun), so that
// each test has its own wall-clock bound and a test that hangs costs
// only itself.
package fstests

import (
	"fmt"
	"slices"
	"strings"
)

// Setup is one filesystem and mode fstests runs under.
type Setup struct {
	// Name is how the harness names it (FSTYP= on make's command line
	// selects by it, or by FSTYP).
	Name string
	// FSTYP is fstests' FSTYP.
	FSTYP string
	// About says what it is, for reports.
	About string
	// FUSE options given to our server's mount helper on top of the
	// backing directory (empty for a block filesystem).
	FUSEOptions []string
}

// FUSE is true for a setup served by our FUSE server.
func (s Setup) FUSE() bool { return s.FSTYP == "fuse" }

// FUSESubtype is the mount type suffix fstests mounts our FUSE server
// with (mount -t fuse.dioharness runs /sbin/mount.fuse.dioharness).
const FUSESubtype = "dioharness"

// Setups are every setup, in the order a run goes through them.
var Setups = []Setup{
	{Name: "ext4", FSTYP: "ext4", About: "ext4 on a virtio disk"},
	{Name: "xfs", FSTYP: "xfs", About: "XFS on a virtio disk"},
	{
		Name: "fuse-cached", FSTYP: "fuse",
		About: "our FUSE server passing through to a directory on ext4; page cache in use (no FOPEN flags)",
	},
	{
		Name: "fuse-direct-io", FSTYP: "fuse",
		About:       "our FUSE server passing through to a directory on ext4; FOPEN_DIRECT_IO and FOPEN_PARALLEL_DIRECT_WRITES on every open, FUSE_DIRECT_IO_ALLOW_MMAP",
		FUSEOptions: []string{"direct_io", "parallel_direct_writes", "direct_io_allow_mmap"},
	},
	{
		Name: "fuse-parallel-odirect", FSTYP: "fuse",
		About: "our FUSE server passing through to a directory on ext4; page cache in use, FOPEN_PARALLEL_DIRECT_WRITES on every open and " +
			"FUSE_PARALLEL_ODIRECT_WRITES, so that O_DIRECT opens write in parallel on kernels with the pdio RFC (elsewhere as fuse-cached)",
		FUSEOptions: []string{"parallel_direct_writes", "parallel_odirect_writes"},
	},
}

// SetupNamed returns the setup with that name.
func SetupNamed(name string) (Setup, bool) {
	for _, s := range Setups {
		if s.Name == name {
			return s, true
		}
	}
	return Setup{}, false
}

// ParseSetups reads FSTYP=: empty for every setup, else a comma-separated
// list of setup names or fstests FSTYPs ("fuse" selects every FUSE mode).
func ParseSetups(spec string) ([]Setup, error) {
	if strings.TrimSpace(spec) == "" {
		return slices.Clone(Setups), nil
	}
	var out []Setup
	for _, w := range strings.Split(spec, ",") {
		w = strings.TrimSpace(w)
		n := len(out)
		for _, s := range Setups {
			if (s.Name == w || s.FSTYP == w) && !slices.ContainsFunc(out, func(o Setup) bool { return o.Name == s.Name }) {
				out = append(out, s)
			}
		}
		if len(out) == n && !slices.ContainsFunc(Setups, func(s Setup) bool { return s.Name == w || s.FSTYP == w }) {
			return nil, fmt.Errorf("bad FSTYP %q, want one of %s (or fuse for every FUSE mode)", w, strings.Join(SetupNames(), ", "))
		}
	}
	return out, nil
}

func SetupNames() []string {
	var n []string
	for _, s := range Setups {
		n = append(n, s.Name)
	}
	return n
}

// Guest layout: where the agent puts things in the guest. The host
// attaches the disks in this order after the root disk.
const (
	// TestDir and ScratchMnt are fstests' mount points.
	TestDir    = "/mnt/test"
	ScratchMnt = "/mnt/scratch"
	// ResultsMnt is where the results disk is mounted; ResultsDir on
	// it is fstests' RESULT_BASE, read back by the host.
	ResultsMnt = "/mnt/results"
	ResultsDir = "fstests"
	// FUSEBacking holds the filesystems on the test and scratch disks
	// that the FUSE server passes through to.
	FUSEBacking = "/srv/fuse"
	// ConfigPath is the configuration check reads (HOST_OPTIONS).
	ConfigPath = "/run/dioharness/fstests.config"
	// RunDir holds the agent binary and what it installs at boot.
	RunDir = "/run/dioharness"
)

// Devices are the block devices of a guest, by role.
type Devices struct {
	Test, Scratch string
}

// BackingDir is the directory the FUSE server of role ("test" or
// "scratch") passes through to.
func BackingDir(role string) string { return FUSEBacking + "/" + role + "/fs" }

// FUSEDevice is the mount source fstests passes for role: a tag, as
// for every FUSE filesystem in fstests.
func FUSEDevice(role string) string { return "dioharness-" + role }

// LocalConfig is the configuration file check reads for setup s.
func LocalConfig(s Setup, d Devices) string {
	var b strings.Builder
	set := func(k, v string) { fmt.Fprintf(&b, "export %s=%q\n", k, v) }
	set("FSTYP", s.FSTYP)
	set("TEST_DIR", TestDir)
	set("SCRATCH_MNT", ScratchMnt)
	set("RESULT_BASE", ResultsMnt+"/"+ResultsDir)
	if !s.FUSE() {
		set("TEST_DEV", d.Test)
		set("SCRATCH_DEV", d.Scratch)
		return b.String()
	}
	set("FUSE_SUBTYP", "."+FUSESubtype)
	set("TEST_DEV", FUSEDevice("test"))
	set("SCRATCH_DEV", FUSEDevice("scratch"))
	opts := func(role string) string {
		o := append([]string{"source=" + BackingDir(role), "allow_other", "default_permissions"}, s.FUSEOptions...)
		return "-o " + strings.Join(o, ",")
	}
	set("TEST_FS_MOUNT_OPTS", opts("test"))
	set("MOUNT_OPTIONS", opts("scratch"))
	return b.String()
}
