package kernel

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// A kernel tree with its tailored build takes about 3 GiB (checkout
// 1.5 GiB, objects, vmlinux with BTF); a build in an existing tree needs
// room for vmlinux and its intermediate links.
const (
	treeSpace  = 4 << 30
	buildSpace = 1 << 30
)

// checkSpace fails with one line naming dir, what is free and what is
// needed when the file system holding dir has less than need bytes
// free: a full disk otherwise shows up as a linker or git error deep in
// a log.
func checkSpace(dir string, need uint64) error {
	// The nearest existing ancestor tells the file system.
	d := dir
	for {
		if _, err := os.Stat(d); err == nil {
			break
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	var st unix.Statfs_t
	if err := unix.Statfs(d, &st); err != nil {
		return fmt.Errorf("free space in %s: %w", d, err)
	}
	free := st.Bavail * uint64(st.Bsize)
	if free < need {
		return fmt.Errorf("not enough disk space for %s: %.1f GiB free, about %.0f GiB needed (remove old trees with make clean, or set BUILD elsewhere)",
			dir, float64(free)/(1<<30), float64(need)/(1<<30))
	}
	return nil
}
