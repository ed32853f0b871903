package mutant

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"dioharness/harness/catalogue"
)

// Runner applies one mutant on base + series, builds it, boots it once
// with the given scenarios and judges them against the patched
// declarations. The harness's runner does that with real kernels; the
// tests use a fake.
type Runner interface {
	Run(ctx context.Context, m Mutant, scenarios []string) Run
}

// Report is one `harness mutants` run over a base.
type Report struct {
	Base    string    `json:"base"`
	Started time.Time `json:"started"`
	// Seconds is the wall time of the whole run.
	Seconds float64  `json:"seconds"`
	Results []Result `json:"mutants"`
	Totals  Totals   `json:"totals"`
	// Generated is the generated set (make mutate), kept when the
	// hand-written mutants are run again.
	Generated *Generated `json:"generated,omitempty"`
	// Folded are the later MUTANT= subset runs whose results replaced
	// or joined this run's (Fold).
	Folded []Folded `json:"folded,omitempty"`
}

// Folded is one subset run folded into a report: when it started, how
// long it took and the mutants it ran.
type Folded struct {
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
	Mutants []string  `json:"mutants"`
}

// Totals count the verdicts. KillRate is killed over the mutants that
// ran and were judged (killed + survived): a mutant that did not run, or
// whose only failure was an unconfirmed TIMEOUT, is no evidence either
// way.
type Totals struct {
	Killed   int     `json:"killed"`
	Survived int     `json:"survived"`
	NotRun   int     `json:"not_run"`
	Flaky    int     `json:"flaky"`
	KillRate float64 `json:"kill_rate"`
}

// Suite runs every mutant in turn, one boot each.
func Suite(ctx context.Context, base string, r Runner, cat catalogue.Catalogue, ms []Mutant, log io.Writer) Report {
	rep := Report{Base: base, Started: time.Now().UTC()}
	for i, m := range ms {
		if ctx.Err() != nil {
			break
		}
		sel := Scenarios(cat, m)
		fmt.Fprintf(log, "mutants: [%d/%d] %s: %d scenarios\n", i+1, len(ms), m.Name, len(sel))
		res := Judge(m, r.Run(ctx, m, sel))
		fmt.Fprintf(log, "mutants: [%d/%d] %s: %s%s\n", i+1, len(ms), m.Name, res.Shown(), describe(res))
		rep.Results = append(rep.Results, res)
	}
	rep.Seconds = time.Since(rep.Started).Round(time.Second).Seconds()
	rep.Totals = Count(rep.Results)
	return rep
}

func describe(r Result) string {
	switch r.Verdict {
	case Killed:
		var names []string
		for _, k := range r.KilledBy {
			names = append(names, k.Scenario)
		}
		return " by " + strings.Join(names, ", ")
	case NotRun:
		return " (" + string(r.Stage) + ": " + firstLine(r.Error) + ")"
	case Flaky:
		var names []string
		for _, k := range r.TimedOut {
			names = append(names, k.Scenario)
		}
		return ": only " + strings.Join(names, ", ") + " timed out, and a fresh guest did not confirm it"
	}
	return ""
}

// Count totals the verdicts.
func Count(rs []Result) Totals {
	var t Totals
	for _, r := range rs {
		switch r.Verdict {
		case Killed:
			t.Killed++
		case Survived:
			t.Survived++
		case Flaky:
			t.Flaky++
		default:
			t.NotRun++
		}
	}
	if n := t.Killed + t.Survived; n > 0 {
		t.KillRate = float64(t.Killed) / float64(n)
	}
	return t
}

// Fold is rep with the results of sub, a later run of some of the same
// base's mutants: each of sub's results replaces rep's of the same
// mutant or joins them, in name order (the order runs take), the totals
// are counted again and sub is listed in Folded.
func (rep Report) Fold(sub Report) (Report, error) {
	if sub.Base != rep.Base {
		return Report{}, fmt.Errorf("fold mutant results of %s into those of %s", sub.Base, rep.Base)
	}
	out := rep
	out.Results = slices.Clone(rep.Results)
	f := Folded{Started: sub.Started, Seconds: sub.Seconds}
	for _, r := range sub.Results {
		f.Mutants = append(f.Mutants, r.Name)
		if i := slices.IndexFunc(out.Results, func(o Result) bool { return o.Name == r.Name }); i >= 0 {
			out.Results[i] = r
			continue
		}
		out.Results = append(out.Results, r)
	}
	slices.SortStableFunc(out.Results, func(a, b Result) int { return strings.Compare(a.Name, b.Name) })
	out.Folded = append(slices.Clone(rep.Folded), f)
	out.Totals = Count(out.Results)
	return out, nil
}

// WriteFiles writes dir/mutants.json and dir/mutants.md.
func (rep Report) WriteFiles(dir string) error {
	if rep.Generated == nil {
		old, err := ReadReport(filepath.Join(dir, "mutants.json"))
		if err != nil {
			return err
		}
		rep.Generated = old.Generated
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "mutants.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("write mutants.json: %w", err)
	}
	var b strings.Builder
	rep.Markdown(&b)
	if err := os.WriteFile(filepath.Join(dir, "mutants.md"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write mutants.md: %w", err)
	}
	return nil
}

// Markdown writes the mutant table.
func (rep Report) Markdown(w io.Writer) {
	t := rep.Totals
	fmt.Fprintf(w, "# Mutants on %s\n\n", rep.Base)
	flaky := ""
	if t.Flaky > 0 {
		flaky = fmt.Sprintf(", flaky %d (an unconfirmed TIMEOUT, not counted)", t.Flaky)
	}
	with := ""
	switch n := len(rep.Folded); n {
	case 0:
	case 1:
		with = ", with the later run below folded in"
	default:
		with = fmt.Sprintf(", with the %d later runs below folded in", n)
	}
	fmt.Fprintf(w, "Run %s, %s in all%s. Killed %d, survived %d, not run %d%s: kill rate %.0f %% of the mutants that ran.\n\n",
		rep.Started.Format("2006-01-02 15:04 UTC"), time.Duration(rep.Seconds)*time.Second, with, t.Killed, t.Survived, t.NotRun, flaky, 100*t.KillRate)
	for _, f := range rep.Folded {
		fmt.Fprintf(w, "Folded in from a later run of %d mutants (%s, %s in all): %s.\n\n",
			len(f.Mutants), f.Started.Format("2006-01-02 15:04 UTC"), time.Duration(f.Seconds)*time.Second, strings.Join(f.Mutants, ", "))
	}
	fmt.Fprintln(w, "| Mutant | Verdict | Killed by | Expected killer among them | Scenarios run | Build (s) | Boot + run (s) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rep.Results {
		var by []string
		for _, k := range r.KilledBy {
			by = append(by, fmt.Sprintf("%s (%s)", k.Scenario, k.How))
		}
		killers := strings.Join(by, ", ")
		switch r.Verdict {
		case NotRun:
			killers = string(r.Stage) + ": " + firstLine(r.Error)
		case Flaky:
			var to []string
			for _, k := range r.TimedOut {
				to = append(to, fmt.Sprintf("%s (%s)", k.Scenario, k.How))
			}
			killers = "none; timed out without confirmation: " + strings.Join(to, ", ")
		}
		exp := "no"
		if r.ExpectedKilled {
			exp = "yes"
		}
		fmt.Fprintf(w, "| %s<br>%s | %s | %s | %s (%s) | %d | %.0f | %.0f |\n",
			r.Name, escape(r.Subject), r.Shown(), escape(killers), exp, strings.Join(r.Expected, ", "), r.Ran, r.BuildSeconds, r.RunSeconds)
	}
	if rep.Generated != nil {
		rep.Generated.markdown(w)
	}
}

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
