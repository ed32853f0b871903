package testrun

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"

	"dioharness/harness/kbase"
	"dioharness/harness/kernel"
	"dioharness/harness/kselftest"
)

// CachedImage returns the image cache key of o's kernel (a flavour of a
// base, o from ForBase) built from source, the base source's name
// (kernel.SourceName), and whether the cache holds that image and the
// base's selftests: what a run boots instead of building. Nothing is
// downloaded or built, so a CI job can name its caches before it
// restores them.
func CachedImage(ctx context.Context, o Options, source string) (key string, ok bool, err error) {
	if o.Spec == nil {
		return "", false, fmt.Errorf("kernel %s: no base description (testrun.ForBase)", o.Variant)
	}
	mk, err := MachineKconfig(o.Repo)
	if err != nil {
		return "", false, err
	}
	_, key, ok, err = lookupImage(ctx, o, source, mk)
	return key, ok, err
}

// lookupImage computes the key of o's kernel from its inputs (the
// source, the patches of its flavour, the kconfig fragments in merge
// order, the toolchain) and looks it up, with the base's selftests.
func lookupImage(ctx context.Context, o Options, source, machineKconfig string) (kernel.Image, string, bool, error) {
	var patches []string
	if o.Variant.Flavour != kbase.Base {
		patches = o.Patches
	}
	frags, err := Fragments(o.Repo, machineKconfig, o.Spec)
	if err != nil {
		return kernel.Image{}, "", false, err
	}
	// A kernel with more fragments (make fstests) is another image.
	frags = append(frags, o.ExtraKconfig...)
	keys, err := kernel.NewKeys(ctx, source, frags)
	if err != nil {
		return kernel.Image{}, "", false, err
	}
	key, err := keys.For(patches)
	if err != nil {
		return kernel.Image{}, "", false, err
	}
	img, ok := ImageCache(o).Lookup(key)
	if !ok {
		return img, key, false, nil
	}
	tests, err := kernel.SelftestPatches(*o.Spec)
	if err != nil {
		return img, key, false, err
	}
	if _, ok, err := kselftest.Lookup(source, tests, SelftestDir(o)); err != nil || !ok {
		return img, key, false, err
	}
	return img, key, true, nil
}

// FSTestsKernel returns o for the kernel make fstests boots: the
// fragments of kconfig/fstests/ merged after every other one, built in
// its own O= directory so that it never replaces the scenario kernel.
func FSTestsKernel(o Options) (Options, error) {
	extra, err := filepath.Glob(filepath.Join(o.Repo, "kconfig", "fstests", "*.config"))
	if err != nil || len(extra) == 0 {
		return o, fmt.Errorf("no kconfig fragments in %s", filepath.Join(o.Repo, "kconfig", "fstests"))
	}
	sort.Strings(extra)
	o.ExtraKconfig, o.ObjSuffix = extra, "-fstests"
	return o, nil
}
