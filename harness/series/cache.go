package series

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"dioharness/harness/kernel"
	"dioharness/harness/kselftest"
)

// checkKeyVersion stands in the check key for the harness code that
// applies, builds and checks a series: series' check.go and cache.go and
// package kernel (git am, TouchedFiles, Configure, Build...). A change
// to that code (comments aside) must bump it, so that every series is
// checked again by the new code; TestCheckKeyVersion fails until it is
// bumped and the new code's hash recorded beside it.
const checkKeyVersion = 4

// cachedCheck is what a fresh clone needs to skip the static checks of a
// series (git am, checkpatch, per-patch builds, W=1, sparse) that an
// earlier run passed with exactly the same inputs: the stamp of that
// run and the kernel image built after each patch, which the per-patch
// boots still use.
type cachedCheck struct {
	key    string // the check key; "" when the cache is off
	passed time.Time
	images []kernel.Image // one per patch; nil unless every one is cached
	source string
	note   string
}

// checkInputs computes the check key of one series and looks up its
// stamp and per-patch images. The key covers the base source, the
// toolchain (with sparse), the kconfig fragments, the patches of the
// series it applies on (prior), the series' patches and checkpatch
// exceptions, and the harness code that does the check
// (checkKeyVersion).
func (c *Checker) checkInputs(ctx context.Context, dir string, prior, patches []string) (cachedCheck, []string, error) {
	if c.ResultCache == "" {
		return cachedCheck{}, nil, nil
	}
	source, note, err := c.Sources.Source(ctx)
	if err != nil {
		return cachedCheck{}, nil, err
	}
	keys, err := kernel.NewKeys(ctx, source, c.Fragments)
	if err != nil {
		return cachedCheck{}, nil, err
	}
	sparse := "no sparse"
	if out, err := exec.CommandContext(ctx, "sparse", "--version").Output(); err == nil {
		sparse = strings.TrimSpace(string(out))
	}
	h := sha256.New()
	fmt.Fprintf(h, "dioharness series-check v%d\nsource %s\ntoolchain %s\nsparse %s\n", checkKeyVersion, source, keys.Toolchain, sparse)
	var exceptions []string
	if ex := filepath.Join(dir, "checkpatch-exceptions"); exists(ex) {
		exceptions = []string{ex}
	}
	inputs := []struct {
		label string
		files []string
	}{{"fragment", c.Fragments}, {"applies on", prior}, {"patch", patches}, {"checkpatch-exceptions", exceptions}}
	for _, in := range inputs {
		if err := kernel.HashFiles(h, in.label, in.files...); err != nil {
			return cachedCheck{}, nil, fmt.Errorf("series-check key: %w", err)
		}
	}
	cc := cachedCheck{key: hex.EncodeToString(h.Sum(nil))[:24], source: source, note: note}
	imageKeys := make([]string, len(patches))
	for i := range patches {
		if imageKeys[i], err = keys.For(append(slices.Clone(prior), patches[:i+1]...)); err != nil {
			return cachedCheck{}, nil, err
		}
	}
	b, err := os.ReadFile(c.stampPath(cc.key))
	if err != nil || c.Rebuild {
		return cc, imageKeys, nil
	}
	if cc.passed, err = time.Parse(time.RFC3339, strings.TrimSpace(string(b))); err != nil {
		return cc, imageKeys, nil
	}
	var images []kernel.Image
	for _, k := range imageKeys {
		img, ok := c.Images.Lookup(k)
		if !ok {
			return cc, imageKeys, nil
		}
		images = append(images, img)
	}
	if c.AfterPatch != nil {
		all, err := kernel.SelftestPatches(c.Sources.Spec)
		if err != nil {
			return cachedCheck{}, nil, err
		}
		if _, ok, err := kselftest.Lookup(source, all, c.Selftests); err != nil || !ok {
			return cc, imageKeys, err
		}
	}
	cc.images = images
	return cc, imageKeys, nil
}

func (c *Checker) stampPath(key string) string {
	return filepath.Join(c.ResultCache, key+".passed")
}

// recordPass stamps a series whose static checks all passed.
func (c *Checker) recordPass(key string) error {
	if key == "" {
		return nil
	}
	if err := os.MkdirAll(c.ResultCache, 0o755); err != nil {
		return err
	}
	return os.WriteFile(c.stampPath(key), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
