// Package resultspage renders results/index.html: one self-contained
// page (no network, no external file) made from the JSON results, with
// the verdict matrix per base, per scenario the probe evidence that
// justified each verdict (the KTAP diagnostics summary.json carries),
// mutant and bisect results where present, and SVG plots.
package resultspage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"dioharness/harness/bench"
	"dioharness/harness/kbase"
	"dioharness/harness/report"
)

// Data is everything the page shows.
type Data struct {
	// Bases are the matrix sections, one per kernel base.
	Bases []Base
	// Bench is results/bench.json; nil when absent.
	Bench *bench.Results
	// Extras are other JSON results shown as tables (mutants, bisect).
	Extras []Extra
	// Sources are the files the page was made from, relative to the
	// results directory.
	Sources []string
}

// Base is one base's matrix and, when the runs' directories exist, the
// runs behind its columns (for evidence and durations).
type Base struct {
	Name   string
	Matrix report.Matrix
	// Runs line up with Matrix.Columns; nil when the matrix came from
	// matrix.json alone.
	Runs []report.Run
}

// Extra is a JSON result file this package has no schema for, shown as
// a generic table.
type Extra struct {
	Title string
	Table Table
}

// Table is a rendered table of strings.
type Table struct {
	Head []string
	Rows [][]string
}

// Load reads the results directory: for every kernel the newest of the
// runs covering the most scenarios (results/<base>-<flavour>-<time>/
// summary.json; shards are left to harness merge), or results/matrix.json when no run directory
// exists, results/bench.json, results/mutants.json and results/bisect-*/.
func Load(dir string) (Data, error) {
	var d Data
	runs, srcs, err := latestRuns(dir)
	if err != nil {
		return d, err
	}
	d.Sources = append(d.Sources, srcs...)
	if len(runs) > 0 {
		d.Bases = byBase(runs)
	} else {
		m, err := report.LoadMatrix(filepath.Join(dir, "matrix.json"))
		if err != nil {
			return d, fmt.Errorf("results page: no run in %s and no usable matrix.json: %w", dir, err)
		}
		d.Sources = append(d.Sources, "matrix.json")
		for _, b := range baseNames(m.Columns) {
			d.Bases = append(d.Bases, Base{Name: b, Matrix: m.Select(b)})
		}
	}
	if b, err := bench.Load(filepath.Join(dir, "bench.json")); err == nil {
		d.Bench = &b
		d.Sources = append(d.Sources, "bench.json")
	} else if !errors.Is(err, fs.ErrNotExist) {
		return d, err
	}
	// The default base's full mutant run is mutants.json; another base's
	// is mutants-<base>/mutants.json (a subset's directory also has a
	// timestamp and is left out).
	extras := []string{filepath.Join(dir, "mutants.json")}
	others, _ := filepath.Glob(filepath.Join(dir, "mutants-v*", "mutants.json"))
	for _, p := range others {
		if !strings.Contains(strings.TrimPrefix(filepath.Base(filepath.Dir(p)), "mutants-v"), "-") {
			extras = append(extras, p)
		}
	}
	bis, _ := filepath.Glob(filepath.Join(dir, "bisect-*", "*.json"))
	extras = append(extras, bis...)
	for _, p := range extras {
		rel, _ := filepath.Rel(dir, p)
		if filepath.Base(p) == "mutants.json" {
			if ts, ok := mutantTables(p, rel); ok {
				d.Extras = append(d.Extras, ts...)
				d.Sources = append(d.Sources, rel)
				continue
			}
		}
		e, err := loadExtra(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return d, err
		}
		e.Title = rel
		d.Extras = append(d.Extras, e)
		d.Sources = append(d.Sources, rel)
	}
	return d, nil
}

// latestRuns finds, for every kernel, the newest of its runs that cover
// the most scenarios: a later run of one scenario (a bench, a flake
// check) does not replace the catalogue run in the matrix.
func latestRuns(dir string) ([]report.Run, []string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*", "summary.json"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(paths)
	newest := map[kbase.Variant]report.Run{}
	src := map[kbase.Variant]string{}
	for _, p := range paths {
		name := filepath.Base(filepath.Dir(p))
		if strings.Contains(name, "-shard") {
			continue
		}
		r, err := report.LoadRun(p)
		if err != nil {
			return nil, nil, err
		}
		if old, ok := newest[r.Variant]; ok && !broaderOrNewer(r, old) {
			continue
		}
		newest[r.Variant] = r
		src[r.Variant] = filepath.Join(name, "summary.json")
	}
	var runs []report.Run
	for _, r := range newest {
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool { return variantLess(runs[i].Variant, runs[j].Variant) })
	var srcs []string
	for _, r := range runs {
		srcs = append(srcs, src[r.Variant])
	}
	return runs, srcs, nil
}

// broaderOrNewer reports whether r should replace old: more distinct
// scenarios, or as many and newer.
func broaderOrNewer(r, old report.Run) bool {
	a, b := distinct(r), distinct(old)
	if a != b {
		return a > b
	}
	return r.Started.After(old.Started)
}

func distinct(r report.Run) int {
	seen := map[string]bool{}
	for _, s := range r.Scenarios {
		seen[s.Name] = true
	}
	return len(seen)
}

// variantLess orders newer bases first, base before patched.
func variantLess(a, b kbase.Variant) bool {
	if a.Base != b.Base {
		return a.Base > b.Base
	}
	return flavourRank(a.Flavour) < flavourRank(b.Flavour)
}

func flavourRank(f kbase.Flavour) int {
	for i, g := range kbase.Flavours {
		if g == f {
			return i
		}
	}
	return len(kbase.Flavours)
}

// byBase makes one matrix per base from runs sorted by variantLess.
func byBase(runs []report.Run) []Base {
	var out []Base
	for i := 0; i < len(runs); {
		j := i
		for j < len(runs) && runs[j].Variant.Base == runs[i].Variant.Base {
			j++
		}
		group := runs[i:j]
		out = append(out, Base{Name: baseName(runs[i].Variant.Base), Matrix: report.BuildMatrix(group...), Runs: group})
		i = j
	}
	return out
}

// baseNames lists the bases of the columns, in column order.
func baseNames(cols []report.Column) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range cols {
		if !seen[c.Variant.Base] {
			seen[c.Variant.Base] = true
			out = append(out, c.Variant.Base)
		}
	}
	return out
}

func baseName(b string) string {
	if b == "" {
		return "custom"
	}
	return b
}

// loadExtra shows a JSON file of unknown schema: a list of objects as a
// table of their keys, an object as key/value rows.
func loadExtra(path string) (Extra, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Extra{}, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return Extra{}, fmt.Errorf("results page: %s: %w", path, err)
	}
	if obj, ok := v.(map[string]any); ok {
		// A file that wraps its list ({"mutants": [...]}) shows the list.
		if len(obj) == 1 {
			for _, inner := range obj {
				if l, ok := inner.([]any); ok {
					v = l
				}
			}
		}
	}
	var t Table
	switch x := v.(type) {
	case []any:
		keys := map[string]bool{}
		for _, e := range x {
			if o, ok := e.(map[string]any); ok {
				for k := range o {
					keys[k] = true
				}
			}
		}
		for k := range keys {
			t.Head = append(t.Head, k)
		}
		sort.Strings(t.Head)
		for _, e := range x {
			o, ok := e.(map[string]any)
			if !ok {
				t.Rows = append(t.Rows, []string{scalar(e)})
				continue
			}
			var row []string
			for _, k := range t.Head {
				row = append(row, scalar(o[k]))
			}
			t.Rows = append(t.Rows, row)
		}
	case map[string]any:
		t.Head = []string{"key", "value"}
		var keys []string
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.Rows = append(t.Rows, []string{k, scalar(x[k])})
		}
	default:
		t.Head = []string{"value"}
		t.Rows = [][]string{{scalar(x)}}
	}
	return Extra{Table: t}, nil
}

// scalar formats a JSON value for a table cell.
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64, bool:
		return fmt.Sprint(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
