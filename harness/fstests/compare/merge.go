package compare

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"dioharness/harness/fstests"
	"dioharness/harness/verdict"
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
	if j.Format != Format {
		return Comparison{}, fmt.Errorf("fstests: load comparison %s: format %d, this harness reads format %d", path, j.Format, Format)
	}
	c := Comparison{Base: j.Base, FSTests: j.FSTests, Root: j.Root, Columns: j.Columns, Infra: j.Infra, Unattributed: j.Unattributed}
	for _, s := range j.Setups {
		setup := fstests.Setup{Name: s.Name, FSTYP: s.FSTYP, About: s.About}
		if known, ok := fstests.SetupNamed(s.Name); ok {
			setup = known
		}
		c.Setups = append(c.Setups, setup)
	}
	for _, pj := range j.Parts {
		p := Part{Tests: pj.Tests, Setup: pj.Setup, Count: pj.Count, Kernels: pj.Kernels, Dirs: pj.Dirs, Picks: pj.Picks,
			Time: map[string]time.Duration{}}
		for f, sec := range pj.Seconds {
			p.Time[f] = time.Duration(sec) * time.Second
		}
		c.Parts = append(c.Parts, p)
	}
	for _, rj := range j.Rows {
		r := Row{Tests: rj.Tests, Setup: rj.Setup, Test: rj.Test, Cells: map[string]Cell{}}
		for f, cell := range rj.Cells {
			cl := cell.Cell
			cl.Duration = time.Duration(cell.Seconds) * time.Second
			r.Cells[f] = cl
		}
		c.Rows = append(c.Rows, r)
	}
	if err := c.check(); err != nil {
		return Comparison{}, fmt.Errorf("fstests: load comparison %s: %w", path, err)
	}
	return c, nil
}

// check is what a comparison must hold: a base and kernels, every row
// in a run, every run with its setup.
func (c Comparison) check() error {
	if c.Base == "" || len(c.Columns) == 0 || len(c.Parts) == 0 {
		return fmt.Errorf("no base, no kernels or no runs")
	}
	for _, r := range c.Rows {
		if !slices.ContainsFunc(c.Parts, func(p Part) bool { return p.Tests == r.Tests && p.Setup == r.Setup }) {
			return fmt.Errorf("%s %s (TESTS=%s) belongs to no run", r.Setup, r.Test, r.Tests)
		}
	}
	for _, p := range c.Parts {
		if !slices.ContainsFunc(c.Setups, func(s fstests.Setup) bool { return s.Name == p.Setup }) {
			return fmt.Errorf("run TESTS=%s on %s: no such setup", p.Tests, p.Setup)
		}
	}
	return nil
}

// Merge adds the runs of next to c: a selection on a setup that next
// ran replaces c's run of the same selection on that setup; the other
// runs of c are kept, so that a table can gather selections run at
// different times. Both must compare one base with the same fstests and
// root disk, and per flavour the same kernel release from the same
// source; each run names its own build (git am stamps the date, and a
// series may have changed since).
func Merge(c, next Comparison) (Comparison, error) {
	switch {
	case c.Base != next.Base:
		return c, fmt.Errorf("fstests: merge: bases %s and %s", c.Base, next.Base)
	case c.FSTests != next.FSTests || c.Root != next.Root:
		return c, fmt.Errorf("fstests: merge: fstests %q on %s and %q on %s", c.FSTests, c.Root, next.FSTests, next.Root)
	}
	for _, nc := range next.Columns {
		i := slices.IndexFunc(c.Columns, func(col Column) bool { return col.Flavour == nc.Flavour })
		if i < 0 {
			return c, fmt.Errorf("fstests: merge: the %s kernel (%s) is not in the comparison", nc.Flavour, nc.Release)
		}
		if col := c.Columns[i]; col.Release != nc.Release || col.Source != nc.Source {
			return c, fmt.Errorf("fstests: merge: %s kernel %s (%s), the new runs %s (%s)", nc.Flavour, col.Release, col.Source, nc.Release, nc.Source)
		}
	}
	replaced := func(tests, setup string) bool {
		return slices.ContainsFunc(next.Parts, func(p Part) bool { return p.Tests == tests && p.Setup == setup })
	}
	out := c
	out.Columns = slices.Clone(c.Columns)
	out.Setups = slices.Clone(c.Setups)
	for _, s := range next.Setups {
		if !slices.ContainsFunc(out.Setups, func(o fstests.Setup) bool { return o.Name == s.Name }) {
			out.Setups = append(out.Setups, s)
		}
	}
	out.Parts = nil
	for _, p := range c.Parts {
		if !replaced(p.Tests, p.Setup) {
			out.Parts = append(out.Parts, p)
		}
	}
	out.Parts = append(out.Parts, next.Parts...)
	out.Rows = nil
	for _, r := range c.Rows {
		if !replaced(r.Tests, r.Setup) {
			out.Rows = append(out.Rows, r)
		}
	}
	// A flavour the new runs lack is missing from them, not passed.
	for _, r := range next.Rows {
		r.Cells = maps.Clone(r.Cells)
		for _, col := range out.Columns {
			if _, ok := r.Cells[col.Flavour]; !ok {
				r.Cells[col.Flavour] = Cell{Verdict: verdict.Missing}
			}
		}
		out.Rows = append(out.Rows, r)
	}
	kept := func(notes []Note) []Note {
		var k []Note
		for _, n := range notes {
			if !replaced(n.Tests, n.Setup) {
				k = append(k, n)
			}
		}
		return k
	}
	out.Infra = append(kept(c.Infra), next.Infra...)
	out.Unattributed = append(kept(c.Unattributed), next.Unattributed...)
	return out, out.check()
}

// release is the kernel release of a "release commit" label.
func release(kernel string) string {
	f := strings.Fields(kernel)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// Dropped says what writing next in place of c would lose of c: each
// run of c that next does not keep as it is (dropped, replaced by
// another run of the same selection on the same setup, or cut to fewer
// tests), one phrase each, in c's order. A fold that only adds runs
// drops nothing.
func Dropped(c, next Comparison) []string {
	var out []string
	for _, p := range c.Parts {
		i := slices.IndexFunc(next.Parts, func(q Part) bool { return q.Tests == p.Tests && q.Setup == p.Setup })
		if i < 0 {
			out = append(out, fmt.Sprintf("drop its run of TESTS=%s on %s", p.Tests, p.Setup))
			continue
		}
		q := next.Parts[i]
		was, now := c.partRows(p), next.partRows(q)
		if sameRun(p, q, was, now) {
			continue
		}
		if len(now) < len(was) {
			out = append(out, fmt.Sprintf("cut its run of TESTS=%s on %s from %d tests to %d", p.Tests, p.Setup, len(was), len(now)))
			continue
		}
		out = append(out, fmt.Sprintf("replace its run of TESTS=%s on %s (%s) by another (%s)", p.Tests, p.Setup, builds(c.Columns, p), builds(next.Columns, q)))
	}
	return out
}

// sameRun is true when two runs are the same as the JSON form records
// them (times in whole seconds): the same directories folded again.
func sameRun(p, q Part, was, now []Row) bool {
	sameTime := func(a, b time.Duration) bool { return seconds(a) == seconds(b) }
	sameCell := func(a, b Cell) bool {
		return a.Verdict == b.Verdict && a.Reason == b.Reason && a.FSTests == b.FSTests && sameTime(a.Duration, b.Duration) &&
			slices.Equal(a.Reports, b.Reports) && maps.Equal(a.Calls, b.Calls)
	}
	sameRow := func(a, b Row) bool { return a.Test == b.Test && maps.EqualFunc(a.Cells, b.Cells, sameCell) }
	return p.Count == q.Count && maps.Equal(p.Kernels, q.Kernels) && maps.EqualFunc(p.Time, q.Time, sameTime) &&
		slices.EqualFunc(was, now, sameRow)
}

// partRows are the rows of one run.
func (c Comparison) partRows(p Part) []Row {
	var out []Row
	for _, r := range c.Rows {
		if r.Tests == p.Tests && r.Setup == p.Setup {
			out = append(out, r)
		}
	}
	return out
}

// builds names a run's builds: "base ddfc7a4ca8cb, patched 7b44ae7f647a".
func builds(cols []Column, p Part) string {
	var out []string
	for _, col := range cols {
		if k, ok := p.Kernels[col.Flavour]; ok {
			out = append(out, col.Flavour+" "+commit(k))
		}
	}
	return strings.Join(out, ", ")
}
