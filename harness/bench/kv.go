package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A bench line is a KTAP diagnostic the guest writes: "bench <kind>"
// followed by key=value fields. kvLine formats one, parseKV reads one.
func kvLine(kind string, kv ...string) string {
	var b strings.Builder
	b.WriteString("bench " + kind)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %s=%s", kv[i], kv[i+1])
	}
	return b.String()
}

// kvFields holds one line's fields and the names of those that did not
// parse.
type kvFields struct {
	line string
	m    map[string]string
	bad  []string
}

// parseKV returns the fields of a line of the given kind; ok is false for
// any other line.
func parseKV(line, kind string) (*kvFields, bool) {
	rest, found := strings.CutPrefix(line, "bench "+kind+" ")
	if !found {
		return nil, false
	}
	f := &kvFields{line: line, m: map[string]string{}}
	for _, kv := range strings.Fields(rest) {
		k, v, _ := strings.Cut(kv, "=")
		f.m[k] = v
	}
	return f, true
}

func (f *kvFields) num(k string) float64 {
	v, err := strconv.ParseFloat(f.m[k], 64)
	if err != nil {
		f.bad = append(f.bad, k)
	}
	return v
}

func (f *kvFields) str(k string) string {
	v, ok := f.m[k]
	if !ok || v == "" {
		f.bad = append(f.bad, k)
	}
	return v
}

func (f *kvFields) err() error {
	if len(f.bad) == 0 {
		return nil
	}
	return fmt.Errorf("bench line %q: bad %s", f.line, strings.Join(f.bad, ", "))
}

// num formats a figure for a bench line.
func num(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// Median returns the median of vs (the mean of the middle two for an even
// count), or 0 for none.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
