package debian

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"time"
)

// Modified lists the files of a freshly unpacked linux-source tree that
// Debian's own patches created or changed, relative to dir, sorted.
//
// Debian makes linux-source-X.Y from the upstream release tarball, in
// which every file carries the release's timestamp, plus its quilt
// patches; the tarball is written with mtimes clamped to the package's
// SOURCE_DATE_EPOCH, so every file a patch touched carries that later
// timestamp instead. The most common file mtime is therefore upstream's,
// and any other one marks Debian's hand. Call it before anything else
// writes into the tree.
func Modified(dir string) ([]string, error) {
	mtimes := map[string]time.Time{}
	count := map[time.Time]int{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		t := fi.ModTime().Truncate(time.Second)
		mtimes[rel] = t
		count[t]++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	var upstream time.Time
	for t, n := range count {
		if n > count[upstream] {
			upstream = t
		}
	}
	var out []string
	for p, t := range mtimes {
		if !t.Equal(upstream) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}
