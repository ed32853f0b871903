// Package mutant reads the mutant patches of mutants/<base>/ and judges
// each mutant's run: killed when some scenario stopped matching the
// patched kernel's declarations, survived when every scenario still
// matched, not run when the mutant did not apply, build or boot. A
// mutant that breaks the build or the boot says nothing about the
// scenarios and is never counted as killed.
package mutant

import (
	"bufio"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"dioharness/harness/catalogue"
	"dioharness/harness/kbase"
	"dioharness/harness/report"
	"dioharness/harness/verdict"
)

// Mutant is one patch of mutants/<base>/.
type Mutant struct {
	// Name is the file name without ".patch" ("03-fuse-parallel-dio-append").
	Name string
	// Path is the patch file.
	Path string
	// Subject is the patch's subject without the "[PATCH]" prefix.
	Subject string
	// ExpectKilledBy are the scenarios the header names as its killers.
	ExpectKilledBy []string
	// Flavour is the flavour of the base the mutant applies on (its
	// "Flavour:" trailer, default patched): a mutant of an RFC's code
	// applies on the flavour that carries the RFC.
	Flavour kbase.Flavour
}

// trailer is the header line naming the expected killers;
// flavourTrailer the one naming the flavour it applies on.
const (
	trailer        = "Expect-killed-by:"
	flavourTrailer = "Flavour:"
)

var subjectPrefix = regexp.MustCompile(`^\[[^\]]*\]\s*`)

// Parse reads one mutant patch: its subject and its Expect-killed-by
// trailers (several trailers and comma-separated lists both add up).
func Parse(path string) (Mutant, error) {
	f, err := os.Open(path)
	if err != nil {
		return Mutant{}, fmt.Errorf("mutant: %w", err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(bufio.NewReader(f))
	if err != nil {
		return Mutant{}, fmt.Errorf("mutant %s: not a git format-patch file: %w", filepath.Base(path), err)
	}
	m := Mutant{
		Name:    strings.TrimSuffix(filepath.Base(path), ".patch"),
		Path:    path,
		Subject: subjectPrefix.ReplaceAllString(strings.Join(strings.Fields(msg.Header.Get("Subject")), " "), ""),
		Flavour: kbase.Patched,
	}
	if m.Subject == "" {
		return Mutant{}, fmt.Errorf("mutant %s: no Subject", m.Name)
	}
	sc := bufio.NewScanner(msg.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "---" {
			break // the diffstat and the diff follow
		}
		if rest, ok := strings.CutPrefix(line, flavourTrailer); ok {
			f, err := kbase.ParseFlavour(rest)
			if err != nil || f == kbase.Base || f == kbase.Custom {
				return Mutant{}, fmt.Errorf("mutant %s: %s %q: want patched or a flavour the BASE file declares", m.Name, flavourTrailer, strings.TrimSpace(rest))
			}
			m.Flavour = f
			continue
		}
		rest, ok := strings.CutPrefix(line, trailer)
		if !ok {
			continue
		}
		for _, name := range strings.Split(rest, ",") {
			if name = strings.TrimSpace(name); name != "" {
				m.ExpectKilledBy = append(m.ExpectKilledBy, name)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return Mutant{}, fmt.Errorf("mutant %s: %w", m.Name, err)
	}
	if len(m.ExpectKilledBy) == 0 {
		return Mutant{}, fmt.Errorf("mutant %s: no Expect-killed-by trailer naming the scenarios expected to kill it", m.Name)
	}
	return m, nil
}

// Load reads every *.patch of dir, in name order, whose name matches
// glob (empty: all), and checks each expected killer is in cat.
func Load(dir, glob string, cat catalogue.Catalogue) ([]Mutant, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.patch"))
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	var out []Mutant
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".patch")
		if glob != "" {
			ok, err := filepath.Match(glob, name)
			if err != nil {
				return nil, fmt.Errorf("MUTANT=%s: %w", glob, err)
			}
			if !ok {
				continue
			}
		}
		m, err := Parse(p)
		if err != nil {
			return nil, err
		}
		for _, k := range m.ExpectKilledBy {
			if _, err := cat.Lookup([]string{k}); err != nil {
				return nil, fmt.Errorf("mutant %s: %s names %w", m.Name, trailer, err)
			}
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no mutant in %s matches %q", dir, glob)
	}
	return out, nil
}

// Scenarios are what one boot runs for m: the expected killers first,
// then the other scenarios of their areas, in catalogue order. Manual
// scenarios and the harness's self-tests are left out: they prove the
// harness, not the kernel paths a mutant changes.
func Scenarios(cat catalogue.Catalogue, m Mutant) []string {
	areas := map[string]bool{}
	out := slices.Clone(m.ExpectKilledBy)
	for _, s := range cat {
		if slices.Contains(m.ExpectKilledBy, s.Name) {
			areas[s.Area] = true
		}
	}
	for _, s := range cat {
		if areas[s.Area] && !s.Manual && s.Area != "harness" && !slices.Contains(out, s.Name) {
			out = append(out, s.Name)
		}
	}
	return out
}

// Verdict is a mutant's outcome.
type Verdict string

// The outcomes of a mutant.
const (
	// Killed: a scenario did not match its patched declaration (a
	// failure, a kernel report, a TIMEOUT or a panic in a scenario).
	Killed Verdict = "killed"
	// Survived: every scenario that ran matched its declaration.
	Survived Verdict = "survived"
	// NotRun: the mutant did not apply, build or boot; no verdict on
	// the scenarios.
	NotRun Verdict = "not run"
	// Flaky: the only scenarios that did not match failed by a TIMEOUT
	// that a fresh guest did not confirm (report.Scenario.Convicts):
	// no verdict on the mutant, never counted as killed.
	Flaky Verdict = "flaky"
)

// Stage is how far a mutant's run got.
type Stage string

// Stages of a mutant run, in order.
const (
	StageApply Stage = "apply"
	StageBuild Stage = "build"
	StageBoot  Stage = "boot"
	StageRun   Stage = "run" // booted; the scenarios have verdicts
)

// Run is what a Runner reports for one mutant.
type Run struct {
	// Stage is the last stage reached; Err says why it stopped there
	// (empty when the scenarios ran).
	Stage Stage
	Err   string
	// Scenarios are the verdicts judged against the patched
	// declarations; Dir is the run's results directory.
	Scenarios []report.Scenario
	Dir       string
	// BuildSeconds and RunSeconds time the incremental build and the
	// boot with its scenarios.
	BuildSeconds, RunSeconds float64
}

// Result is one mutant's judged outcome.
type Result struct {
	Name    string  `json:"name"`
	Subject string  `json:"subject"`
	Verdict Verdict `json:"verdict"`
	// KilledBy are the scenarios that did not match, with why.
	KilledBy []Kill `json:"killed_by,omitempty"`
	// TimedOut are the scenarios that failed only by a TIMEOUT that no
	// fresh guest confirmed: no kill.
	TimedOut []Kill `json:"timed_out_unconfirmed,omitempty"`
	// Expected are the Expect-killed-by scenarios; ExpectedKilled says
	// whether at least one of them is among the killers.
	Expected       []string `json:"expected"`
	ExpectedKilled bool     `json:"expected_killed"`
	// Ran is how many scenarios had a verdict.
	Ran          int     `json:"scenarios_run"`
	Stage        Stage   `json:"stage"`
	Error        string  `json:"error,omitempty"`
	Dir          string  `json:"results_dir,omitempty"`
	BuildSeconds float64 `json:"build_seconds"`
	RunSeconds   float64 `json:"run_seconds"`
}

// Kill is one scenario that noticed a mutant.
type Kill struct {
	Scenario string `json:"scenario"`
	// How: the scenario's verdict and directive ("fail", "fail
	// TIMEOUT"), and for a TIMEOUT-only failure its confirmation
	// ("fail TIMEOUT, confirmed").
	How    string `json:"how"`
	Reason string `json:"reason,omitempty"`
}

// Hang says whether the kill rests on a confirmed TIMEOUT.
func (k Kill) Hang() bool { return strings.HasSuffix(k.How, ", "+string(report.Confirmed)) }

// Shown is the verdict as the table writes it: "killed (hang,
// confirmed)" when every kill is a TIMEOUT a fresh guest confirmed.
func (r Result) Shown() string {
	if r.Verdict != Killed {
		return string(r.Verdict)
	}
	for _, k := range r.KilledBy {
		if !k.Hang() {
			return string(r.Verdict)
		}
	}
	return string(r.Verdict) + " (hang, confirmed)"
}

// Judge classifies one mutant's run. A scenario that never ran (verdict
// error: the guest was gone) is no kill; one that failed or met a
// kernel report against a pass declaration is, and so is a TIMEOUT that
// a fresh guest confirmed. A TIMEOUT alone, not confirmed, is no kill:
// if it is all there is, the mutant is flaky.
func Judge(m Mutant, r Run) Result {
	res := Result{
		Name: m.Name, Subject: m.Subject, Expected: m.ExpectKilledBy,
		Stage: r.Stage, Error: r.Err, Dir: r.Dir,
		BuildSeconds: r.BuildSeconds, RunSeconds: r.RunSeconds,
	}
	for _, s := range r.Scenarios {
		if s.Verdict == verdict.Error {
			continue
		}
		res.Ran++
		if s.Matches {
			continue
		}
		how := string(s.Verdict)
		if s.Directive != "" {
			how += " " + s.Directive
		}
		if s.Confirmation != "" {
			how += ", " + string(s.Confirmation)
		}
		k := Kill{Scenario: s.Name, How: how, Reason: firstLine(s.Reason)}
		if !s.Convicts() {
			res.TimedOut = append(res.TimedOut, k)
			continue
		}
		res.KilledBy = append(res.KilledBy, k)
		if slices.Contains(m.ExpectKilledBy, s.Name) {
			res.ExpectedKilled = true
		}
	}
	switch {
	case len(res.KilledBy) > 0:
		res.Verdict = Killed
	case len(res.TimedOut) > 0:
		res.Verdict = Flaky
	case r.Stage != StageRun || res.Ran == 0:
		// Nothing was judged: apply, build or boot trouble.
		res.Verdict = NotRun
		if res.Error == "" {
			res.Error = "no scenario ran"
		}
	default:
		res.Verdict = Survived
	}
	return res
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
