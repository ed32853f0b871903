package pid1

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// newRoot is where SwitchRoot mounts the disk before moving it to /.
const newRoot = "/newroot"

// SwitchRoot makes the filesystem on dev the root of this process, as
// switch_root does for an initramfs: it mounts dev, moves the pseudo
// filesystems Setup mounted under it, copies each file of carry (path in
// the initramfs -> path in the new root, for example the running agent
// into a tmpfs of the new root, since the new root does not hold it) and
// chroots. The initramfs stays underneath, unreachable; the process
// keeps running from memory.
func SwitchRoot(dev, fstype string, carry map[string]string) error {
	if err := os.MkdirAll(newRoot, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(dev, newRoot, fstype, 0, ""); err != nil {
		return fmt.Errorf("mount %s (%s) as the new root: %w", dev, fstype, err)
	}
	// The top-level pseudo filesystems move with what is mounted
	// inside them (tracefs in sysfs...).
	for _, m := range pseudoFS {
		if filepath.Dir(m.target) != "/" {
			continue
		}
		to := filepath.Join(newRoot, m.target)
		if err := os.MkdirAll(to, 0o755); err != nil {
			return fmt.Errorf("switch root: %w", err)
		}
		if err := unix.Mount(m.target, to, "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("switch root: move %s: %w", m.target, err)
		}
	}
	for from, to := range carry {
		if err := copyFile(from, filepath.Join(newRoot, to)); err != nil {
			return fmt.Errorf("switch root: %w", err)
		}
	}
	if err := os.Chdir(newRoot); err != nil {
		return err
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("switch root: move %s to /: %w", newRoot, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("switch root: chroot: %w", err)
	}
	return os.Chdir("/")
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
