package mutagen

import (
	"fmt"
	"regexp"
	"strings"
)

// Class is a mutation operator.
type Class string

// The operators. Each yields one mutant per site it applies to.
const (
	// NegateCondition: if (c) -> if (!(c)).
	NegateCondition Class = "negate-condition"
	// DropCondition: one operand of a top-level && or || of an if
	// condition is removed.
	DropCondition Class = "drop-condition"
	// Boundary: a relational operator loses or gains equality (<= and
	// <, >= and >), or a "- 1" / "+ 1" is dropped.
	Boundary Class = "boundary"
	// DropCall: a call statement is removed.
	DropCall Class = "drop-call"
	// SwapLock: a shared lock becomes exclusive or the other way round.
	SwapLock Class = "swap-lock"
	// SkipErrorReturn: the return or goto taken on an error is removed.
	SkipErrorReturn Class = "skip-error-return"
)

// Classes are the operators in report order.
var Classes = []Class{NegateCondition, DropCondition, Boundary, DropCall, SwapLock, SkipErrorReturn}

// Mutation is one change to one function: lines [Line, Line+len(Old))
// become New.
type Mutation struct {
	// File is the path in the kernel tree, Func the function.
	File, Func string
	Class      Class
	// N numbers the sites of this class in the function, from 1 in
	// source order: File, Func, Class and N name the mutant.
	N    int
	Line int // 0-based
	Old  []string
	New  []string
}

// Name is the mutant's name: "g-" + the file's directory and stem, the
// function, the class and N ("g-fuse-file-fuse_dio_lock-boundary-2").
func (m Mutation) Name() string {
	return fmt.Sprintf("g-%s-%s-%s-%d", fileTag(m.File), m.Func, m.Class, m.N)
}

// fileTag is "fuse-file" for fs/fuse/file.c, "mm-filemap" for mm/filemap.c.
func fileTag(path string) string {
	parts := strings.Split(strings.TrimSuffix(path, ".c"), "/")
	if len(parts) >= 2 {
		parts = parts[len(parts)-2:]
	}
	return strings.Join(parts, "-")
}

// Describe is the change in one line: "if (a && b) => if (a)".
func (m Mutation) Describe() string {
	squash := func(ls []string) string {
		var parts []string
		for _, l := range ls {
			parts = append(parts, strings.TrimSpace(l))
		}
		return strings.Join(parts, " ")
	}
	return squash(m.Old) + " => " + squash(m.New)
}

// site is a mutation before it is numbered.
type site struct {
	class Class
	line  int
	old   []string
	new   []string
}

// Mutations applies every operator to the body of f and numbers the
// sites per class in source order.
func Mutations(file string, lines []string, f Func) []Mutation {
	skip := compiledOut(lines, f)
	var sites []site
	for i := f.Open + 1; i < f.Close; i++ {
		if skip[i] || isComment(lines[i]) {
			continue
		}
		sites = append(sites, condSites(lines, i, f.Close)...)
		sites = append(sites, boundarySites(lines, i)...)
		sites = append(sites, dropCallSites(lines, i, f.Close)...)
		sites = append(sites, swapLockSites(lines, i)...)
		sites = append(sites, skipReturnSites(lines, i)...)
	}
	count := map[Class]int{}
	var out []Mutation
	for _, s := range sites {
		count[s.class]++
		out = append(out, Mutation{File: file, Func: f.Name, Class: s.class, N: count[s.class], Line: s.line, Old: s.old, New: s.new})
	}
	return out
}

func isComment(l string) bool {
	t := strings.TrimSpace(l)
	return t == "" || t == "*" || strings.HasPrefix(t, "/*") || strings.HasPrefix(t, "* ") ||
		strings.HasPrefix(t, "*/") || strings.HasPrefix(t, "//")
}

// code is a line without a trailing comment.
func code(l string) string {
	if i := strings.Index(l, "/*"); i >= 0 {
		return l[:i]
	}
	if i := strings.Index(l, "//"); i >= 0 {
		return l[:i]
	}
	return l
}

var ifStart = regexp.MustCompile(`^(\s*(?:\} else )?)(if|while) \(`)

// condition finds the condition of an if or while starting at line i:
// the text between its parentheses (lines joined), the line the
// condition closes on, and what follows the closing parenthesis there.
func condition(lines []string, i, limit int) (lead, kw, cond string, end int, tail string, ok bool) {
	m := ifStart.FindStringSubmatchIndex(lines[i])
	if m == nil {
		return "", "", "", 0, "", false
	}
	lead, kw = lines[i][m[2]:m[3]], lines[i][m[4]:m[5]]
	depth := 1
	var b strings.Builder
	text := lines[i][m[1]:]
	for j := i; j < limit && j < i+6; j++ {
		if j > i {
			text = strings.TrimSpace(code(lines[j]))
			b.WriteByte(' ')
		}
		if strings.ContainsAny(text, `"'`) {
			return "", "", "", 0, "", false
		}
		for k := 0; k < len(text); k++ {
			switch text[k] {
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					b.WriteString(text[:k])
					return lead, kw, b.String(), j, text[k+1:], true
				}
			}
		}
		b.WriteString(text)
	}
	return "", "", "", 0, "", false
}

// condSites are the negate-condition and drop-condition mutants of the
// if or while at line i.
func condSites(lines []string, i, limit int) []site {
	lead, kw, cond, end, tail, ok := condition(lines, i, limit)
	if !ok {
		return nil
	}
	tail = strings.TrimRight(tail, " \t")
	if tail != "" && tail != " {" && tail != "{" {
		return nil // a statement on the same line: leave it
	}
	old := append([]string(nil), lines[i:end+1]...)
	rebuild := func(c string) []string { return []string{lead + kw + " (" + c + ")" + tail} }
	var out []site
	if kw == "if" {
		out = append(out, site{class: NegateCondition, line: i, old: old, new: rebuild("!(" + cond + ")")})
	}
	ops, op := splitTop(cond)
	if len(ops) > 1 {
		for k := range ops {
			kept := append(append([]string(nil), ops[:k]...), ops[k+1:]...)
			out = append(out, site{class: DropCondition, line: i, old: old, new: rebuild(strings.Join(kept, " "+op+" "))})
		}
	}
	return out
}

// splitTop splits a condition at its top-level && or || (not inside
// parentheses) and returns the operands and the operator; a mix of both
// is left alone (precedence).
func splitTop(c string) ([]string, string) {
	var out []string
	depth, last := 0, 0
	seen := ""
	for k := 0; k+1 < len(c); k++ {
		switch c[k] {
		case '(':
			depth++
		case ')':
			depth--
		case '&', '|':
			if depth == 0 && c[k+1] == c[k] {
				op := c[k : k+2]
				if seen != "" && seen != op {
					return nil, ""
				}
				seen = op
				out = append(out, strings.TrimSpace(c[last:k]))
				last = k + 2
				k++
			}
		}
	}
	return append(out, strings.TrimSpace(c[last:])), seen
}

var relational = regexp.MustCompile(`[<>]=?`)

// boundarySites shift comparisons by one (<= <-> <, >= <-> >) and drop
// "- 1" and "+ 1".
func boundarySites(lines []string, i int) []site {
	l := lines[i]
	c := code(l)
	if strings.ContainsAny(c, `"'#`) {
		return nil
	}
	var out []site
	for _, m := range relational.FindAllStringIndex(c, -1) {
		a, b := m[0], m[1]
		op := c[a:b]
		prev, next := byte(' '), byte(' ')
		if a > 0 {
			prev = c[a-1]
		}
		if b < len(c) {
			next = c[b]
		}
		// ->, <<, >>, <<=, >>= and an operator that is not
		// surrounded by spaces (a cast, a generic) are no comparison.
		if prev == '-' || prev == '<' || prev == '>' || next == '<' || next == '>' || next == '=' || prev != ' ' || next != ' ' {
			continue
		}
		var rep string
		switch op {
		case "<":
			rep = "<="
		case "<=":
			rep = "<"
		case ">":
			rep = ">="
		case ">=":
			rep = ">"
		}
		out = append(out, site{class: Boundary, line: i, old: []string{l}, new: []string{l[:a] + rep + l[b:]}})
	}
	for _, pm := range []string{" - 1", " + 1"} {
		for off := 0; ; {
			k := strings.Index(c[off:], pm)
			if k < 0 {
				break
			}
			k += off
			off = k + len(pm)
			if off < len(c) && isIdent(c[off]) {
				continue // "- 10", "+ 1UL" stays
			}
			out = append(out, site{class: Boundary, line: i, old: []string{l}, new: []string{l[:k] + l[off:]}})
		}
	}
	return out
}

func isIdent(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

var callStart = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*(?:(?:->|\.)[A-Za-z_][A-Za-z0-9_]*)*)\s*\(`)

// keepCalls are calls the generator never drops: dropping them leaks
// memory, silences a debug check or a tracepoint, or unbalances a spin
// lock or RCU section: bugs no functional test can see, or that only
// crash the machine in ways unrelated to the paths under test.
var keepCalls = regexp.MustCompile(`^(ASSERT|spin_|rcu_|WARN|BUG|VM_BUG|pr_|printk|trace_|lockdep_|might_sleep|kfree|kvfree|kmem_cache_free|fuse_io_free|.*_put$|iput|fput|folio_put|kref_put|task_io_account|file_accessed|fsnotify|percpu_|preempt_|local_irq|smp_|barrier|cond_resched|init_|INIT_|DECLARE_|memset$|memcpy$)`)

// dropCallSites remove a call statement (one that may span lines, ends
// with ");" and whose value is not used).
func dropCallSites(lines []string, i, limit int) []site {
	m := callStart.FindStringSubmatch(lines[i])
	if m == nil {
		return nil
	}
	switch m[1] {
	case "if", "for", "while", "switch", "return", "sizeof", "else", "do":
		return nil
	}
	name := m[1]
	if k := strings.LastIndexAny(name, ">."); k >= 0 {
		name = name[k+1:]
	}
	if keepCalls.MatchString(name) {
		return nil
	}
	depth := 0
	for j := i; j < limit && j < i+6; j++ {
		c := code(lines[j])
		if strings.Contains(c, `"`) {
			return nil
		}
		for k := 0; k < len(c); k++ {
			switch c[k] {
			case '(':
				depth++
			case ')':
				depth--
			}
		}
		if depth == 0 {
			if strings.TrimSpace(c) == "" || !strings.HasSuffix(strings.TrimSpace(c), ");") {
				return nil
			}
			indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
			return []site{{class: DropCall, line: i, old: append([]string(nil), lines[i:j+1]...), new: []string{indent + "{}"}}}
		}
	}
	return nil
}

// lockSwaps are the shared/exclusive pairs the swap-lock operator
// exchanges.
var lockSwaps = [][2]string{
	{"inode_lock(", "inode_lock_shared("},
	{"inode_unlock(", "inode_unlock_shared("},
	{"inode_trylock(", "inode_trylock_shared("},
	{"down_write(", "down_read("},
	{"up_write(", "up_read("},
	{"filemap_invalidate_lock(", "filemap_invalidate_lock_shared("},
	{"filemap_invalidate_unlock(", "filemap_invalidate_unlock_shared("},
	{"XFS_IOLOCK_EXCL", "XFS_IOLOCK_SHARED"},
	{"XFS_MMAPLOCK_EXCL", "XFS_MMAPLOCK_SHARED"},
	{"XFS_ILOCK_EXCL", "XFS_ILOCK_SHARED"},
}

var boolLockVar = regexp.MustCompile(`(\*?\b(?:exclusive|ilock_shared|shared|excl))\s*=\s*(true|false);`)

// swapLockSites exchange a shared and an exclusive lock (or the flag
// that chooses one).
func swapLockSites(lines []string, i int) []site {
	l := lines[i]
	c := code(l)
	var out []site
	for _, p := range lockSwaps {
		for dir := 0; dir < 2; dir++ {
			from, to := p[dir], p[1-dir]
			k := strings.Index(c, from)
			if k < 0 || (k > 0 && isIdent(c[k-1])) {
				continue
			}
			out = append(out, site{class: SwapLock, line: i, old: []string{l}, new: []string{l[:k] + to + l[k+len(from):]}})
		}
	}
	if m := boolLockVar.FindStringSubmatchIndex(c); m != nil {
		rep := "true"
		if c[m[4]:m[5]] == "true" {
			rep = "false"
		}
		out = append(out, site{class: SwapLock, line: i, old: []string{l}, new: []string{l[:m[4]] + rep + l[m[5]:]}})
	}
	return out
}

var errReturn = regexp.MustCompile(`^\s*(return\s+([^;]+)|goto\s+\w+);\s*$`)

// skipReturnSites remove the return (of something other than 0) or
// goto that an if takes: "if (err)\n\treturn err;" becomes
// "if (err)\n\t{}", and likewise as the last statement of a braced if
// block.
func skipReturnSites(lines []string, i int) []site {
	m := errReturn.FindStringSubmatch(code(lines[i]))
	if m == nil || i == 0 {
		return nil
	}
	if strings.HasPrefix(m[1], "return") {
		switch strings.TrimSpace(m[2]) {
		case "0", "true", "false", "NULL", "written":
			return nil // a success value is no error return
		}
	}
	prev := strings.TrimRight(code(lines[i-1]), " \t")
	indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
	underIf := ifStart.MatchString(prev) && strings.HasSuffix(prev, ")")
	lastInBlock := i+1 < len(lines) && strings.TrimSpace(lines[i+1]) == "}" && blockIsIf(lines, i)
	if !underIf && !lastInBlock {
		return nil
	}
	return []site{{class: SkipErrorReturn, line: i, old: []string{lines[i]}, new: []string{indent + "{}"}}}
}

// blockIsIf reports whether the block holding line i opens with an if.
func blockIsIf(lines []string, i int) bool {
	indent := len(lines[i]) - len(strings.TrimLeft(lines[i], "\t"))
	for j := i - 1; j >= 0 && i-j < 12; j-- {
		l := lines[j]
		in := len(l) - len(strings.TrimLeft(l, "\t"))
		if in < indent && strings.TrimSpace(l) != "" {
			t := strings.TrimSpace(code(l))
			return strings.HasSuffix(t, "{") && ifStart.MatchString(l) && !strings.HasPrefix(t, "} else {")
		}
	}
	return false
}
