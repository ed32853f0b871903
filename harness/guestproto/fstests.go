package guestproto

import (
	"fmt"
	"path"
	"strings"
)

// FSTests turns a plan into an fstests run: the agent switches to the
// root disk, prepares the test and scratch disks for Setup and runs
// fstests' check once per plan entry, each entry naming a test
// ("generic/091"), instead of running scenarios. Package fstests owns
// the setups and the guest layout; this is what the host must tell.
type FSTests struct {
	// Setup names the filesystem and mode (fstests.Setups).
	Setup string `json:"setup"`
	// Root is the block device of the Debian root disk, Test and
	// Scratch those fstests uses (for a FUSE setup: the disks the
	// server's backing directories live on), Results the disk the
	// host reads fstests' results back from.
	Root    string `json:"root"`
	Test    string `json:"test"`
	Scratch string `json:"scratch"`
	Results string `json:"results"`
	// Dir is fstests' directory in the root filesystem.
	Dir string `json:"dir"`
	// TimeoutSec bounds one test, wall clock. A test still running
	// then has the task states of the guest dumped to the console
	// (sysrq w and t) and is killed; the run goes on with the next.
	TimeoutSec int `json:"timeout_s"`
}

// Validate checks what the agent relies on.
func (f FSTests) Validate() error {
	for _, d := range []struct{ name, v string }{{"root", f.Root}, {"test", f.Test}, {"scratch", f.Scratch}, {"results", f.Results}} {
		if !strings.HasPrefix(d.v, "/dev/") {
			return fmt.Errorf("plan: fstests: bad %s device %q, want a /dev/ path", d.name, d.v)
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
