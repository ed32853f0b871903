package testrun

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSeedObj: a missing second object directory starts as a copy of a
// built first one, with the objects' times kept (make compares them
// with the sources); an existing one, or a first one with no kernel,
// is left alone.
func TestSeedObj(t *testing.T) {
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	write := func(p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "_obj"), filepath.Join(dir, "_obj-fstests")

	// No kernel built in src: nothing to start from.
	write(filepath.Join(src, "fs", "fuse", "file.o"), "obj")
	if err := seedObj(ctx, src, dst, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Fatalf("seeded from an unbuilt directory: %v", err)
	}

	write(filepath.Join(src, "arch", "x86", "boot", "bzImage"), "kernel")
	if err := seedObj(ctx, src, dst, io.Discard); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dst, "fs", "fuse", "file.o"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(old, fi.ModTime().UTC()); d != "" {
		t.Errorf("copied object's time (-want +got):\n%s", d)
	}

	// An existing directory is the build's own: never replaced.
	write(filepath.Join(src, "fs", "fuse", "file.o"), "newer")
	if err := seedObj(ctx, src, dst, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dst, "fs", "fuse", "file.o"))
	if err != nil || string(b) != "obj" {
		t.Errorf("existing directory changed: %q, %v", b, err)
	}
}
