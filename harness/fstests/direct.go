package fstests

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Whether an fstests test uses direct I/O is read from the checkout by
// explicit rules, applied to the test's shell text with its comments
// removed:
//
//   - it calls _require_odirect, _require_aiodio or _require_aio;
//   - it passes direct I/O options: xfs_io -d (or an "open -d" command),
//     fsx -Z, fio's --direct=1 or a direct=1 line in a here-document (a
//     job file), dd's oflag=direct or iflag=direct;
//   - it runs a test program (src/<name>, or _require_test_program
//     "<name>") whose C source src/<name>.c uses O_DIRECT outside
//     comments and string literals.
//
// Anything else (a comment, a helper of common/ the test calls, a
// program built from other sources) does not count.

// Evidence is one place where a rule matched a test.
type Evidence struct {
	// Rule names what matched: "_require_odirect", "xfs_io -d",
	// "fsx -Z", "fio direct=1", "dd oflag=direct", "src/<name>".
	Rule string `json:"rule"`
	// Line is the line of the test it matched on.
	Line int `json:"line"`
	// Source is, for a test program, where its C source uses O_DIRECT
	// (src/<name>.c:<line>).
	Source string `json:"source,omitempty"`
}

func (e Evidence) String() string {
	if e.Source != "" {
		return fmt.Sprintf("%s, O_DIRECT at %s (line %d)", e.Rule, e.Source, e.Line)
	}
	return fmt.Sprintf("%s (line %d)", e.Rule, e.Line)
}

// requireDirect are the fstests requirements that only tests doing
// direct or asynchronous direct I/O call.
var requireDirect = []string{"_require_odirect", "_require_aiodio", "_require_aio"}

// DirectIO lists the rules that match test (e.g. "generic/095") in the
// checkout at dir, each rule once, at its first line; none when the
// test does not use direct I/O by these rules.
func DirectIO(dir, test string) ([]Evidence, error) {
	b, err := os.ReadFile(filepath.Join(dir, "tests", test))
	if err != nil {
		return nil, fmt.Errorf("fstests: read %s: %w", test, err)
	}
	var out []Evidence
	seen := map[string]bool{}
	add := func(e Evidence) {
		if !seen[e.Rule] {
			seen[e.Rule] = true
			out = append(out, e)
		}
	}
	for _, l := range shellLines(string(b)) {
		if l.heredoc {
			// A job file for fio.
			if fioDirect.MatchString(l.text) {
				add(Evidence{Rule: "fio direct=1", Line: l.no})
			}
			continue
		}
		for _, cmd := range shellCommands(l.text) {
			for _, r := range commandRules(cmd) {
				add(Evidence{Rule: r, Line: l.no})
			}
			for _, prog := range programs(cmd) {
				rule := "src/" + prog
				if seen[rule] {
					continue
				}
				src, line, err := cUsesODirect(dir, prog)
				if err != nil {
					return nil, fmt.Errorf("fstests: %s: %w", test, err)
				}
				if line > 0 {
					add(Evidence{Rule: rule, Line: l.no, Source: fmt.Sprintf("%s:%d", src, line)})
				}
			}
		}
	}
	return out, nil
}

// fioDirect is fio's direct=1 in a job file (a heredoc in the test;
// fio's comments start with # or ;).
var fioDirect = regexp.MustCompile(`^\s*direct\s*=\s*1\s*(;.*)?$`)

// ddDirect is dd's oflag= or iflag= with direct among its flags.
var ddDirect = regexp.MustCompile(`^([io])flag=([a-z_]+,)*direct(,[a-z_]+)*$`)

// commandRules are the rules one shell command matches, other than the
// test program rule.
func commandRules(cmd []string) []string {
	var out []string
	if first, i := commandName(cmd); i >= 0 {
		for _, r := range requireDirect {
			if first == r {
				out = append(out, r)
			}
		}
	}
	for i, w := range cmd {
		switch name := progName(w); {
		case name == "FIO_PROG" || name == "fio":
			if slices.Contains(cmd[i+1:], "--direct=1") {
				out = append(out, "fio direct=1")
			}
		case name == "dd":
			for _, a := range cmd[i+1:] {
				if ddDirect.MatchString(a) {
					out = append(out, "dd "+a[:1]+"flag=direct")
				}
			}
		case name == "XFS_IO_PROG" || name == "xfs_io":
			if xfsIODirect(cmd[i+1:]) {
				out = append(out, "xfs_io -d")
			}
		case name == "FSX_PROG" || name == "fsx" || strings.HasPrefix(strings.TrimPrefix(name, "_"), "run_fsx"):
			for _, a := range cmd[i+1:] {
				if isFlags(a) && strings.ContainsRune(a[1:], 'Z') {
					out = append(out, "fsx -Z")
					break
				}
			}
		}
	}
	return out
}

// commandName is a command's name and index, after shell keywords and
// variable assignments; -1 when there is none.
func commandName(cmd []string) (string, int) {
	for i, w := range cmd {
		switch {
		case shellKeywords[w], assignment.MatchString(w):
			continue
		}
		return w, i
	}
	return "", -1
}

var shellKeywords = map[string]bool{"if": true, "then": true, "else": true, "elif": true, "fi": true,
	"do": true, "done": true, "while": true, "until": true, "!": true, "{": true, "}": true, "time": true}

var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// progName is the name a word calls: $XFS_IO_PROG, ${XFS_IO_PROG} and
// $here/ltp/fsx become XFS_IO_PROG and fsx.
func progName(w string) string {
	w = strings.TrimPrefix(w, "$")
	w = strings.TrimSuffix(strings.TrimPrefix(w, "{"), "}")
	return w[strings.LastIndex(w, "/")+1:]
}

// isFlags is true for a cluster of short options ("-d", "-fd").
func isFlags(w string) bool {
	if len(w) < 2 || w[0] != '-' {
		return false
	}
	for _, r := range w[1:] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// xfsIOArg are xfs_io's options that take an argument.
const xfsIOArg = "cCmp"

// xfsIODirect is true when xfs_io's arguments open the file with
// O_DIRECT: -d among the options, or an "open -d" command.
func xfsIODirect(args []string) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !isFlags(a) {
			continue
		}
		for j, r := range a[1:] {
			if r == 'd' {
				return true
			}
			if strings.ContainsRune(xfsIOArg, r) {
				arg := a[2+j:]
				if arg == "" && i+1 < len(args) {
					i++
					arg = args[i]
				}
				if (r == 'c' || r == 'C') && openDirect(arg) {
					return true
				}
				break
			}
		}
	}
	return false
}

// openDirect is true for xfs_io's "open -d file" command.
func openDirect(cmd string) bool {
	for _, c := range shellCommands(cmd) {
		if len(c) == 0 || c[0] != "open" {
			continue
		}
		for _, a := range c[1:] {
			if isFlags(a) && strings.ContainsRune(a[1:], 'd') {
				return true
			}
		}
	}
	return false
}

// srcProgram is a word naming a program of the checkout's src/.
var srcProgram = regexp.MustCompile(`(?:^|/)src/([A-Za-z0-9_][A-Za-z0-9_.+/-]*)$`)

// programs are the test programs a command names: src/<name> words,
// and the argument of _require_test_program.
func programs(cmd []string) []string {
	var out []string
	if name, i := commandName(cmd); name == "_require_test_program" && i+1 < len(cmd) {
		out = append(out, cmd[i+1])
	}
	for _, w := range cmd {
		if m := srcProgram.FindStringSubmatch(w); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// cUsesODirect finds the first line of the checkout's src/<prog>.c that
// uses O_DIRECT outside comments and literals; 0 when it does not, or
// when the program has no such source.
func cUsesODirect(dir, prog string) (string, int, error) {
	rel := filepath.Join("src", filepath.FromSlash(prog)+".c")
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if errors.Is(err, os.ErrNotExist) {
		return rel, 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", rel, err)
	}
	for i, line := range strings.Split(cCode(string(b)), "\n") {
		if oDirect.MatchString(line) {
			return filepath.ToSlash(rel), i + 1, nil
		}
	}
	return rel, 0, nil
}

var oDirect = regexp.MustCompile(`\bO_DIRECT\b`)

// cCode blanks a C source's comments and string and character literals
// (keeping its line breaks), leaving the code.
func cCode(src string) string {
	var b strings.Builder
	const (
		code = iota
		line
		block
		str
		chr
	)
	state := code
	for i := 0; i < len(src); i++ {
		c := src[i]
		next := byte(0)
		if i+1 < len(src) {
			next = src[i+1]
		}
		switch state {
		case code:
			switch {
			case c == '/' && next == '/':
				state = line
				i++
				continue
			case c == '/' && next == '*':
				state = block
				i++
				continue
			case c == '"':
				state = str
				continue
			case c == '\'':
				state = chr
				continue
			}
			b.WriteByte(c)
			continue
		case line:
			if c == '\n' {
				state = code
			}
		case block:
			if c == '*' && next == '/' {
				state = code
				i++
				continue
			}
		case str, chr:
			switch {
			case c == '\\' && next != '\n':
				i++
				continue
			case c == '"' && state == str, c == '\'' && state == chr, c == '\n':
				state = code
			}
		}
		if c == '\n' {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// shellLine is one logical line of a shell script, its comment removed
// and its continuation lines joined, or one line of a heredoc's body;
// no is the line it starts on.
type shellLine struct {
	no      int
	text    string
	heredoc bool
}

// heredocStart finds a here-document's delimiter: <<EOF, <<-EOF,
// << 'EOF', <<"EOF" (not a here-string, <<<).
var heredocStart = regexp.MustCompile(`(^|[^<])<<(-?)\s*['"]?([A-Za-z_][A-Za-z0-9_]*)['"]?`)

// shellLines splits a script into logical lines without comments, and
// heredoc body lines. A comment starts at a '#' that begins a word
// outside quotes; quotes are followed within a physical line (fstests'
// tests do not quote across lines), so a line with an apostrophe in a
// double-quoted message keeps the rest of it.
func shellLines(script string) []shellLine {
	var out []shellLine
	var cur *shellLine
	var delim string
	var stripTabs bool
	for i, raw := range strings.Split(script, "\n") {
		if delim != "" {
			end := raw
			if stripTabs {
				end = strings.TrimLeft(end, "\t")
			}
			if end == delim {
				delim = ""
				continue
			}
			out = append(out, shellLine{no: i + 1, text: raw, heredoc: true})
			continue
		}
		text := stripComment(raw)
		cont := strings.HasSuffix(text, "\\") && !strings.HasSuffix(text, "\\\\")
		if cont {
			text = strings.TrimSuffix(text, "\\")
		}
		if cur == nil {
			out = append(out, shellLine{no: i + 1})
			cur = &out[len(out)-1]
		}
		cur.text += text
		if m := heredocStart.FindStringSubmatch(text); m != nil {
			delim, stripTabs = m[3], m[2] == "-"
		}
		if !cont {
			cur = nil
		}
	}
	return out
}

// stripComment removes a physical line's comment.
func stripComment(s string) string {
	var single, double bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && !single:
			i++
		case c == '\'' && !double:
			single = !single
		case c == '"' && !single:
			double = !double
		case c == '#' && !single && !double && (i == 0 || strings.IndexByte(" \t;|&()", s[i-1]) >= 0):
			return s[:i]
		}
	}
	return s
}

// shellCommands splits a logical line into simple commands (at unquoted
// ; | & ( ) and backquotes) of words, with quotes removed. A quoted
// argument stays one word: xfs_io -c "pwrite -d ..." does not pass -d
// to xfs_io.
func shellCommands(s string) [][]string {
	var cmds [][]string
	var words []string
	var w strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			words = append(words, w.String())
			w.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
			words = nil
		}
	}
	var single, double bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case single:
			if c == '\'' {
				single = false
			} else {
				w.WriteByte(c)
			}
		case double:
			switch {
			case c == '"':
				double = false
			case c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0:
				i++
				w.WriteByte(s[i])
			default:
				w.WriteByte(c)
			}
		case c == '\'':
			single, inWord = true, true
		case c == '"':
			double, inWord = true, true
		case c == '\\':
			if i+1 < len(s) {
				i++
				w.WriteByte(s[i])
				inWord = true
			}
		case c == ' ' || c == '\t' || c == '<' || c == '>':
			endWord()
		case strings.IndexByte(";|&()`", c) >= 0:
			// $( starts a command substitution: the $ is not a word.
			if c == '(' && inWord && strings.HasSuffix(w.String(), "$") {
				rest := strings.TrimSuffix(w.String(), "$")
				w.Reset()
				w.WriteString(rest)
				inWord = rest != ""
			}
			endCmd()
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	endCmd()
	return cmds
}
