package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Disk is a filesystem image attached to the guest. The plan tells the
// guest each disk's name, device and filesystem (guestproto.Disk).
type Disk struct {
	// Name is what scenarios ask for ("ext4", "xfs", "ext4-noextent").
	Name string
	// FSType is the type to mount with.
	FSType string
	// SizeMiB is the sparse image size.
	SizeMiB int64
	// Mkfs is the command that formats the image, which is appended.
	Mkfs []string
	// Package provides the mkfs command.
	Package string
}

// Disks are the images every run attaches, in device order.
var Disks = []Disk{
	{Name: "ext4", FSType: "ext4", SizeMiB: 256, Mkfs: []string{"mkfs.ext4", "-q", "-F", "-L", "dioext4"}, Package: "e2fsprogs"},
	{Name: "xfs", FSType: "xfs", SizeMiB: 320, Mkfs: []string{"mkfs.xfs", "-q", "-f", "-L", "dioxfs"}, Package: "xfsprogs"},
	// A non-extent (ext3-format) ext4: a direct write into a hole inside
	// EOF returns -ENOTBLK from ext4_iomap_begin and falls back to
	// buffered I/O.
	{Name: "ext4-noextent", FSType: "ext4", SizeMiB: 128, Mkfs: []string{"mkfs.ext4", "-q", "-F", "-O", "^extent,^64bit,^flex_bg", "-L", "dionoext"}, Package: "e2fsprogs"},
}

// Make creates fresh images of all disks in dir and returns their paths
// in device order. Images are recreated for every run: the guest writes
// to them.
func Make(ctx context.Context, dir string) ([]string, error) {
	var paths []string
	for _, d := range Disks {
		p := filepath.Join(dir, d.Name+".img")
		if err := d.Create(ctx, p); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// Create makes the disk's image at path: a fresh sparse file of SizeMiB,
// formatted with Mkfs unless Mkfs is empty (a blank disk the guest
// formats itself).
func (d Disk) Create(ctx context.Context, path string) error {
	if len(d.Mkfs) > 0 {
		if _, err := exec.LookPath(d.Mkfs[0]); err != nil {
			return fmt.Errorf("%s not found: install Debian package %s (make deps)", d.Mkfs[0], d.Package)
		}
	}
	os.Remove(path)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("disk %s: %w", d.Name, err)
	}
	err = f.Truncate(d.SizeMiB << 20)
	f.Close()
	if err != nil {
		return fmt.Errorf("disk %s: %w", d.Name, err)
	}
	if len(d.Mkfs) == 0 {
		return nil
	}
	args := append(append([]string{}, d.Mkfs[1:]...), path)
	if out, err := exec.CommandContext(ctx, d.Mkfs[0], args...).CombinedOutput(); err != nil {
		return fmt.Errorf("disk %s: %s: %w: %s", d.Name, d.Mkfs[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}
