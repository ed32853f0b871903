package ktap

import (
	"strconv"
	"strings"
)

// maxNumber bounds plan sizes and test numbers. Larger values are treated as
// noise so that a garbled line cannot make Missing enormous.
const maxNumber = 100000

// kind classifies a single input line.
type kind int

const (
	kindUnknown kind = iota
	kindVersion
	kindPlan
	kindResult
	kindDiag
)

// line is one classified input line.
type line struct {
	indent  int    // leading spaces
	kind    kind   // what the rest of the line is
	version string // kindVersion: the whole version line
	plan    int    // kindPlan: N from "1..N"
	result  Result // kindResult: Number, Name, Status, Directive, Reason
	diag    string // kindDiag: text after "#" and one optional space
}

// classify parses one line of input. Lines that are not KTAP are kindUnknown.
func classify(raw string) line {
	raw = strings.TrimRight(raw, "\r\n")
	content := strings.TrimLeft(raw, " ")
	l := line{indent: len(raw) - len(content)}
	if strings.HasPrefix(content, "#") {
		l.kind = kindDiag
		l.diag = strings.TrimRight(strings.TrimPrefix(content[1:], " "), " \t\r")
		return l
	}
	content = strings.TrimRight(content, " \t\r")
	if v, ok := parseVersion(content); ok {
		l.kind, l.version = kindVersion, v
	} else if n, ok := parsePlan(content); ok {
		l.kind, l.plan = kindPlan, n
	} else if r, ok := parseResult(content); ok {
		l.kind, l.result = kindResult, r
	}
	return l
}

// parseVersion accepts "KTAP version N" and "TAP version N".
func parseVersion(s string) (string, bool) {
	proto, num, ok := strings.Cut(s, " version ")
	if !ok || (proto != "KTAP" && proto != "TAP") || !isDigits(num) {
		return "", false
	}
	return s, true
}

// parsePlan accepts "1..N", optionally followed by " # comment".
func parsePlan(s string) (int, bool) {
	rest, ok := strings.CutPrefix(s, "1..")
	if !ok {
		return 0, false
	}
	digits, comment, _ := strings.Cut(rest, " ")
	if comment = strings.TrimLeft(comment, " "); comment != "" && comment[0] != '#' {
		return 0, false
	}
	n, ok := parseNumber(digits)
	return n, ok
}

// parseResult accepts
//
//	<ok|not ok> <number> [<description>][ # [<directive>] [<data>]]
func parseResult(s string) (Result, bool) {
	var r Result
	switch {
	case strings.HasPrefix(s, "ok "):
		r.Status, s = Pass, s[len("ok "):]
	case strings.HasPrefix(s, "not ok "):
		r.Status, s = Fail, s[len("not ok "):]
	default:
		return Result{}, false
	}
	digits, rest, _ := strings.Cut(s, " ")
	n, ok := parseNumber(digits)
	if !ok {
		return Result{}, false
	}
	r.Number = n
	desc, data, hasData := cutUnescapedHash(rest)
	r.Name = unescapeName(strings.TrimPrefix(strings.TrimSpace(desc), "- "))
	if !hasData {
		return r, true
	}
	data = strings.TrimSpace(data)
	word, reason, _ := strings.Cut(data, " ")
	if d, ok := parseDirective(word); ok {
		r.Directive, r.Reason = d, strings.TrimSpace(reason)
		if d == DirSkip {
			r.Status = Skip
		}
	} else {
		r.Reason = data
	}
	return r, true
}

// cutUnescapedHash splits s at the first '#' not preceded by a backslash.
func cutUnescapedHash(s string) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // skip the escaped character
		case '#':
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// unescapeName undoes escapeName: `\#` becomes '#' and `\\` becomes '\'.
// Other backslashes are kept as they are.
func unescapeName(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '#' || s[i+1] == '\\') {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseNumber parses a test number or plan size within [0, maxNumber].
func parseNumber(s string) (int, bool) {
	if !isDigits(s) || len(s) > len(strconv.Itoa(maxNumber)) {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > maxNumber {
		return 0, false
	}
	return n, true
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
