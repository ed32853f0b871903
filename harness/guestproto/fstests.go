package guestproto

import (
	"fmt"
	"path"
)

// FSTests turns a plan into an fstests run: the agent switches to the
// root disk, prepares the test and scratch disks for Setup and runs
// fstests' check once per plan entry, each entry naming a test
// ("generic/091"), instead of running scenarios. Package fstests owns
// the setups and the guest layout; this is what the host must tell.
// The plan's disks name the devices (FSTestsDisks).
type FSTests struct {
	// Setup names the filesystem and mode (fstests.Setups).
	Setup string `json:"setup"`
	// Dir is fstests' directory in the root filesystem.
	Dir string `json:"dir"`
	// TimeoutSec bounds one test, wall clock. A test still running
	// then has the task states of the guest dumped to the console
	// (sysrq w and t) and is killed; the run goes on with the next.
	TimeoutSec int `json:"timeout_s"`
}

// The disks of an fstests plan: the Debian root disk, the disks
// fstests tests and scratches (for a FUSE setup: the disks the server's
// backing directories live on) and the disk the host reads fstests'
// results back from.
const (
	DiskRoot    = "root"
	DiskTest    = "test"
	DiskScratch = "scratch"
	DiskResults = "results"
)

// FSTestsDisks are the disks every fstests plan has, in the order the
// host attaches them.
var FSTestsDisks = []string{DiskRoot, DiskTest, DiskScratch, DiskResults}

// Validate checks what the agent relies on, the plan's disks included.
func (f FSTests) Validate(disks Disks) error {
	for _, name := range FSTestsDisks {
		if _, ok := disks.Named(name); !ok {
			return fmt.Errorf("plan: fstests: no %s disk", name)
		}
	}
	if f.Setup == "" {
		return fmt.Errorf("plan: fstests: no setup")
	}
	if !path.IsAbs(f.Dir) {
		return fmt.Errorf("plan: fstests: bad directory %q, want an absolute path", f.Dir)
	}
	if f.TimeoutSec <= 0 {
		return fmt.Errorf("plan: fstests: bad test timeout %ds, want > 0", f.TimeoutSec)
	}
	return nil
}
