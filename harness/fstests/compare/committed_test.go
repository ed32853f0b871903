package compare

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCommittedResults: each committed results/fstests-<base>.json
// loads, and it and its .md are what this code writes from it: a change
// of format or rendering rewrites them in the same commit, and a hand
// edit shows.
func TestCommittedResults(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "..", "results", "fstests-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no results/fstests-*.json")
	}
	for _, p := range paths {
		c, err := Load(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		var md, js bytes.Buffer
		if err := c.WriteMarkdown(&md); err != nil {
			t.Fatal(err)
		}
		if err := c.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		for path, got := range map[string]string{p: js.String(), strings.TrimSuffix(p, ".json") + ".md": md.String()} {
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("%s is not what the harness writes from it (-committed +written):\n%s", filepath.Base(path), d)
			}
		}
	}
}
