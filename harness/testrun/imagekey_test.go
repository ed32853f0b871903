package testrun

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"dioharness/harness/kbase"
	"dioharness/harness/kernel"
	"dioharness/harness/kselftest"
)

// TestCachedImage checks that the key CachedImage names (what ci-keys
// prints for a CI cache) is the one a run looks its kernel up under: an
// image stored under it, with the base's selftests, is found; each
// flavour and the fstests kernel have keys of their own.
func TestCachedImage(t *testing.T) {
	if _, err := kernel.Toolchain(context.Background()); err != nil {
		t.Skipf("no toolchain to key images with: %v (make deps)", err)
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	set, err := kbase.Load(repo)
	if err != nil {
		t.Fatal(err)
	}
	spec := set[0]
	const source = "Debian linux-source-0.0 0.0-1"
	o, err := ForBase(Options{Repo: repo, Cache: t.TempDir(), Out: io.Discard,
		Variant: kbase.Variant{Base: spec.Name, Flavour: kbase.Patched}}, spec)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key, ok, err := CachedImage(ctx, o, source)
	if err != nil || ok || len(key) != 24 {
		t.Fatalf("empty cache: key %q, cached %v, err %v; want a 24-character key, not cached", key, ok, err)
	}
	bz := filepath.Join(t.TempDir(), "bzImage")
	if err := os.WriteFile(bz, []byte("kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ImageCache(o).Store(key, kernel.Result{BzImage: bz, Release: "0.0.0"}, "c0ffee"); err != nil {
		t.Fatal(err)
	}
	tests, err := kernel.SelftestPatches(spec)
	if err != nil {
		t.Fatal(err)
	}
	bins, _, err := kselftest.Lookup(source, tests, SelftestDir(o))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := CachedImage(ctx, o, source); ok != (len(bins) == 0) {
		t.Errorf("image without its selftests: cached %v, want %v (%d selftests)", ok, len(bins) == 0, len(bins))
	}
	for _, b := range bins {
		if err := os.MkdirAll(filepath.Dir(b.Path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(b.Path, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got, ok, err := CachedImage(ctx, o, source); err != nil || !ok || got != key {
		t.Errorf("after storing: key %q, cached %v, err %v; want %q cached", got, ok, err, key)
	}
	img, key2, ok, err := lookupImage(ctx, o, source, mustMachineKconfig(t, repo))
	if err != nil || !ok || key2 != key || img.Release != "0.0.0" {
		t.Errorf("the run's lookup: %+v %q %v %v, want the stored image under %q", img, key2, ok, err, key)
	}

	base := o
	base.Variant.Flavour = kbase.Base
	fst, err := FSTestsKernel(o)
	if err != nil {
		t.Fatal(err)
	}
	for name, other := range map[string]Options{"base flavour": base, "fstests kernel": fst, "another source": o} {
		src := source
		if name == "another source" {
			src += "+1"
		}
		k, ok, err := CachedImage(ctx, other, src)
		if err != nil || ok || k == key {
			t.Errorf("%s: key %q, cached %v, err %v; want a key of its own, not cached", name, k, ok, err)
		}
	}
}

func mustMachineKconfig(t *testing.T, repo string) string {
	t.Helper()
	mk, err := MachineKconfig(repo)
	if err != nil {
		t.Fatal(err)
	}
	return mk
}
