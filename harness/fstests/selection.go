package fstests

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Selection is TESTS=: the way check takes tests, either named
// ("generic/091 generic/095") or by group ("-g quick", "-g auto -x
// dangerous"), or one of the harness's named selections ("@iomap-dio",
// see Named), computed from the checkout. The harness expands it into a
// list on the host: the guest runs check once per test.
type Selection struct {
	Tests   []string
	Groups  []string
	Exclude []string
	// Named is a named selection's name, without the @.
	Named string
}

// testName is a test as check names it: a tests/ subdirectory and the
// test's file name (common/rc's VALID_TEST_NAME).
var testName = regexp.MustCompile(`^[a-z0-9]+/[0-9]{3}(-[[:alnum:]-]+)?$`)

// ParseSelection reads TESTS=.
func ParseSelection(s string) (Selection, error) {
	var sel Selection
	f := strings.Fields(s)
	if len(f) > 0 && strings.HasPrefix(f[0], "@") {
		n, ok := NamedSelection(strings.TrimPrefix(f[0], "@"))
		switch {
		case !ok:
			return Selection{}, fmt.Errorf("bad TESTS %q: no selection %s, want one of %s", s, f[0], strings.Join(namedSelections(), ", "))
		case len(f) > 1:
			return Selection{}, fmt.Errorf("bad TESTS %q: %s stands alone", s, f[0])
		}
		return Selection{Named: n.Name}, nil
	}
	for i := 0; i < len(f); i++ {
		switch w := f[i]; {
		case strings.HasPrefix(w, "@"):
			return Selection{}, fmt.Errorf("bad TESTS %q: %s stands alone", s, w)
		case w == "-g" || w == "-x":
			if i+1 == len(f) {
				return Selection{}, fmt.Errorf("bad TESTS %q: %s needs a group", s, w)
			}
			i++
			for _, g := range strings.Split(f[i], ",") {
				if w == "-g" {
					sel.Groups = append(sel.Groups, g)
				} else {
					sel.Exclude = append(sel.Exclude, g)
				}
			}
		case strings.HasPrefix(w, "-"):
			return Selection{}, fmt.Errorf("bad TESTS %q: only -g and -x are understood, not %s", s, w)
		case !testName.MatchString(w):
			return Selection{}, fmt.Errorf("bad TESTS %q: %q is not a test name like generic/091", s, w)
		default:
			if !slices.Contains(sel.Tests, w) {
				sel.Tests = append(sel.Tests, w)
			}
		}
	}
	if len(sel.Tests) == 0 && len(sel.Groups) == 0 {
		return Selection{}, fmt.Errorf("bad TESTS %q: name tests (generic/091) or groups (-g quick)", s)
	}
	if len(sel.Tests) > 0 && len(sel.Groups) > 0 {
		return Selection{}, fmt.Errorf("bad TESTS %q: name tests or groups, not both", s)
	}
	return sel, nil
}

// String is the selection as TESTS= would say it.
func (sel Selection) String() string {
	if sel.Named != "" {
		return "@" + sel.Named
	}
	if len(sel.Tests) > 0 {
		return strings.Join(sel.Tests, " ")
	}
	s := "-g " + strings.Join(sel.Groups, ",")
	if len(sel.Exclude) > 0 {
		s += " -x " + strings.Join(sel.Exclude, ",")
	}
	return s
}

// Expand lists the tests sel selects for setup s from the fstests
// checkout at dir, in check's order (see Picks).
func (sel Selection) Expand(dir string, s Setup) ([]string, error) {
	picks, err := sel.Picks(dir, s)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(picks))
	for i, p := range picks {
		out[i] = p.Test
	}
	return out, nil
}

// Pick is a test a selection takes and why.
type Pick struct {
	Test string `json:"test"`
	// Why is the rule that took it: "named", "group quick", or a named
	// selection's rule ("group mmap; xfs_io -d (line 40)").
	Why string `json:"why"`
}

// Picks lists the tests sel selects for setup s from the fstests
// checkout at dir, in check's order, each with the rule that took it.
// Named tests are taken as they are (check reports the ones that do not
// apply to the filesystem as not run); groups are looked up as check
// does, in tests/generic and the directory of the setup's FSTYP, from
// each test's _begin_fstest line; a named selection computes its list
// from the checkout. Each named test must exist.
func (sel Selection) Picks(dir string, s Setup) ([]Pick, error) {
	if sel.Named != "" {
		n, ok := NamedSelection(sel.Named)
		if !ok {
			return nil, fmt.Errorf("TESTS: no selection @%s", sel.Named)
		}
		picks, err := n.pick(dir)
		if err != nil {
			return nil, err
		}
		if len(picks) == 0 {
			return nil, fmt.Errorf("TESTS=@%s selects no test in %s", n.Name, dir)
		}
		return picks, nil
	}
	if len(sel.Tests) > 0 {
		var out []Pick
		for _, t := range sel.Tests {
			if _, err := os.Stat(filepath.Join(dir, "tests", t)); err != nil {
				return nil, fmt.Errorf("TESTS: no test %s in %s", t, dir)
			}
			out = append(out, Pick{Test: t, Why: "named"})
		}
		return out, nil
	}
	var out []Pick
	for _, d := range []string{"generic", s.FSTYP} {
		groups, err := readGroups(filepath.Join(dir, "tests", d))
		if err != nil {
			return nil, err
		}
		for _, n := range sortedKeys(groups) {
			g := groups[n]
			if intersects(g, sel.Groups) && !intersects(g, sel.Exclude) {
				out = append(out, Pick{Test: d + "/" + n, Why: "group " + strings.Join(common(g, sel.Groups), ",")})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("TESTS=%q selects no test for %s in %s", sel.String(), s.Name, dir)
	}
	return out, nil
}

// readGroups maps each test of one tests/ subdirectory to its groups;
// a directory that does not exist (tests/fuse) has none.
func readGroups(dir string) (map[string][]string, error) {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read fstests tests: %w", err)
	}
	out := map[string][]string{}
	for _, e := range ents {
		if e.IsDir() || !testName.MatchString("x/"+e.Name()) {
			continue
		}
		g, err := fileGroups(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if g != nil {
			out[e.Name()] = g
		}
	}
	return out, nil
}

// fileGroups reads the groups from a test's "_begin_fstest g1 g2" line.
func fileGroups(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "_begin_fstest"); ok {
			return strings.Fields(rest), nil
		}
	}
	return nil, sc.Err()
}

// common are the elements of a that are in b, in a's order.
func common(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}
