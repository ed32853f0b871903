package fstests

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Named is a selection the harness computes from the checkout's own
// files (TESTS=@<name>), so that it follows fstests as tests are added
// or regrouped.
type Named struct {
	Name string
	// About says what it takes, for make help and reports.
	About string
	pick  func(dir string) ([]Pick, error)
}

// namedList are the named selections.
var namedList = []Named{
	{
		Name: "iomap-dio",
		About: "the generic tests in group aio, and the generic tests in group mmap that use direct I/O " +
			"(_require_odirect/_require_aiodio/_require_aio, xfs_io -d, fsx -Z, fio direct=1, dd [io]flag=direct, " +
			"or a src/ program whose C source uses O_DIRECT; comments do not count)",
		pick: iomapDIO,
	},
}

// NamedSelection returns the named selection called name (without @).
func NamedSelection(name string) (Named, bool) {
	i := slices.IndexFunc(namedList, func(n Named) bool { return n.Name == name })
	if i < 0 {
		return Named{}, false
	}
	return namedList[i], true
}

// NamedSelections are every named selection.
func NamedSelections() []Named { return slices.Clone(namedList) }

func namedSelections() []string {
	var out []string
	for _, n := range namedList {
		out = append(out, "@"+n.Name)
	}
	return out
}

// iomapDIO picks the tests that drive iomap's direct I/O against the
// page cache: every generic test of group aio, and the generic tests of
// group mmap that use direct I/O by DirectIO's rules.
func iomapDIO(dir string) ([]Pick, error) {
	groups, err := readGroups(filepath.Join(dir, "tests", "generic"))
	if err != nil {
		return nil, err
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("fstests: no generic tests in %s", dir)
	}
	var out []Pick
	for _, n := range sortedKeys(groups) {
		test := "generic/" + n
		switch g := groups[n]; {
		case slices.Contains(g, "aio"):
			out = append(out, Pick{Test: test, Why: "group aio"})
		case slices.Contains(g, "mmap"):
			ev, err := DirectIO(dir, test)
			if err != nil {
				return nil, err
			}
			if len(ev) == 0 {
				continue
			}
			why := make([]string, len(ev))
			for i, e := range ev {
				why[i] = e.String()
			}
			out = append(out, Pick{Test: test, Why: "group mmap, direct I/O: " + strings.Join(why, "; ")})
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
