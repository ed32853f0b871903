package kernel

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestImageKey: every input changes the key; file names do not.
func TestImageKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1, p2 := write("0001.patch", "one"), write("0002.patch", "two")
	p1renamed := write("v2-0001.patch", "one")
	f1, f2 := write("a.config", "CONFIG_A=y"), write("b.config", "CONFIG_B=y")
	const src, tc = "Debian linux-source-7.3 7.3.4-1~bpo13+1", "gcc 12"
	key := func(source string, patches, frags []string, toolchain string) string {
		k, err := ImageKey(source, patches, frags, toolchain)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ref := key(src, []string{p1, p2}, []string{f1, f2}, tc)
	tests := []struct {
		name string
		key  string
		same bool
	}{
		{"same inputs", key(src, []string{p1, p2}, []string{f1, f2}, tc), true},
		{"a patch file renamed", key(src, []string{p1renamed, p2}, []string{f1, f2}, tc), true},
		{"another Debian version", key("Debian linux-source-7.3 7.3.5-1", []string{p1, p2}, []string{f1, f2}, tc), false},
		{"one patch fewer", key(src, []string{p1}, []string{f1, f2}, tc), false},
		{"patches reordered", key(src, []string{p2, p1}, []string{f1, f2}, tc), false},
		{"fragments reordered", key(src, []string{p1, p2}, []string{f2, f1}, tc), false},
		{"another compiler", key(src, []string{p1, p2}, []string{f1, f2}, "gcc 13"), false},
		{"a patch moved into the fragments", key(src, []string{p2}, []string{p1, f1, f2}, tc), false},
	}
	for _, tc := range tests {
		if got := tc.key == ref; got != tc.same {
			t.Errorf("%s: same key = %v, want %v", tc.name, got, tc.same)
		}
	}
	if _, err := ImageKey(src, []string{filepath.Join(dir, "missing.patch")}, nil, tc); err == nil {
		t.Error("a missing patch: no error")
	}
}

func TestImageCacheRoundTrip(t *testing.T) {
	c := ImageCache{Dir: t.TempDir()}
	if _, ok := c.Lookup("k1"); ok {
		t.Fatal("empty cache: hit")
	}
	bz := filepath.Join(t.TempDir(), "bzImage")
	os.WriteFile(bz, []byte("kernel"), 0o644)
	stored, err := c.Store("k1", Result{BzImage: bz, Release: "7.3.4+"}, "abc")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := c.Lookup("k1")
	if !ok {
		t.Fatal("stored image not found")
	}
	if d := cmp.Diff(stored, got); d != "" {
		t.Errorf("Lookup (-stored +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"7.3.4+", "abc", filepath.Join(c.Dir, "k1", "bzImage")}, []string{got.Release, got.Commit, got.BzImage}); d != "" {
		t.Errorf("image (-want +got):\n%s", d)
	}
	if b, _ := os.ReadFile(got.BzImage); string(b) != "kernel" {
		t.Errorf("cached bzImage = %q", b)
	}
	// Storing the same key again keeps the entry.
	if _, err := c.Store("k1", Result{BzImage: bz, Release: "7.3.4+"}, "abc"); err != nil {
		t.Errorf("second store: %v", err)
	}
	// An entry without its image (a partial copy) is a miss.
	os.Remove(got.BzImage)
	if _, ok := c.Lookup("k1"); ok {
		t.Error("entry without bzImage: hit")
	}
	if _, ok := (ImageCache{}).Lookup("k1"); ok {
		t.Error("disabled cache: hit")
	}
}

// TestHashFiles: contents and labels decide the hash, split points too;
// names do not.
func TestHashFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ab, c, a, bc := write("ab", "ab"), write("c", "c"), write("a", "a"), write("bc", "bc")
	abRenamed := write("ab2", "ab")
	sum := func(label string, files ...string) string {
		h := sha256.New()
		if err := HashFiles(h, label, files...); err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	ref := sum("patch", ab, c)
	for _, tc := range []struct {
		name string
		sum  string
		same bool
	}{
		{"same files", sum("patch", ab, c), true},
		{"a file renamed", sum("patch", abRenamed, c), true},
		{"same bytes split elsewhere", sum("patch", a, bc), false},
		{"another label", sum("fragment", ab, c), false},
	} {
		if got := tc.sum == ref; got != tc.same {
			t.Errorf("%s: same hash = %v, want %v", tc.name, got, tc.same)
		}
	}
	if err := HashFiles(sha256.New(), "patch", filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file: no error")
	}
}
