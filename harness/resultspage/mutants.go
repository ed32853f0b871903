package resultspage

import (
	"fmt"
	"strings"

	"dioharness/harness/mutant"
)

// mutantTables shows a mutants.json written by make mutants and make
// mutate: the hand-written mutants, and for the generated set the
// mutation score per file and per operator class and the survivors
// with their triage. ok is false for a file of another shape, which is
// then shown as a generic table.
func mutantTables(path, title string) ([]Extra, bool) {
	rep, err := mutant.ReadReport(path)
	if err != nil || (len(rep.Results) == 0 && rep.Generated == nil) {
		return nil, false
	}
	var out []Extra
	if len(rep.Results) > 0 {
		t := Table{Head: []string{"mutant", "verdict", "killed by", "expected killer among them"}}
		for _, r := range rep.Results {
			var by []string
			for _, k := range r.KilledBy {
				by = append(by, k.Scenario+" ("+k.How+")")
			}
			t.Rows = append(t.Rows, []string{r.Name, string(r.Verdict), strings.Join(by, ", "), fmt.Sprint(r.ExpectedKilled)})
		}
		out = append(out, Extra{Title: fmt.Sprintf("%s: hand-written mutants (%s), killed %d of %d", title, rep.Base, rep.Totals.Killed, rep.Totals.Killed+rep.Totals.Survived), Table: t})
	}
	g := rep.Generated
	if g == nil {
		return out, true
	}
	scores := func(key string, ss []mutant.Score) Table {
		t := Table{Head: []string{key, "killed", "survived", "equivalent", "not run", "discarded", "score"}}
		for _, s := range ss {
			t.Rows = append(t.Rows, []string{s.Key, fmt.Sprint(s.Killed), fmt.Sprint(s.Survived), fmt.Sprint(s.Equivalent),
				fmt.Sprint(s.NotRun), fmt.Sprint(s.Discarded), scorePct(s.Score)})
		}
		return t
	}
	tot := g.Totals
	head := fmt.Sprintf("%s: generated mutants (seed %d), score %s: killed %d, survived %d (%d equivalent), not run %d, discarded %d",
		title, g.Seed, scorePct(tot.Score), tot.Killed, tot.Survived, tot.Equivalent, tot.NotRun, tot.Discarded)
	out = append(out, Extra{Title: head + ", per file", Table: scores("file", g.ByFile)})
	out = append(out, Extra{Title: title + ": generated mutants, per operator class", Table: scores("class", g.ByClass)})
	sv := Table{Head: []string{"survivor", "change", "triage"}}
	for _, r := range g.Survivors() {
		tr := "not triaged"
		if r.Triage != nil {
			tr = r.Triage.Kind + ": " + r.Triage.Reason
		}
		sv.Rows = append(sv.Rows, []string{r.Name, r.Site.File + ":" + fmt.Sprint(r.Site.Line) + " " + r.Site.Change, tr})
	}
	out = append(out, Extra{Title: title + ": generated mutants that survived", Table: sv})
	return out, true
}

func scorePct(f float64) string {
	if f < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f %%", 100*f)
}
