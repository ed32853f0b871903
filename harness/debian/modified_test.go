package debian

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestModified(t *testing.T) {
	dir := t.TempDir()
	release := time.Date(2026, 11, 10, 18, 10, 0, 0, time.UTC)
	packaged := time.Date(2026, 11, 15, 22, 30, 0, 0, time.UTC)
	files := map[string]time.Time{
		"Makefile":         packaged,
		"fs/fuse/file.c":   release,
		"fs/fuse/iomode.c": release,
		"fs/namei.c":       packaged,
		"mm/filemap.c":     release,
		"README":           release,
	}
	for name, mt := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	// Directories carry whatever time; they must not count.
	os.Chtimes(filepath.Join(dir, "fs"), packaged, packaged)
	got, err := Modified(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"Makefile", "fs/namei.c"}, got); d != "" {
		t.Errorf("Modified (-want +got):\n%s", d)
	}
}
