package mutagen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Candidate is one possible mutant: a mutation of a target function.
type Candidate struct {
	Mutation
	// Area is the Area's name; Why says why the function is a target.
	Area, Why string
}

// Candidates applies every operator to every target, in target order.
func Candidates(targets []Target, srcs map[string]source) []Candidate {
	var out []Candidate
	for _, t := range targets {
		s := srcs[t.File]
		f, ok := Named(s.funcs, t.Func)
		if !ok {
			continue
		}
		a, _ := AreaOf(t.File)
		for _, m := range Mutations(t.File, s.lines, f) {
			out = append(out, Candidate{Mutation: m, Area: a.Name, Why: t.Why})
		}
	}
	return out
}

// Select samples each area's quota from the candidates, reproducibly for
// a seed: the candidates are shuffled, then taken one at a time from the
// operator class, and within it the function, that has the fewest
// mutants so far, so a sample spreads over classes and functions.
func Select(cands []Candidate, areas []Area, seed uint64) []Candidate {
	r := rand.New(rand.NewPCG(seed, 0x6d757461))
	var out []Candidate
	for _, a := range areas {
		var pool []Candidate
		for _, c := range cands {
			if c.Area == a.Name {
				pool = append(pool, c)
			}
		}
		r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
		perClass := map[Class]int{}
		perFunc := map[string]int{}
		for len(pool) > 0 && countArea(out, a.Name) < a.Quota {
			best := 0
			for i, c := range pool {
				b := pool[best]
				if perClass[c.Class] < perClass[b.Class] ||
					(perClass[c.Class] == perClass[b.Class] && perFunc[c.Func] < perFunc[b.Func]) {
					best = i
				}
			}
			c := pool[best]
			pool = slices.Delete(pool, best, best+1)
			perClass[c.Class]++
			perFunc[c.Func]++
			out = append(out, c)
		}
	}
	return out
}

func countArea(cs []Candidate, area string) int {
	n := 0
	for _, c := range cs {
		if c.Area == area {
			n++
		}
	}
	return n
}

// identity is the neutral placeholder the repository's patches carry.
const identity = "Your Name <your.name@placeholder.invalid>"

// Subject is the mutant's patch subject.
func (c Candidate) Subject() string {
	return fmt.Sprintf("MUTANT %s: %s: %s #%d", c.File, c.Func, c.Class, c.N)
}

// Patch renders the mutant as a git format-patch mail that git am
// applies to the file whose lines are given (the patched tree's).
func (c Candidate) Patch(lines []string) ([]byte, error) {
	end := c.Line + len(c.Old)
	if c.Line < 0 || end > len(lines) || !slices.Equal(lines[c.Line:end], c.Old) {
		return nil, fmt.Errorf("mutagen: %s: the tree's %s no longer has the mutated lines at %d", c.Name(), c.File, c.Line+1)
	}
	from := max(0, c.Line-3)
	to := min(len(lines), end+3)
	// The split of a file ending in a newline has an empty last
	// element, which is no line.
	if to == len(lines) && lines[len(lines)-1] == "" {
		to--
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n")
	fmt.Fprintf(&b, "From: %s\n", identity)
	fmt.Fprintf(&b, "Date: Tue, 1 Dec 2026 12:00:00 +0000\n")
	fmt.Fprintf(&b, "Subject: [PATCH] %s\n\n", c.Subject())
	fmt.Fprintf(&b, "Generated mutant %s (harness mutate, operator %s) of %s,\n", c.Name(), c.Class, c.Func)
	fmt.Fprintf(&b, "line %d of %s (%s):\n\n    %s\n", c.Line+1, c.File, c.Why, c.Describe())
	fmt.Fprintf(&b, "---\n")
	fmt.Fprintf(&b, "diff --git a/%s b/%s\n--- a/%s\n+++ b/%s\n", c.File, c.File, c.File, c.File)
	oldN := to - from
	newN := oldN - len(c.Old) + len(c.New)
	fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@ %s\n", from+1, oldN, from+1, newN, hunkContext(lines, c.Line))
	for i := from; i < c.Line; i++ {
		fmt.Fprintf(&b, " %s\n", lines[i])
	}
	for _, l := range c.Old {
		fmt.Fprintf(&b, "-%s\n", l)
	}
	for _, l := range c.New {
		fmt.Fprintf(&b, "+%s\n", l)
	}
	for i := end; i < to; i++ {
		fmt.Fprintf(&b, " %s\n", lines[i])
	}
	b.WriteString("-- \n2.0\n\n")
	return []byte(b.String()), nil
}

// hunkContext is what git shows after a hunk header: the closest line
// above that starts at column 0 with an identifier (the function's
// signature).
func hunkContext(lines []string, at int) string {
	for i := at; i >= 0; i-- {
		l := lines[i]
		if l != "" && isIdent(l[0]) {
			if len(l) > 60 {
				l = l[:60]
			}
			return l
		}
	}
	return ""
}

// Plan is the generated set of one tree: the targets, every candidate
// and the sample.
type Plan struct {
	Targets    []Target
	Candidates []Candidate
	Selected   []Candidate
	srcs       map[string]source
}

// NewPlan finds the targets in the patched tree (probe attach points
// read from the BPF objects, the hunks of the series' diff -U0 against
// the base, and their callees two levels down), makes every candidate
// and samples each area's quota with seed.
func NewPlan(tree string, probeObjects []string, seriesDiff string, seed uint64) (*Plan, error) {
	fns, tps, err := ProbeTargets(probeObjects)
	if err != nil {
		return nil, err
	}
	if len(fns) == 0 {
		return nil, fmt.Errorf("mutagen: no attach points in %v", probeObjects)
	}
	hunks, err := HunkLines(seriesDiff)
	if err != nil {
		return nil, err
	}
	ts, srcs, err := FindTargets(tree, Areas, fns, tps, hunks, 2)
	if err != nil {
		return nil, err
	}
	cs := Candidates(ts, srcs)
	return &Plan{Targets: ts, Candidates: cs, Selected: Select(cs, Areas, seed), srcs: srcs}, nil
}

// Patch renders a candidate of the plan as a patch on the tree.
func (p *Plan) Patch(c Candidate) ([]byte, error) {
	s, ok := p.srcs[c.File]
	if !ok {
		return nil, fmt.Errorf("mutagen: %s is not a file of the plan", c.File)
	}
	return c.Patch(s.lines)
}
