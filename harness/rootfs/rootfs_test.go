package rootfs

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkout makes a small git checkout with a tracked file, an ignored
// build output and an untracked source file.
func checkout(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	files := map[string]string{
		"check":                 "#!/bin/bash\n",
		"common/rc":             "rc\n",
		"tests/generic/001":     "test\n",
		".gitignore":            "*.o\n",
		"src/fsx.o":             "object\n",
		"src/new.c":             "untracked\n",
		"tests/generic/001.out": "QA output\n",
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "check"), 0o755)
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "check", "common", "tests", ".gitignore"},
		{"-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "x"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	return dir
}

func TestCheckoutFilesAndKey(t *testing.T) {
	dir := checkout(t)
	files, err := checkoutFiles(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".gitignore", "check", "common/rc", "src/new.c", "tests/generic/001", "tests/generic/001.out"}
	if d := cmp.Diff(want, files); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	h1, err := hashFiles(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{Suite: "bookworm", Packages: []string{"xfsprogs", "fio"}}
	k1 := Key(spec, h1)
	// The package order and the mirror do not matter; content does.
	spec2 := Spec{Suite: "bookworm", Mirror: "http://elsewhere.invalid/debian", Packages: []string{"fio", "xfsprogs"}}
	if k := Key(spec2, h1); k != k1 {
		t.Errorf("key changed with package order or mirror: %s vs %s", k, k1)
	}
	if err := os.WriteFile(filepath.Join(dir, "common/rc"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h2, _ := hashFiles(dir, files)
	if Key(spec, h2) == k1 {
		t.Error("key did not change with a local change to the checkout")
	}
	if k := Key(Spec{Suite: "trixie", Packages: spec.Packages}, h1); k == k1 || !strings.HasPrefix(k, "trixie-") {
		t.Errorf("key for another suite: %s (bookworm: %s)", k, k1)
	}
	if d := describe(context.Background(), dir, h2); !strings.Contains(d, "-dirty") {
		t.Errorf("describe of a checkout with local changes = %q, want -dirty", d)
	}
	dest := t.TempDir()
	if err := copyFiles(dir, dest, files); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "check")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("copied check: %v, %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(dest, "src/fsx.o")); err == nil {
		t.Error("an ignored build output was copied")
	}
}

func TestCheckFSTests(t *testing.T) {
	if err := CheckFSTests(""); err == nil || err.Error() != HowToGet {
		t.Errorf("CheckFSTests(\"\") = %v, want the one line saying how to get a checkout", err)
	}
	if err := CheckFSTests(t.TempDir()); err == nil || !strings.Contains(err.Error(), "is not an fstests checkout") {
		t.Errorf("CheckFSTests(empty dir) = %v", err)
	}
	if err := CheckFSTests(checkout(t)); err != nil {
		t.Errorf("CheckFSTests(checkout) = %v", err)
	}
}

// TestRemoveTreeDetachesMounts: a build killed with the chroot's mounts
// in place is cleaned up without descending into them.
func TestRemoveTreeDetachesMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "build", "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	// Left mounted on purpose: /dev is bound into the tree.
	if _, err := enterChroot(root); err != nil {
		t.Fatal(err)
	}
	if err := removeTree(filepath.Join(dir, "build")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "build")); !os.IsNotExist(err) {
		t.Errorf("build tree still there: %v", err)
	}
	if _, err := os.Stat("/dev/null"); err != nil {
		t.Errorf("/dev/null gone: %v", err)
	}
}
