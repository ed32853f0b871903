package vm

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// update rewrites the expected reports of the console corpus from what
// the parser makes of each console now; review the diff before
// committing it:
//
//	go test ./harness/vm -run TestConsoleCorpus -update
var update = flag.Bool("update", false, "rewrite testdata/console/*.want.json")

// corpusReport is a Report as the corpus stores it.
type corpusReport struct {
	Title  string   `json:"title"`
	During string   `json:"during,omitempty"`
	Lines  []string `json:"lines"`
}

// corpusResult is what the parser makes of one console.
type corpusResult struct {
	Panicked bool           `json:"panicked"`
	Reports  []corpusReport `json:"reports"`
}

// TestConsoleCorpus feeds real kernel consoles (testdata/console/*.log,
// see the README there) through the parser and compares the reports with
// the expectation next to each console.
func TestConsoleCorpus(t *testing.T) {
	logs, err := filepath.Glob(filepath.Join("testdata", "console", "*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no consoles in testdata/console: %v", err)
	}
	for _, log := range logs {
		name := strings.TrimSuffix(filepath.Base(log), ".log")
		t.Run(name, func(t *testing.T) {
			got := parseConsole(t, log)
			wantFile := strings.TrimSuffix(log, ".log") + ".want.json"
			if *update {
				var b bytes.Buffer
				enc := json.NewEncoder(&b)
				enc.SetEscapeHTML(false) // keep "<TASK>" readable
				enc.SetIndent("", "\t")
				if err := enc.Encode(got); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(wantFile, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (go test ./harness/vm -run TestConsoleCorpus -update writes it)", err)
			}
			var want corpusResult
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatalf("%s: %v", wantFile, err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s (-want +got):\n%s", name, d)
			}
		})
	}
}

func parseConsole(t *testing.T, log string) corpusResult {
	t.Helper()
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var copied strings.Builder
	c := newConsole(&copied, nil)
	c.consume(f)
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	// The console log a run keeps is the console as it arrived.
	if copied.String() != strings.ReplaceAll(string(raw), "\r", "") {
		t.Errorf("the kept console differs from the input")
	}
	res := corpusResult{Reports: []corpusReport{}}
	select {
	case <-c.Panicked():
		res.Panicked = true
	default:
	}
	for _, r := range c.Reports() {
		res.Reports = append(res.Reports, corpusReport{Title: r.Title, During: r.During, Lines: r.Lines})
	}
	return res
}
