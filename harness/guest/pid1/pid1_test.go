package pid1

import (
	"strings"
	"testing"
)

// TestPseudoFSOrder: a mount point inside another pseudo filesystem
// (tracefs in sysfs) must come after it, or it would be hidden.
func TestPseudoFSOrder(t *testing.T) {
	for i, m := range pseudoFS {
		for j, parent := range pseudoFS {
			if strings.HasPrefix(m.target, parent.target+"/") && j > i {
				t.Errorf("%s (entry %d) is mounted before its parent %s (entry %d)", m.target, i, parent.target, j)
			}
		}
	}
	seen := map[string]bool{}
	for _, m := range pseudoFS {
		if seen[m.target] {
			t.Errorf("%s mounted twice", m.target)
		}
		seen[m.target] = true
	}
}
