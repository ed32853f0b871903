package mutant

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"dioharness/harness/catalogue"
)

// The generated mutants (harness/mutagen, `make mutate`) are judged like
// the hand-written ones, with two differences: a mutant that does not
// compile is discarded (it says nothing, and the generator makes many),
// and a survivor is triaged in mutants/<base>/generated-triage as
// "missing test" or "equivalent", with a one-line reason. The mutation
// score is killed / (killed + survived - equivalent).

// Discarded is the verdict of a generated mutant that does not compile.
const Discarded Verdict = "discarded"

// Site is where a generated mutant changes the kernel.
type Site struct {
	// Area is the mutagen area ("fs/fuse"), File the tree path.
	Area string `json:"area"`
	File string `json:"file"`
	Func string `json:"function"`
	// Class is the operator ("boundary").
	Class string `json:"class"`
	// Line is 1-based in the patched tree; Change shows the lines
	// before and after ("if (a && b) => if (a)").
	Line   int    `json:"line"`
	Change string `json:"change"`
	// Why the function is a target ("probe on fuse_direct_io").
	Why string `json:"why"`
}

// Triage is a survivor's classification.
type Triage struct {
	// Kind is TriageEquivalent or TriageMissingTest.
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// Triage kinds.
const (
	TriageEquivalent  = "equivalent"
	TriageMissingTest = "missing test"
)

// GenResult is one generated mutant's outcome.
type GenResult struct {
	Result
	Site Site `json:"site"`
	// Rules are the kernel rules (harness/invariant) whose violation
	// is among the kill reasons.
	Rules  []string `json:"rules_fired,omitempty"`
	Triage *Triage  `json:"triage,omitempty"`
	// Judged is when the mutant ran, Commit the harness commit that
	// judged it: a survivor re-run after new checks says so.
	Judged time.Time `json:"judged"`
	Commit string    `json:"harness_commit,omitempty"`
}

// Score counts the generated mutants of one file or class.
type Score struct {
	Key        string `json:"key"`
	Killed     int    `json:"killed"`
	Survived   int    `json:"survived"`
	Equivalent int    `json:"equivalent"`
	NotRun     int    `json:"not_run"`
	Discarded  int    `json:"discarded"`
	// Score is killed / (killed + survived - equivalent); -1 when
	// nothing counts.
	Score float64 `json:"score"`
}

// Generated is the generated set of a base's mutants.json.
type Generated struct {
	// Seed chose the sample; Targets and Candidates count the covered
	// functions and the mutants the operators could make of them.
	Seed       uint64      `json:"seed"`
	Targets    int         `json:"targets"`
	Candidates int         `json:"candidates"`
	Mutants    []GenResult `json:"mutants"`
	Totals     Score       `json:"totals"`
	ByFile     []Score     `json:"by_file"`
	ByClass    []Score     `json:"by_class"`
	ByArea     []Score     `json:"by_area"`
}

// compileError is a compiler diagnostic in a build failure
// ("fs/fuse/file.c:1234:5: error: ..."): the mutant does not compile.
var compileError = regexp.MustCompile(`(?m)\.[ch]:\d+:\d+: error: `)

// JudgeGenerated is Judge for a generated mutant: a build that fails
// with a compiler error discards it. A build that fails otherwise (killed,
// interrupted, out of space) leaves it not run, to be run again.
func JudgeGenerated(m Mutant, r Run, site Site) GenResult {
	g := GenResult{Result: Judge(m, r), Site: site, Judged: time.Now().UTC()}
	if g.Verdict == NotRun && r.Stage == StageBuild && compileError.MatchString(r.Err) {
		g.Verdict = Discarded
	}
	g.Rules = RulesFired(g.KilledBy)
	return g
}

var ruleInReason = regexp.MustCompile(`invariant ([a-z0-9-]+)`)

// RulesFired lists the kernel rules named in the kill reasons.
func RulesFired(ks []Kill) []string {
	var out []string
	for _, k := range ks {
		for _, m := range ruleInReason.FindAllStringSubmatch(k.Reason, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	slices.Sort(out)
	return out
}

// AreaScenarios are what a generated mutant boots with: every scenario
// of the given areas that is not manual, and the mixed workloads (fio)
// on one of those filesystems, in catalogue order.
func AreaScenarios(cat catalogue.Catalogue, areas []string) []string {
	var out []string
	for _, s := range cat {
		if s.Manual || s.Area == "harness" {
			continue
		}
		keep := slices.Contains(areas, s.Area)
		if s.Area == "mixed" {
			for _, a := range areas {
				keep = keep || strings.HasSuffix(s.Name, "-"+a)
			}
		}
		if keep {
			out = append(out, s.Name)
		}
	}
	return out
}

// TriageFile is the survivors' triage of a base, in mutants/<base>/.
const TriageFile = "generated-triage"

// ReadTriage reads a triage file: one survivor per line,
// "<name>: equivalent: <reason>" or "<name>: missing test: <reason>";
// blank lines and lines starting with # are comments. A missing file
// is an empty triage.
func ReadTriage(path string) (map[string]Triage, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]Triage{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]Triage{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, rest, ok1 := strings.Cut(l, ": ")
		kind, reason, ok2 := strings.Cut(rest, ": ")
		if !ok1 || !ok2 || (kind != TriageEquivalent && kind != TriageMissingTest) || strings.TrimSpace(reason) == "" {
			return nil, fmt.Errorf("%s:%d: want \"<mutant>: equivalent: <reason>\" or \"<mutant>: missing test: <reason>\"", filepath.Base(path), n)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s:%d: %s triaged twice", filepath.Base(path), n, name)
		}
		out[name] = Triage{Kind: kind, Reason: strings.TrimSpace(reason)}
	}
	return out, sc.Err()
}

// Merge puts results into g, replacing earlier results of the same
// mutants, applies the triage to the survivors and recounts.
func (g *Generated) Merge(rs []GenResult, triage map[string]Triage) {
	for _, r := range rs {
		i := slices.IndexFunc(g.Mutants, func(x GenResult) bool { return x.Name == r.Name })
		if i >= 0 {
			g.Mutants[i] = r
		} else {
			g.Mutants = append(g.Mutants, r)
		}
	}
	slices.SortFunc(g.Mutants, func(a, b GenResult) int { return strings.Compare(a.Name, b.Name) })
	for i := range g.Mutants {
		g.Mutants[i].Triage = nil
		if g.Mutants[i].Verdict == Survived {
			if t, ok := triage[g.Mutants[i].Name]; ok {
				g.Mutants[i].Triage = &t
			}
		}
	}
	g.recount()
}

func (g *Generated) recount() {
	g.Totals = score("all", g.Mutants)
	g.ByFile = scoresBy(g.Mutants, func(r GenResult) string { return r.Site.File })
	g.ByClass = scoresBy(g.Mutants, func(r GenResult) string { return r.Site.Class })
	g.ByArea = scoresBy(g.Mutants, func(r GenResult) string { return r.Site.Area })
}

func scoresBy(rs []GenResult, key func(GenResult) string) []Score {
	groups := map[string][]GenResult{}
	var keys []string
	for _, r := range rs {
		k := key(r)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	slices.Sort(keys)
	var out []Score
	for _, k := range keys {
		out = append(out, score(k, groups[k]))
	}
	return out
}

func score(key string, rs []GenResult) Score {
	s := Score{Key: key}
	for _, r := range rs {
		switch r.Verdict {
		case Killed:
			s.Killed++
		case Survived:
			s.Survived++
			if r.Triage != nil && r.Triage.Kind == TriageEquivalent {
				s.Equivalent++
			}
		case Discarded:
			s.Discarded++
		default:
			s.NotRun++
		}
	}
	s.Score = -1
	if n := s.Killed + s.Survived - s.Equivalent; n > 0 {
		s.Score = float64(s.Killed) / float64(n)
	}
	return s
}

// Survivors are the generated mutants that survived, with their triage.
func (g *Generated) Survivors() []GenResult {
	var out []GenResult
	for _, r := range g.Mutants {
		if r.Verdict == Survived {
			out = append(out, r)
		}
	}
	return out
}

// ReadReport reads a mutants.json; a missing file is an empty report.
func ReadReport(path string) (Report, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Report{}, nil
	}
	if err != nil {
		return Report{}, err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return Report{}, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}

func pct(f float64) string {
	if f < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f %%", 100*f)
}

// markdownGenerated writes the generated set's section of mutants.md.
func (g *Generated) markdown(w io.Writer) {
	t := g.Totals
	fmt.Fprintf(w, "\n## Generated mutants\n\n")
	fmt.Fprintf(w, "Sampled with seed %d from %d candidates in %d covered functions (make mutate). ", g.Seed, g.Candidates, g.Targets)
	fmt.Fprintf(w, "Killed %d, survived %d (%d equivalent), not run %d, discarded (do not compile) %d: mutation score %s (killed / (killed + survived - equivalent)).\n\n",
		t.Killed, t.Survived, t.Equivalent, t.NotRun, t.Discarded, pct(t.Score))
	table := func(title string, ss []Score) {
		fmt.Fprintf(w, "| %s | killed | survived | equivalent | not run | discarded | score |\n|---|---|---|---|---|---|---|\n", title)
		for _, s := range ss {
			fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %s |\n", s.Key, s.Killed, s.Survived, s.Equivalent, s.NotRun, s.Discarded, pct(s.Score))
		}
		fmt.Fprintln(w)
	}
	table("file", g.ByFile)
	table("class", g.ByClass)
	if sv := g.Survivors(); len(sv) > 0 {
		fmt.Fprintf(w, "### Survivors\n\n| Mutant | Change | Triage |\n|---|---|---|\n")
		for _, r := range sv {
			tr := "not triaged"
			if r.Triage != nil {
				tr = r.Triage.Kind + ": " + r.Triage.Reason
			}
			fmt.Fprintf(w, "| %s | `%s` | %s |\n", r.Name, escape(r.Site.Change), escape(tr))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "### All generated mutants\n\n| Mutant | Line | Change | Verdict | Killed by | Rules fired | Build (s) | Boot + run (s) |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range g.Mutants {
		var by []string
		for _, k := range r.KilledBy {
			by = append(by, fmt.Sprintf("%s (%s)", k.Scenario, k.How))
		}
		killers := strings.Join(by, ", ")
		if len(by) > 3 {
			killers = strings.Join(by[:3], ", ") + fmt.Sprintf(" and %d more", len(by)-3)
		}
		if r.Verdict == NotRun || r.Verdict == Discarded {
			killers = string(r.Stage) + ": " + firstLine(r.Error)
		}
		fmt.Fprintf(w, "| %s | %s:%d | `%s` | %s | %s | %s | %.0f | %.0f |\n", r.Name, r.Site.File, r.Site.Line,
			escape(r.Site.Change), r.Verdict, escape(killers), strings.Join(r.Rules, ", "), r.BuildSeconds, r.RunSeconds)
	}
}
