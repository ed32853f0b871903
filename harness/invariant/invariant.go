// Package invariant holds the kernel rules that every recording of the
// probes must obey, whatever the scenario or workload recorded: a direct
// write that extends the file holds i_rwsem exclusive, a parallel FUSE
// direct write runs outside cached io mode, a cached open waits for the
// parallel writes, a direct write leaves no folio of its range cached,
// the io-mode counter returns to zero, invalidation covers exactly what
// was written, a write advances the file position and size by what it
// returns. Each rule is a small predicate over the ordered event stream,
// documented with the kernel source it comes from on each base; a rule
// a base breaks on purpose says so (Differs) with the reason.
//
// The scenario runner checks every rule on every recording
// (scenario.Probes.Record): a violation fails the scenario with the
// events that broke it. A rule whose probes' events the recording lacks
// (not attached, or the page-cache events, which a recording asks for)
// is reported as not judged, never as held.
package invariant

import (
	"fmt"
	"slices"
	"strings"

	"dioharness/harness/probe"
)

// Rule is one kernel rule.
type Rule struct {
	// Name is kebab-case and unique; violations start with
	// "invariant <Name>:".
	Name string
	// Says is the rule in one sentence.
	Says string
	// Source is where the kernel makes it so, per base.
	Source map[string]string
	// Scope says what the rule covers and what it leaves out, and why.
	Scope string
	// Differs are the bases that break the rule on purpose: for their
	// kernels violations on the listed write paths (all paths when
	// none) are reported as excused, with the reason.
	Differs map[string]Excuse
	// Needs are the probes (attach points) without which the rule
	// sees nothing: when one is missing the rule is not judged.
	Needs []string
	check func(es probe.Events) []Violation
}

// Excuse is why a base breaks a rule, and where.
type Excuse struct {
	Reason string
	// Paths are the write paths the excuse covers; none: every path.
	Paths []probe.Func
}

// Violation is one breach of a rule.
type Violation struct {
	Rule string
	// What happened, in one line.
	What string
	// Path is the write path it happened on (FuncNone when none).
	Path probe.Func
	// Events are the events that broke the rule.
	Events probe.Events
}

func (v Violation) String() string {
	return fmt.Sprintf("invariant %s: %s\n%s", v.Rule, v.What, v.Events)
}

// Kernel is what the rules need to know of the kernel under test.
type Kernel struct {
	// Base is the base's name ("v7.3"), "" for a custom tree.
	Base string
	// Lacks says why the recording holds no events of a probe (attach
	// point): not attached on this kernel, or attached only for the
	// recordings that ask for it (probe.RecordOptions). nil when it
	// holds them; a nil Lacks: every probe's events are there.
	Lacks func(probe string) error
}

// Report is the outcome of checking one recording.
type Report struct {
	// Violations fail the scenario.
	Violations []Violation
	// Excused are violations a base declares (Differs).
	Excused []Violation
	// NotJudged names the rules whose probes are missing, with why.
	NotJudged []string
}

// Check runs every rule over the events of one recording.
func Check(es probe.Events, k Kernel) Report {
	var r Report
	for _, rule := range Rules() {
		if err := rule.lacks(k); err != nil {
			r.NotJudged = append(r.NotJudged, fmt.Sprintf("%s: %v", rule.Name, err))
			continue
		}
		for _, v := range rule.check(es) {
			v.Rule = rule.Name
			if ex, ok := rule.Differs[k.Base]; ok && (len(ex.Paths) == 0 || slices.Contains(ex.Paths, v.Path)) {
				r.Excused = append(r.Excused, v)
				continue
			}
			r.Violations = append(r.Violations, v)
		}
	}
	return r
}

func (r Rule) lacks(k Kernel) error {
	if k.Lacks == nil {
		return nil
	}
	for _, p := range r.Needs {
		if err := k.Lacks(p); err != nil {
			return err
		}
	}
	return nil
}

// Excuses is the reason a base gives for breaking a rule ("" when it
// does not).
func Excuses(rule, base string) string {
	r, _ := Named(rule)
	return r.Differs[base].Reason
}

// Named returns a rule by name.
func Named(name string) (Rule, bool) {
	for _, r := range Rules() {
		if r.Name == name {
			return r, true
		}
	}
	return Rule{}, false
}

// Markdown renders the rule book: name, rule, scope, sources per base
// and the bases that differ.
func Markdown() string {
	var b strings.Builder
	for _, r := range Rules() {
		fmt.Fprintf(&b, "- **%s**: %s %s\n", r.Name, r.Says, r.Scope)
		var bases []string
		for base := range r.Source {
			bases = append(bases, base)
		}
		slices.Sort(bases)
		for _, base := range bases {
			fmt.Fprintf(&b, "  - %s: %s\n", base, r.Source[base])
		}
		for _, base := range bases {
			if ex, ok := r.Differs[base]; ok {
				fmt.Fprintf(&b, "  - broken on purpose on %s: %s\n", base, ex.Reason)
			}
		}
	}
	return b.String()
}
