package scenario

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/guestproto"
)

// Env is what the guest offers scenarios.
type Env struct {
	// Exe is the agent binary; the FUSE server runs as "Exe fuse-server".
	Exe string
	// Work is a scratch directory (tmpfs).
	Work string
	// Disks are the block devices the plan names.
	Disks guestproto.Disks
	// SelftestDir holds the kernel selftests the plan says the host
	// put into this guest ("" when none).
	SelftestDir string
	// OnTimeout, when set, runs when a scenario outlives its Timeout,
	// before anything of it is cleaned up: the agent gathers the hang's
	// evidence there. What it returns (who is blocked where) is added
	// to the scenario's failure.
	OnTimeout func(scenario string) string
	// TimeoutScale stretches every scenario's Timeout (1 when zero):
	// the host's scenario bound over its default (guestproto.Plan).
	TimeoutScale float64
	// grace bounds the wait for an abandoned scenario's cleanups.
	grace time.Duration
	// Base is the kernel base under test ("" for a custom tree), for
	// the kernel rules a base declares it breaks (harness/invariant).
	Base string
	// Fuzz is the plan's request for more workload sequences (nil:
	// none).
	Fuzz *guestproto.Fuzz

	seq    atomic.Int64
	probes *probeCache
	rec    recorder
}

// NewEnv returns an environment rooted at work.
func NewEnv(exe, work string) *Env {
	return &Env{Exe: exe, Work: work, probes: &probeCache{}, grace: cleanupGrace}
}

// cleanupGrace bounds how long the runner waits, after a scenario's
// timeout, for its cleanups to release gates and unmount.
const cleanupGrace = 10 * time.Second

// Disk mounts the named disk of the plan fresh for t: the filesystem
// is mounted at Work/disk-<name> and unmounted when t ends, with every
// file created by t removed first so the next scenario starts from an
// empty filesystem.
func (t *T) Disk(name string, opts string) string {
	d := t.PlanDisk(name)
	dev := d.Device
	if _, err := os.Stat(dev); err != nil {
		t.Skipf("disk %s (%s) not attached: %v", name, dev, err)
	}
	mnt := filepath.Join(t.env.Work, "disk-"+name)
	t.Check(os.MkdirAll(mnt, 0o755), "mkdir %s", mnt)
	if err := unix.Mount(dev, mnt, d.FSType, 0, opts); err != nil {
		t.Fatalf("mount %s (%s) on %s: %v", dev, d.FSType, mnt, err)
	}
	t.Cleanup(func() {
		entries, _ := os.ReadDir(mnt)
		for _, e := range entries {
			if e.Name() != "lost+found" {
				os.RemoveAll(filepath.Join(mnt, e.Name()))
			}
		}
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	return mnt
}

// PlanDisk is the named disk of the plan; a name the plan lacks ends t
// as failed (the host attaches every disk the catalogue uses).
func (t *T) PlanDisk(name string) guestproto.Disk {
	d, ok := t.env.Disks.Named(name)
	if !ok {
		t.Fatalf("the plan names no disk %q", name)
	}
	return d
}

// DropCaches writes back and drops clean page cache and slab objects, so
// a following read must go to the filesystem (or the FUSE server).
func (t *T) DropCaches() {
	unix.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
		t.Fatalf("drop_caches: %v", err)
	}
}

// LoadProbes loads the probe set now, before any scenario runs, and
// says how long that took: loading and verifying every program under
// TCG takes seconds on an idle host and over a minute on a loaded one,
// which the first scenario to ask for the probes would otherwise spend
// of its own timeout. An error is kept: every scenario that asks for
// the probes fails with it, as it would have without this call.
func (e *Env) LoadProbes() (time.Duration, error) {
	start := time.Now()
	_, err := e.probes.get()
	return time.Since(start), err
}

// Close releases what the environment loaded.
func (e *Env) Close() {
	e.probes.close()
}
