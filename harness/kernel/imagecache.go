package kernel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ImageCache keeps built kernel images outside the checkout, keyed by
// everything that decides what the build produces: the base source, the
// patches applied in order, the kconfig fragments in merge order and the
// toolchain. A fresh clone on the same machine (CI) then boots the
// kernels an earlier run built instead of checking out and building two
// trees per base, as ccache does for single objects. The base import is
// deterministic (one commit with a fixed author and date), so the Debian
// package and version name the base tree.
type ImageCache struct {
	// Dir holds one directory per key; "" disables the cache.
	Dir string
}

// Image is one cached build.
type Image struct {
	Key string `json:"key"`
	// BzImage is the cached image (in the cache directory).
	BzImage string `json:"-"`
	// Release is the kernel's uname -r.
	Release string `json:"release"`
	// Commit is the tree's commit when it was built.
	Commit string `json:"commit"`
	// Built is when the image was stored.
	Built time.Time `json:"built"`
}

// imageKeyVersion changes when what goes into a key, or how the harness
// configures or builds a kernel (Configure, Build's make arguments),
// changes in a way that alters the image: bump it with such a change.
const imageKeyVersion = "dioharness kernel image v1"

// ImageKey hashes the inputs of a build: source names the base source
// ("Debian linux-source-7.3 7.3.4-1~bpo13+1"), patches are applied in
// order (none for the base), fragments are merged in order, toolchain is
// Toolchain's answer.
func ImageKey(source string, patches, fragments []string, toolchain string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\nsource %s\ntoolchain %s\n", imageKeyVersion, source, toolchain)
	if err := HashFiles(h, "patch", patches...); err != nil {
		return "", fmt.Errorf("image key: %w", err)
	}
	if err := HashFiles(h, "fragment", fragments...); err != nil {
		return "", fmt.Errorf("image key: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// HashFiles writes each file's content to h after a "<label> <length>"
// line, so that lists whose contents concatenate to the same bytes
// still hash apart. The file's name does not go in: it does not decide
// what a build or a check produces; its content does. Every key the
// harness derives from files (images, series-check stamps, selftest
// builds) uses it.
func HashFiles(h io.Writer, label string, files ...string) error {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", label, len(b))
		h.Write(b)
	}
	return nil
}

// Keys computes the image keys of one base source and kconfig, asking
// for the toolchain once: the one way every caller (a run's kernels,
// series-check's per-patch builds) names an image.
type Keys struct {
	Source    string
	Fragments []string
	Toolchain string
}

// NewKeys returns the Keys of source built with fragments by this
// machine's toolchain.
func NewKeys(ctx context.Context, source string, fragments []string) (Keys, error) {
	tc, err := Toolchain(ctx)
	if err != nil {
		return Keys{}, err
	}
	return Keys{Source: source, Fragments: fragments, Toolchain: tc}, nil
}

// For returns the key of the source with patches applied in order.
func (k Keys) For(patches []string) (string, error) {
	return ImageKey(k.Source, patches, k.Fragments, k.Toolchain)
}

// Toolchain names the tools whose versions decide a kernel image: the
// first line of each one's version output.
func Toolchain(ctx context.Context) (string, error) {
	var parts []string
	for _, tool := range [][]string{{"gcc", "--version"}, {"ld", "--version"}, {"pahole", "--version"}, {"make", "--version"}} {
		out, err := exec.CommandContext(ctx, tool[0], tool[1:]...).Output()
		if err != nil {
			return "", fmt.Errorf("toolchain: %s %s: %w", tool[0], tool[1], err)
		}
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		parts = append(parts, line)
	}
	return strings.Join(parts, "; "), nil
}

// Lookup returns the image stored under key.
func (c ImageCache) Lookup(key string) (Image, bool) {
	if c.Dir == "" {
		return Image{}, false
	}
	dir := filepath.Join(c.Dir, key)
	b, err := os.ReadFile(filepath.Join(dir, "image.json"))
	if err != nil {
		return Image{}, false
	}
	var img Image
	if json.Unmarshal(b, &img) != nil || img.Key != key {
		return Image{}, false
	}
	img.BzImage = filepath.Join(dir, "bzImage")
	if _, err := os.Stat(img.BzImage); err != nil {
		return Image{}, false
	}
	return img, true
}

// Store copies a built image into the cache under key. The entry
// appears whole or not at all (written aside, then renamed).
func (c ImageCache) Store(key string, res Result, commit string) (Image, error) {
	if c.Dir == "" {
		return Image{}, errors.New("image cache disabled")
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return Image{}, err
	}
	tmp, err := os.MkdirTemp(c.Dir, key+".tmp-")
	if err != nil {
		return Image{}, err
	}
	defer os.RemoveAll(tmp)
	if err := copyFile(res.BzImage, filepath.Join(tmp, "bzImage")); err != nil {
		return Image{}, fmt.Errorf("image cache: %w", err)
	}
	img := Image{Key: key, Release: res.Release, Commit: commit, Built: time.Now().UTC().Truncate(time.Second)}
	b, err := json.MarshalIndent(img, "", "  ")
	if err != nil {
		return Image{}, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "image.json"), append(b, '\n'), 0o644); err != nil {
		return Image{}, err
	}
	dir := filepath.Join(c.Dir, key)
	// Another run may have stored the same key meanwhile: same inputs,
	// same image; keep the one that is there.
	if err := os.Rename(tmp, dir); err != nil {
		if got, ok := c.Lookup(key); ok {
			return got, nil
		}
		return Image{}, fmt.Errorf("image cache: %w", err)
	}
	img.BzImage = filepath.Join(dir, "bzImage")
	return img, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
