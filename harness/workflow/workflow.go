// Package workflow checks the CI workflows of .github/workflows/ against
// the Makefile: every `make <target> VAR=...` a step's shell script runs
// must name a target the Makefile has and variables it reads, so that a
// renamed target or variable fails `make test` here, not a job on a
// runner an hour into a fork's first run.
//
// A workflow's steps are read from its YAML without a YAML library: the
// run: values this needs are a key and a literal block (run: |) or a
// one-line value, which a line reader finds exactly. Anything else
// (a folded block, run: >) is refused rather than guessed at. The
// scripts are parsed as bash (mvdan.cc/sh), with GitHub's ${{ ... }}
// expressions stood in for by a word.
package workflow

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Run is one step's shell script.
type Run struct {
	// Line is the line of the run: key in the workflow file, First
	// the line the script starts on.
	Line, First int
	// Script is the script with the block's indentation removed.
	Script string
}

var (
	runKey   = regexp.MustCompile(`^(\s*)(- )?run:\s*(.*)$`)
	stepsKey = regexp.MustCompile(`^(\s*)steps:\s*(#.*)?$`)
)

// Runs returns the run: scripts of the steps of a workflow, in file
// order (a job may be called run: only a step's run: is a script).
func Runs(yaml []byte) ([]Run, error) {
	lines := strings.Split(string(yaml), "\n")
	var runs []Run
	steps := -1 // the indentation of the steps: key we are under
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") && steps >= 0 && leading(l) <= steps {
			steps = -1
		}
		if m := stepsKey.FindStringSubmatch(l); m != nil {
			steps = len(m[1])
			continue
		}
		m := runKey.FindStringSubmatch(l)
		if m == nil || steps < 0 {
			continue
		}
		indent := len(m[1]) + len(m[2])
		value := strings.TrimSpace(stripComment(m[3]))
		switch {
		case strings.HasPrefix(value, "|"):
			var body []string
			j := i + 1
			for ; j < len(lines); j++ {
				l := lines[j]
				if strings.TrimSpace(l) != "" && leading(l) <= indent {
					break
				}
				body = append(body, l)
			}
			runs = append(runs, Run{Line: i + 1, First: i + 2, Script: dedent(body)})
			i = j - 1
		case strings.HasPrefix(value, ">"):
			return nil, fmt.Errorf("line %d: run: > (a folded block) is not checked: write the script as run: |", i+1)
		case value == "":
			return nil, fmt.Errorf("line %d: run: without a value on its line: write the script as run: |", i+1)
		default:
			s, err := unquote(value)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", i+1, err)
			}
			runs = append(runs, Run{Line: i + 1, First: i + 1, Script: s})
		}
	}
	return runs, nil
}

// stripComment drops a YAML comment after a block indicator ("| # x").
func stripComment(v string) string {
	if strings.HasPrefix(v, "|") || strings.HasPrefix(v, ">") {
		v, _, _ = strings.Cut(v, "#")
	}
	return v
}

func leading(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// dedent removes the indentation of a block's first non-empty line.
func dedent(body []string) string {
	n := -1
	for _, l := range body {
		if strings.TrimSpace(l) != "" {
			n = leading(l)
			break
		}
	}
	var b strings.Builder
	for _, l := range body {
		if len(l) >= n && n >= 0 {
			l = l[n:]
		} else {
			l = strings.TrimSpace(l)
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// unquote reads a one-line YAML scalar: plain, '...' or "...".
func unquote(v string) (string, error) {
	switch {
	case strings.HasPrefix(v, `'`):
		if len(v) < 2 || !strings.HasSuffix(v, `'`) {
			return "", fmt.Errorf("unterminated '...' run: value")
		}
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'"), nil
	case strings.HasPrefix(v, `"`):
		s, err := strconv.Unquote(v)
		if err != nil {
			return "", fmt.Errorf("run: value %s: %w", v, err)
		}
		return s, nil
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	return v, nil
}

// Make is one make invocation in a script.
type Make struct {
	// Line is the line in the workflow file.
	Line int
	// Text is the command as written.
	Text string
	// Targets are the goals, Vars the names of the VAR=value arguments.
	Targets, Vars []string
}

// expression is GitHub's ${{ ... }}, which is not shell syntax.
var expression = regexp.MustCompile(`\$\{\{[^}]*\}\}`)

// Makes returns the make invocations of a step's script: every simple
// command whose name is make, wherever it stands (a pipeline, an if,
// a subshell). A target or variable name that is not a literal word
// cannot be checked and is an error.
func Makes(r Run) ([]Make, error) {
	src := expression.ReplaceAllString(r.Script, "GITHUB_EXPRESSION")
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(src), "")
	if err != nil {
		return nil, fmt.Errorf("line %d: the step's script does not parse as bash: %w", r.Line, err)
	}
	var out []Make
	var errs []string
	printer := syntax.NewPrinter(syntax.SingleLine(true))
	syntax.Walk(f, func(n syntax.Node) bool {
		call, ok := n.(*syntax.CallExpr)
		if !ok || len(call.Args) == 0 || call.Args[0].Lit() != "make" {
			return true
		}
		var text bytes.Buffer
		printer.Print(&text, call)
		m := Make{Line: r.First + int(call.Pos().Line()) - 1, Text: text.String()}
		args := call.Args[1:]
		for i := 0; i < len(args); i++ {
			w := args[i]
			lit := prefix(w)
			switch {
			case strings.HasPrefix(lit, "-"):
				switch lit {
				case "-C", "-f", "--directory", "--file", "--makefile":
					errs = append(errs, fmt.Sprintf("line %d: %s: make %s runs another Makefile, which is not checked", m.Line, m.Text, lit))
				case "-I", "-o", "-W":
					i++
				}
			case strings.Contains(lit, "="):
				name, _, _ := strings.Cut(lit, "=")
				name = strings.TrimSuffix(strings.TrimSuffix(name, ":"), "+")
				m.Vars = append(m.Vars, name)
			case w.Lit() != "":
				m.Targets = append(m.Targets, lit)
			default:
				errs = append(errs, fmt.Sprintf("line %d: %s: an argument that is not a literal target or VAR=value cannot be checked", m.Line, m.Text))
			}
		}
		out = append(out, m)
		return true
	})
	if len(errs) > 0 {
		return out, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return out, nil
}

// prefix is the literal text a word starts with ("SHARD=" of
// SHARD="$SHARD").
func prefix(w *syntax.Word) string {
	if len(w.Parts) == 0 {
		return ""
	}
	if l, ok := w.Parts[0].(*syntax.Lit); ok {
		return l.Value
	}
	if q, ok := w.Parts[0].(*syntax.SglQuoted); ok {
		return q.Value
	}
	return ""
}

// Makefile is what a Makefile offers a command line.
type Makefile struct {
	// Targets have a rule.
	Targets map[string]bool
	// Vars are assigned or read ($(NAME), ${NAME}) somewhere in it.
	Vars map[string]bool
}

var (
	ruleLine   = regexp.MustCompile(`^([^\s#=:][^#=:]*?)\s*::?(\s|$)`)
	assignLine = regexp.MustCompile(`^(?:export\s+|override\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:\?|:|::|\+|!)?=`)
	reference  = regexp.MustCompile(`\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]`)
	exportLine = regexp.MustCompile(`^export\s+([A-Za-z_][A-Za-z0-9_ ]*)$`)
)

// ParseMakefile reads the targets and variables of a Makefile.
func ParseMakefile(text []byte) Makefile {
	mf := Makefile{Targets: map[string]bool{}, Vars: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		l := sc.Text()
		for _, m := range reference.FindAllStringSubmatch(l, -1) {
			mf.Vars[m[1]] = true
		}
		if strings.HasPrefix(l, "\t") {
			continue
		}
		if m := assignLine.FindStringSubmatch(l); m != nil {
			mf.Vars[m[1]] = true
			continue
		}
		if m := exportLine.FindStringSubmatch(l); m != nil {
			for _, v := range strings.Fields(m[1]) {
				mf.Vars[v] = true
			}
			continue
		}
		if m := ruleLine.FindStringSubmatch(l); m != nil {
			for _, t := range strings.Fields(m[1]) {
				if !strings.HasPrefix(t, ".") && !strings.Contains(t, "%") {
					mf.Targets[t] = true
				}
			}
		}
	}
	return mf
}

// Check returns one line per make invocation of the workflow that names
// a target or a variable the Makefile lacks, and the invocations it
// checked.
func Check(mf Makefile, name string, yaml []byte) ([]Make, []string) {
	runs, err := Runs(yaml)
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: %v", name, err)}
	}
	var all []Make
	var problems []string
	for _, r := range runs {
		makes, err := Makes(r)
		if err != nil {
			for _, l := range strings.Split(err.Error(), "\n") {
				problems = append(problems, name+": "+l)
			}
		}
		for _, m := range makes {
			if len(m.Targets) == 0 {
				problems = append(problems, fmt.Sprintf("%s: line %d: %s: name the target (the default goal is help)", name, m.Line, m.Text))
			}
			for _, t := range m.Targets {
				if !mf.Targets[t] {
					problems = append(problems, fmt.Sprintf("%s: line %d: %s: no target %s in the Makefile", name, m.Line, m.Text, t))
				}
			}
			for _, v := range m.Vars {
				if !mf.Vars[v] {
					problems = append(problems, fmt.Sprintf("%s: line %d: %s: the Makefile reads no variable %s", name, m.Line, m.Text, v))
				}
			}
		}
		all = append(all, makes...)
	}
	sort.Strings(problems)
	return all, problems
}

// CheckFiles checks workflow files against the Makefile at makefile.
func CheckFiles(makefile string, workflows ...string) ([]Make, []string, error) {
	b, err := os.ReadFile(makefile)
	if err != nil {
		return nil, nil, fmt.Errorf("workflow check: %w", err)
	}
	mf := ParseMakefile(b)
	var all []Make
	var problems []string
	for _, w := range workflows {
		y, err := os.ReadFile(w)
		if err != nil {
			return nil, nil, fmt.Errorf("workflow check: %w", err)
		}
		makes, p := Check(mf, w, y)
		all = append(all, makes...)
		problems = append(problems, p...)
	}
	return all, problems, nil
}
