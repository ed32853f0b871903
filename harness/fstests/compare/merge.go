package compare

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"dioharness/harness/fstests"
)

// Load reads a comparison written by WriteJSON (a committed
// results/fstests-<base>.json).
func Load(path string) (Comparison, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Comparison{}, fmt.Errorf("fstests: load comparison: %w", err)
	}
	var j comparisonJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return Comparison{}, fmt.Errorf("fstests: load comparison %s: %w", path, err)
	}
	c := j.Comparison
	c.Setups, c.Rows, c.Columns = nil, nil, nil
	for _, s := range j.Setups {
		setup := fstests.Setup{Name: s.Name, FSTYP: s.FSTYP, About: s.About}
		if i := slices.IndexFunc(fstests.Setups, func(k fstests.Setup) bool { return k.Name == s.Name }); i >= 0 {
			setup = fstests.Setups[i]
		}
		c.Setups = append(c.Setups, setup)
	}
	for _, cj := range j.Columns {
		col := cj.Column
		col.Time = map[string]time.Duration{}
		for s, sec := range cj.Seconds {
			col.Time[s] = time.Duration(sec) * time.Second
		}
		c.Columns = append(c.Columns, col)
	}
	for _, rj := range j.Rows {
		r := Row{Setup: rj.Setup, Test: rj.Test, Cells: map[string]Cell{}}
		for f, cell := range rj.Cells {
			cl := cell.Cell
			cl.Duration = time.Duration(cell.Seconds) * time.Second
			r.Cells[f] = cl
		}
		c.Rows = append(c.Rows, r)
	}
	if c.Base == "" || len(c.Columns) == 0 {
		return Comparison{}, fmt.Errorf("fstests: load comparison %s: no base or no kernels", path)
	}
	return c, nil
}

// Merge adds the setups of next to c, replacing c's runs of any setup
// next also ran. Both must compare one base with the same tests, the
// same fstests and root disk, and per flavour the same kernel release
// from the same source; where the builds' commits differ (git am stamps
// the date), the column names each build with the setups it ran.
func Merge(c, next Comparison) (Comparison, error) {
	switch {
	case c.Base != next.Base:
		return c, fmt.Errorf("fstests: merge: bases %s and %s", c.Base, next.Base)
	case c.Tests != next.Tests:
		return c, fmt.Errorf("fstests: merge: tests %q and %q", c.Tests, next.Tests)
	case c.FSTests != next.FSTests || c.Root != next.Root:
		return c, fmt.Errorf("fstests: merge: fstests %q on %s and %q on %s", c.FSTests, c.Root, next.FSTests, next.Root)
	}
	out := c
	out.Columns = slices.Clone(c.Columns)
	for _, nc := range next.Columns {
		i := slices.IndexFunc(out.Columns, func(col Column) bool { return col.Flavour == nc.Flavour })
		if i < 0 {
			return c, fmt.Errorf("fstests: merge: %s kernel %s is not in the comparison", nc.Flavour, nc.Kernel)
		}
		col := out.Columns[i]
		if release(col.Kernel) != release(nc.Kernel) || col.Source != nc.Source {
			return c, fmt.Errorf("fstests: merge: %s kernel %s (%s), the new runs %s (%s)", nc.Flavour, col.Kernel, col.Source, nc.Kernel, nc.Source)
		}
		if col.Kernel != nc.Kernel {
			// The same release from the same source, built from
			// another commit of the tree (git am stamps the date):
			// the column names both builds and what each ran.
			col.Kernel = fmt.Sprintf("%s (%s); %s (%s)", col.Kernel, setupList(c.Setups, next.Setups, false), nc.Kernel, setupList(next.Setups, nil, true))
		}
		t := map[string]time.Duration{}
		for s, d := range col.Time {
			t[s] = d
		}
		for s, d := range nc.Time {
			t[s] = d
		}
		col.Time = t
		out.Columns[i] = col
	}
	replaced := map[string]bool{}
	for _, s := range next.Setups {
		replaced[s.Name] = true
	}
	out.Setups = nil
	for _, s := range c.Setups {
		if !replaced[s.Name] {
			out.Setups = append(out.Setups, s)
		}
	}
	out.Setups = append(out.Setups, next.Setups...)
	out.Rows = nil
	for _, r := range c.Rows {
		if !replaced[r.Setup] {
			out.Rows = append(out.Rows, r)
		}
	}
	out.Rows = append(out.Rows, next.Rows...)
	// Both lists say "<flavour> <setup>: ...".
	kept := func(notes []string) []string {
		var k []string
		for _, n := range notes {
			if _, rest, ok := strings.Cut(n, " "); ok {
				if setup, _, ok := strings.Cut(rest, ":"); ok && replaced[setup] {
					continue
				}
			}
			k = append(k, n)
		}
		return k
	}
	out.Infra = append(kept(c.Infra), next.Infra...)
	out.Unattributed = append(kept(c.Unattributed), next.Unattributed...)
	return out, nil
}

// release is the kernel release of a column's "release commit" label.
func release(kernel string) string {
	f := strings.Fields(kernel)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// setupList names the setups of ss, leaving out those in drop unless all.
func setupList(ss, drop []fstests.Setup, all bool) string {
	var names []string
	for _, s := range ss {
		if all || !slices.ContainsFunc(drop, func(d fstests.Setup) bool { return d.Name == s.Name }) {
			names = append(names, s.Name)
		}
	}
	return strings.Join(names, ", ")
}

// Overwrites says what writing next in place of committed (a committed
// results/fstests-<base>.json) would lose, "" when nothing: the rows of
// a committed setup that the new runs (ran: their setups) replace, a
// committed setup next leaves out, and committed tests next does not
// run. A fold that only adds setups loses nothing.
func Overwrites(committed, next Comparison, ran []string) string {
	kept := map[string]bool{}
	for _, s := range setupNames(next) {
		kept[s] = true
	}
	var replaced, dropped []string
	for _, s := range setupNames(committed) {
		switch {
		case slices.Contains(ran, s):
			replaced = append(replaced, s)
		case !kept[s]:
			dropped = append(dropped, s)
		}
	}
	var parts []string
	if len(replaced) > 0 {
		parts = append(parts, "replace the committed runs of "+strings.Join(replaced, ", "))
	}
	if len(dropped) > 0 {
		parts = append(parts, "drop "+strings.Join(dropped, ", "))
	}
	if committed.Tests != next.Tests {
		parts = append(parts, fmt.Sprintf("change its tests from %q to %q", committed.Tests, next.Tests))
	}
	return strings.Join(parts, ", ")
}

// setupNames are the setups of c, in order: its Setups, else those its
// rows name.
func setupNames(c Comparison) []string {
	var out []string
	for _, s := range c.Setups {
		out = append(out, s.Name)
	}
	for _, r := range c.Rows {
		if !slices.Contains(out, r.Setup) {
			out = append(out, r.Setup)
		}
	}
	return out
}
