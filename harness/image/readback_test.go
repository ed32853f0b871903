package image

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCopyOut writes a tree into an ext4 image with mke2fs -d and reads
// a directory of it back without mounting.
func TestCopyOut(t *testing.T) {
	for _, tool := range []string{"mkfs.ext4", "debugfs", "e2fsck"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian package e2fsprogs)", tool)
		}
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	files := map[string]string{
		"fstests/result.xml":          "<testsuite/>\n",
		"fstests/generic/091.out.bad": "bad\n",
		"fstests/generic/095.full":    "full log\n",
		"elsewhere/not-copied":        "x",
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img := filepath.Join(dir, "results.img")
	d := Disk{Name: "results", SizeMiB: 16, Mkfs: []string{"mkfs.ext4", "-q", "-F", "-d", src}, Package: "e2fsprogs"}
	if err := d.Create(context.Background(), img); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "out")
	if err := CopyOut(context.Background(), img, "/fstests", dest); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	filepath.Walk(dest, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dest, p)
			got[rel] = string(b)
		}
		return nil
	})
	want := map[string]string{
		"fstests/result.xml":          "<testsuite/>\n",
		"fstests/generic/091.out.bad": "bad\n",
		"fstests/generic/095.full":    "full log\n",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("copied out (-want +got):\n%s", d)
	}
	if err := CopyOut(context.Background(), img, "/missing", filepath.Join(dir, "none")); err == nil {
		t.Error("CopyOut of a missing directory succeeded")
	}
}
