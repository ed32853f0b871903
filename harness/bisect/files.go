package bisect

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Request is what was asked: recorded next to the result.
type Request struct {
	Tree     string `json:"tree"`
	Good     string `json:"good"`
	Bad      string `json:"bad"`
	Scenario string `json:"scenario"`
	Runs     int    `json:"runs"`
}

// Write puts result.json and result.md into dir (results/bisect-<ts>/);
// the build logs and run directories the result names are kept where
// the Env wrote them, under dir too for the harness's Env.
func Write(dir string, req Request, res Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(struct {
		Request Request `json:"request"`
		Result  Result  `json:"result"`
	}{req, res}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "result.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("write result.json: %w", err)
	}
	var b strings.Builder
	Markdown(&b, req, res)
	if err := os.WriteFile(filepath.Join(dir, "result.md"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write result.md: %w", err)
	}
	return nil
}

// Summary is the one-line answer.
func Summary(res Result) string {
	switch res.Outcome {
	case Found:
		s := fmt.Sprintf("culprit %s %q after %d steps", short(res.Culprit.Hash), res.Culprit.Subject, res.Steps)
		if res.Confirmed {
			s += ", confirmed by revert"
		} else {
			s += ", NOT confirmed by revert"
		}
		if res.Suspect {
			s += ", SUSPECT: its kernel image is identical to its parent's"
		}
		return s
	case Inconclusive:
		var hs []string
		for _, c := range res.Range {
			hs = append(hs, short(c.Hash))
		}
		return fmt.Sprintf("inconclusive: the culprit is one of %s (the others were skipped)", strings.Join(hs, " "))
	}
	return fmt.Sprintf("%s: %s", res.Outcome, res.Error)
}

// Markdown writes the human summary: the answer, then every tested
// commit with its verdict and evidence.
func Markdown(w io.Writer, req Request, res Result) {
	fmt.Fprintf(w, "# Bisect of %s\n\n", req.Scenario)
	fmt.Fprintf(w, "Tree %s, GOOD %s, BAD %s, %d runs per commit (majority).\n\n", req.Tree, req.Good, req.Bad, req.Runs)
	fmt.Fprintf(w, "**%s**\n\n", Summary(res))
	if res.Error != "" && res.Outcome == Found {
		fmt.Fprintf(w, "Note: %s\n\n", res.Error)
	}
	fmt.Fprintf(w, "%.0f s in all, %.0f s to the culprit.\n\n", res.Seconds, res.ToCulprit)
	fmt.Fprintln(w, "| Commit | Subject | Role | Verdict | Why | Build (s) | Runs |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, t := range res.Tested {
		var runs []string
		for _, r := range t.Runs {
			s := fmt.Sprintf("%s (exit %d, %.0f s)", r.Verdict, r.Exit, r.Seconds)
			if r.Evidence != "" {
				s += ": " + r.Evidence
			}
			runs = append(runs, s)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.0f | %s |\n", short(t.Commit.Hash), cell(t.Commit.Subject), t.Role, t.Verdict,
			cell(t.Why), t.BuildSeconds, cell(strings.Join(runs, "; ")))
	}
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
