package series

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/kbase"
	"dioharness/harness/kernel"
)

// TestBootCached: a series whose checks passed before boots every
// patch's cached kernel, says that the static checks were not repeated,
// and reports the boots that failed.
func TestBootCached(t *testing.T) {
	dir := t.TempDir()
	var patches []string
	for i, subj := range []string{"fuse: one", "fuse: two"} {
		p := filepath.Join(dir, []string{"0001.patch", "0002.patch"}[i])
		os.WriteFile(p, []byte("Subject: [PATCH v2 "+[]string{"1", "2"}[i]+"/2] "+subj+"\n\n"), 0o644)
		patches = append(patches, p)
	}
	type boot struct {
		BzImage, Release, Commit, Source string
		Series                           string
		Prior, Subjects                  []string
		I                                int
	}
	var boots []boot
	var log bytes.Buffer
	c := &Checker{
		Sources: &kernel.Sources{Spec: kbase.Spec{Name: "v7.3"}},
		Log:     &log,
		AfterPatch: func(_ context.Context, tr kernel.Tree, built kernel.Result, series string, prior, subjects []string, i int) error {
			boots = append(boots, boot{built.BzImage, built.Release, tr.Commit, tr.Source, series, prior, subjects, i})
			if tr.Variant != (kbase.Variant{Base: "v7.3", Flavour: kbase.Patched}) {
				t.Errorf("boot %d: variant %v", i, tr.Variant)
			}
			if i == 1 {
				return errors.New("the boot did not match")
			}
			return nil
		},
	}
	cc := cachedCheck{
		key: "0123456789abcdef01234567", passed: time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC),
		source: "Debian linux-source-7.3 7.3.4-1~bpo13+1",
		images: []kernel.Image{{BzImage: "/c/k1/bzImage", Release: "7.3.4+", Commit: "c1"}, {BzImage: "/c/k2/bzImage", Release: "7.3.4+", Commit: "c2"}},
	}
	prior := []string{"iomap: zero"}
	failures, err := c.bootCached(context.Background(), "v7.3/fuse", prior, patches, cc)
	if err != nil {
		t.Fatal(err)
	}
	subjects := []string{"fuse: one", "fuse: two"}
	want := []boot{
		{"/c/k1/bzImage", "7.3.4+", "c1", cc.source, "v7.3/fuse", prior, subjects, 0},
		{"/c/k2/bzImage", "7.3.4+", "c2", cc.source, "v7.3/fuse", prior, subjects, 1},
	}
	if d := cmp.Diff(want, boots); d != "" {
		t.Errorf("boots (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"v7.3/fuse: 0002.patch: the boot did not match"}, failures); d != "" {
		t.Errorf("failures (-want +got):\n%s", d)
	}
	if !strings.Contains(log.String(), "passed on 2026-12-01T13:00:00Z with the same inputs (key 0123456789ab); not repeated") {
		t.Errorf("log does not say the checks were not repeated:\n%s", log.String())
	}
}

func TestRecordPass(t *testing.T) {
	c := &Checker{ResultCache: filepath.Join(t.TempDir(), "series-check")}
	if err := c.recordPass("k"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(c.stampPath("k"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b))); err != nil {
		t.Errorf("stamp %q: %v", b, err)
	}
	if err := (&Checker{}).recordPass(""); err != nil {
		t.Errorf("cache off: %v", err)
	}
}
