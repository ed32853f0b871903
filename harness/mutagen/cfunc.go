// Package mutagen generates mutants of kernel C source: it finds the
// functions the catalogue claims to cover (the attach targets of the
// probe objects and the functions our series' hunks change, per base),
// applies mutation operators to their bodies (negate or drop a
// condition, shift a boundary by one, drop a call, swap a shared and an
// exclusive lock, skip an error return) and writes each mutant as a
// one-hunk patch that git am applies on the patched tree. Running them
// is harness/mutant's and the harness command's business.
//
// The parser is line based and relies on the kernel's coding style (a
// function body opens with "{" and closes with "}" alone at column 0;
// one statement per line): it is a generator of plausible one-line
// bugs, not a C front end. A mutant that does not compile is discarded
// by the run.
package mutagen

import (
	"regexp"
	"strings"
)

// Func is one function definition in a C file.
type Func struct {
	Name string
	// Open and Close are the 0-based line numbers of the "{" and "}"
	// that delimit the body.
	Open, Close int
}

var identBeforeParen = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*\(`)

// Functions lists the function definitions of a C file in source
// order.
func Functions(lines []string) []Func {
	var out []Func
	for i := 0; i < len(lines); i++ {
		if lines[i] != "{" {
			continue
		}
		name := signatureName(lines, i)
		end := -1
		for j := i + 1; j < len(lines); j++ {
			if lines[j] == "}" {
				end = j
				break
			}
		}
		if end < 0 {
			break
		}
		if name != "" {
			out = append(out, Func{Name: name, Open: i, Close: end})
		}
		i = end
	}
	return out
}

// signatureName finds the name of the function whose body opens at
// line open: the identifier before the first "(" of the signature,
// which starts after the previous blank line, "}" , ";", comment end
// or preprocessor line.
func signatureName(lines []string, open int) string {
	start := open
	for j := open - 1; j >= 0 && open-j <= 8; j-- {
		l := strings.TrimSpace(lines[j])
		if l == "" || strings.HasSuffix(l, ";") || l == "}" || strings.HasSuffix(l, "*/") || strings.HasPrefix(l, "#") {
			break
		}
		start = j
	}
	sig := strings.Join(lines[start:open], " ")
	// struct/array initialisers ("static const struct x y = {") are no
	// functions.
	if start == open || strings.Contains(sig, "=") {
		return ""
	}
	m := identBeforeParen.FindStringSubmatch(sig)
	if m == nil {
		return ""
	}
	switch m[1] {
	case "if", "for", "while", "switch", "sizeof", "__attribute__":
		return ""
	}
	return m[1]
}

// FuncAt returns the function whose body holds line (0-based).
func FuncAt(fs []Func, line int) (Func, bool) {
	for _, f := range fs {
		if line > f.Open && line < f.Close {
			return f, true
		}
	}
	return Func{}, false
}

// Named returns the definition of a function by name.
func Named(fs []Func, name string) (Func, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	return Func{}, false
}

// feature names what the guests never run: DAX (no persistent
// memory), atomic writes (no RWF_ATOMIC caller), zoned devices,
// fs-verity, encryption and inline data. A line that tests one, and the
// braced block such a test opens, is left alone: its mutants would be
// equivalent by configuration.
var feature = regexp.MustCompile(`(?i)dax|IOCB_ATOMIC|atomic_write|awu_|zoned|verity|ENCRYPT|inline_data`)

// compiledOut marks the lines of a body the generator leaves alone:
// those between preprocessor conditionals (whether they are built
// depends on the configuration) and those of features the guests never
// run (feature).
func compiledOut(lines []string, f Func) []bool {
	out := make([]bool, len(lines))
	depth := 0
	blockEnd := ""
	for i := f.Open + 1; i < f.Close; i++ {
		l := strings.TrimSpace(lines[i])
		if blockEnd != "" {
			out[i] = true
			if lines[i] == blockEnd {
				blockEnd = ""
			}
			continue
		}
		switch {
		case strings.HasPrefix(l, "#if"):
			depth++
		case strings.HasPrefix(l, "#endif"):
			if depth > 0 {
				depth--
			}
			out[i] = true
			continue
		}
		out[i] = depth > 0 || strings.HasPrefix(l, "#")
		if feature.MatchString(code(lines[i])) {
			out[i] = true
			if strings.HasSuffix(strings.TrimRight(code(lines[i]), " \t"), "{") {
				indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], "\t"))]
				blockEnd = indent + "}"
			}
		}
	}
	return out
}
