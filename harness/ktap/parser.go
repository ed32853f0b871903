package ktap

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EventKind says which kind of KTAP line produced an Event.
type EventKind int

// Event kinds.
const (
	EventVersion EventKind = iota + 1 // a version line
	EventPlan                         // a plan line
	EventDiag                         // a diagnostic line
	EventResult                       // a result line
)

// Event is what the Parser recognised in one line.
type Event struct {
	Kind EventKind
	// Depth is the nesting level: 0 for the top-level document.
	Depth int
	// Version is set for EventVersion.
	Version string
	// Plan is set for EventPlan.
	Plan int
	// Diag is the diagnostic text for EventDiag, without "# ".
	Diag string
	// Result is set for EventResult. It is complete: it carries the
	// preceding diagnostics, the duration and any subtests.
	Result Result
}

// Parser is a streaming KTAP parser. Feed it one line at a time; call
// Report at any point for the state so far. The zero value is not usable;
// call NewParser.
type Parser struct {
	levels   []*level // open documents, outermost first; empty until started
	lineNo   int
	problems []string
}

// level is one (possibly nested) KTAP document being parsed.
type level struct {
	indent  int
	version string
	plan    int
	results []Result
	pend    pending // the test in progress
}

// pending collects what has been seen of a test before its result line.
type pending struct {
	any      bool
	diag     []string
	duration time.Duration
	subtests []Result
}

// NewParser returns a Parser waiting for the start of a KTAP document.
func NewParser() *Parser {
	return &Parser{}
}

// Feed parses one complete line (a trailing "\n" or "\r\n" is allowed; do
// not feed a line the writer may not have finished). It returns
// ok == false for lines that are not KTAP, or that were ignored as invalid
// (see [Report].Problems); the caller may treat those as console output.
//
// The document starts at the first version or plan line; everything before
// it is ignored. After that, nesting follows indentation: a version, plan or
// result line indented deeper than the current document opens a nested one
// for the test in progress, and any KTAP line indented less closes it.
func (p *Parser) Feed(raw string) (Event, bool) {
	p.lineNo++
	l := classify(raw)
	if l.kind == kindUnknown {
		return Event{}, false
	}
	if len(p.levels) == 0 {
		return p.start(l)
	}
	for len(p.levels) > 1 && l.indent < p.top().indent {
		p.problems = append(p.problems, p.pop(false)...)
	}
	cur := p.top()
	if l.indent > cur.indent && l.kind != kindDiag {
		if l.kind != kindVersion {
			p.problemf("nested test without a version line")
		}
		cur.pend.any = true
		cur = &level{indent: l.indent, plan: NoPlan}
		p.levels = append(p.levels, cur)
	}
	depth := len(p.levels) - 1
	switch l.kind {
	case kindVersion:
		if cur.version != "" || cur.plan != NoPlan || len(cur.results) > 0 || cur.pend.any {
			p.problemf("unexpected version line %q ignored", l.version)
			return Event{}, false
		}
		cur.version = l.version
		return Event{Kind: EventVersion, Depth: depth, Version: l.version}, true
	case kindPlan:
		if cur.plan != NoPlan {
			p.problemf("second plan line 1..%d ignored (plan is 1..%d)", l.plan, cur.plan)
			return Event{}, false
		}
		cur.plan = l.plan
		return Event{Kind: EventPlan, Depth: depth, Plan: l.plan}, true
	case kindDiag:
		cur.pend.addDiag(l.diag)
		return Event{Kind: EventDiag, Depth: depth, Diag: l.diag}, true
	default: // kindResult
		r := l.result
		if want := cur.next(); r.Number != want {
			p.problemf("result %d %q out of sequence (expected %d)", r.Number, r.Name, want)
		}
		if cur.plan != NoPlan && r.Number > cur.plan {
			p.problemf("result %d %q beyond plan 1..%d", r.Number, r.Name, cur.plan)
		}
		r.Diag, r.Duration, r.Subtests = cur.pend.diag, cur.pend.duration, cur.pend.subtests
		cur.pend = pending{}
		cur.results = append(cur.results, r)
		return Event{Kind: EventResult, Depth: depth, Result: r}, true
	}
}

// start begins the top-level document at a version or plan line.
func (p *Parser) start(l line) (Event, bool) {
	top := &level{indent: l.indent, plan: NoPlan}
	switch l.kind {
	case kindVersion:
		top.version = l.version
		p.levels = append(p.levels, top)
		return Event{Kind: EventVersion, Version: l.version}, true
	case kindPlan:
		top.plan = l.plan
		p.levels = append(p.levels, top)
		p.problemf("document starts without a version line")
		return Event{Kind: EventPlan, Plan: l.plan}, true
	}
	return Event{}, false
}

// Report returns the state of the top-level document so far. Tests still in
// progress are treated as if the input had ended here. The Parser is not
// modified and may be fed further lines.
func (p *Parser) Report() *Report {
	rep := &Report{Plan: NoPlan}
	if len(p.levels) == 0 {
		return rep
	}
	// Work on copies so that folding open levels does not disturb p.
	q := &Parser{lineNo: p.lineNo}
	for _, l := range p.levels {
		c := *l
		c.results = slices.Clone(l.results)
		c.pend.diag = slices.Clone(l.pend.diag)
		c.pend.subtests = slices.Clone(l.pend.subtests)
		q.levels = append(q.levels, &c)
	}
	problems := slices.Clone(p.problems)
	for len(q.levels) > 1 {
		problems = append(problems, q.pop(true)...)
	}
	top := q.top()
	rep.Version, rep.Plan = top.version, top.plan
	rep.Results, rep.Partial, rep.Diag = top.finish(true)
	rep.Diag, rep.Totals = cutTotals(rep.Diag)
	rep.Missing = missing(top.plan, rep.Results, rep.Partial)
	rep.Complete = top.plan != NoPlan && rep.Partial == nil &&
		len(rep.Missing) == 0 && len(rep.Results) == top.plan
	rep.Problems = problems
	return rep
}

// cutTotals takes the last "Totals:" line out of the trailing
// diagnostics.
func cutTotals(diag []string) ([]string, *Totals) {
	for i := len(diag) - 1; i >= 0; i-- {
		if t, ok := ParseTotals(diag[i]); ok {
			return slices.Delete(slices.Clone(diag), i, i+1), &t
		}
	}
	return diag, nil
}

// top returns the innermost open document.
func (p *Parser) top() *level { return p.levels[len(p.levels)-1] }

// pop closes the innermost document and hands its results to the parent's
// test in progress as subtests. ended means the input ended rather than
// the parent continuing. It returns the problems found.
func (p *Parser) pop(ended bool) []string {
	child := p.top()
	p.levels = p.levels[:len(p.levels)-1]
	parent := p.top()
	var problems []string
	where := "line " + strconv.Itoa(p.lineNo) + ": "
	if ended {
		where = "end of input: "
	}
	results, partial, trailing := child.finish(ended)
	if partial != nil {
		problems = append(problems, fmt.Sprintf("%ssubtest %d at depth %d has no result line", where, partial.Number, len(p.levels)))
		results = append(results, *partial)
	} else if !ended && child.plan != NoPlan && child.next() <= child.plan {
		problems = append(problems, fmt.Sprintf("%snested document at depth %d closed after %d of %d results", where, len(p.levels), child.next()-1, child.plan))
	}
	parent.pend.any = true
	parent.pend.subtests = append(parent.pend.subtests, results...)
	parent.pend.diag = append(parent.pend.diag, trailing...)
	return problems
}

// finish returns the level's results, the test left in progress (as an
// Incomplete result) if any, and trailing diagnostics that belong to no
// test. Leftover lines belong to a test in progress if they include
// subtests or if more results were due: the plan is unsatisfied, or there
// is no plan and the input ended.
func (l *level) finish(ended bool) ([]Result, *Result, []string) {
	if !l.pend.any {
		return l.results, nil, nil
	}
	due := l.next() <= l.plan || (l.plan == NoPlan && ended)
	if len(l.pend.subtests) == 0 && !due {
		return l.results, nil, l.pend.diag
	}
	return l.results, &Result{
		Number:   l.next(),
		Status:   Incomplete,
		Diag:     l.pend.diag,
		Duration: l.pend.duration,
		Subtests: l.pend.subtests,
	}, nil
}

// next returns the number the next result should have.
func (l *level) next() int {
	if len(l.results) == 0 {
		return 1
	}
	return l.results[len(l.results)-1].Number + 1
}

// addDiag records a diagnostic, recognising the duration convention.
func (pd *pending) addDiag(text string) {
	pd.any = true
	if d, ok := parseDuration(text); ok {
		pd.duration = d
		return
	}
	pd.diag = append(pd.diag, text)
}

// parseDuration recognises "duration_ms: N".
func parseDuration(text string) (time.Duration, bool) {
	v, ok := strings.CutPrefix(text, "duration_ms:")
	if !ok {
		return 0, false
	}
	v = strings.TrimSpace(v)
	if !isDigits(v) || len(v) > 12 {
		return 0, false
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

// missing lists the numbers in 1..plan (or 1..highest seen, without a
// plan) that have no result line. The partial test counts as missing.
func missing(plan int, results []Result, partial *Result) []int {
	upper := plan
	if plan == NoPlan {
		upper = 0
		for _, r := range results {
			upper = max(upper, r.Number)
		}
		if partial != nil {
			upper = max(upper, partial.Number)
		}
	}
	seen := make(map[int]bool, len(results))
	for _, r := range results {
		seen[r.Number] = true
	}
	var out []int
	for n := 1; n <= upper; n++ {
		if !seen[n] {
			out = append(out, n)
		}
	}
	return out
}

// problemf records a tolerated protocol violation at the current line.
func (p *Parser) problemf(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf("line %d: ", p.lineNo)+fmt.Sprintf(format, args...))
}
