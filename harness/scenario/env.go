package scenario

import (
	"os"
	"path/filepath"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"dioharness/harness/image"
)

// Env is what the guest offers scenarios.
type Env struct {
	// Exe is the agent binary; the FUSE server runs as "Exe fuse-server".
	Exe string
	// Work is a scratch directory (tmpfs).
	Work string

	seq    atomic.Int64
	probes *probeCache
}

// NewEnv returns an environment rooted at work.
func NewEnv(exe, work string) *Env {
	return &Env{Exe: exe, Work: work, probes: &probeCache{}}
}

// Disk mounts the named disk (image.Disks) fresh for t: the filesystem
// is mounted at Work/<name> and unmounted when t ends, with every file
// created by t removed first so the next scenario starts from an empty
// filesystem.
func (t *T) Disk(name string, opts string) string {
	idx := -1
	var d image.Disk
	for i, dd := range image.Disks {
		if dd.Name == name {
			idx, d = i, dd
		}
	}
	if idx < 0 {
		t.Fatalf("unknown disk %q", name)
	}
	dev := image.DevicePath(idx)
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

// DropCaches writes back and drops clean page cache and slab objects, so
// a following read must go to the filesystem (or the FUSE server).
func (t *T) DropCaches() {
	unix.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0); err != nil {
		t.Fatalf("drop_caches: %v", err)
	}
}

// Close releases what the environment loaded.
func (e *Env) Close() {
	e.probes.close()
}
