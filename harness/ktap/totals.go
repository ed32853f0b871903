package ktap

import (
	"fmt"
	"strings"
)

// Totals counts results the way kselftest's closing diagnostic does:
//
//	# Totals: pass:N fail:N xfail:N xpass:N skip:N error:N
type Totals struct {
	Pass, Fail, XFail, XPass, Skip, Error int
}

// totalsPrefix starts the diagnostic text (after "# ").
const totalsPrefix = "Totals: "

// String formats t as the diagnostic text, without "# ".
func (t Totals) String() string {
	return fmt.Sprintf("%spass:%d fail:%d xfail:%d xpass:%d skip:%d error:%d",
		totalsPrefix, t.Pass, t.Fail, t.XFail, t.XPass, t.Skip, t.Error)
}

// ParseTotals reads the diagnostic text written by Totals.String. Every
// counter must be present, once, in kselftest's order.
func ParseTotals(diag string) (Totals, bool) {
	rest, ok := strings.CutPrefix(diag, totalsPrefix)
	if !ok {
		return Totals{}, false
	}
	var t Totals
	fields := []*int{&t.Pass, &t.Fail, &t.XFail, &t.XPass, &t.Skip, &t.Error}
	names := []string{"pass", "fail", "xfail", "xpass", "skip", "error"}
	words := strings.Fields(rest)
	if len(words) != len(names) {
		return Totals{}, false
	}
	for i, w := range words {
		v, ok := strings.CutPrefix(w, names[i]+":")
		if !ok {
			return Totals{}, false
		}
		n, ok := parseNumber(v)
		if !ok {
			return Totals{}, false
		}
		*fields[i] = n
	}
	return t, true
}

// Count classifies results as kselftest counts them: XFAIL, XPASS, SKIP
// and ERROR by their directive whatever the ok/not ok, a result without
// a result line (Incomplete) as an error, the rest by ok/not ok (so a
// TIMEOUT is a failure).
func Count(results []Result) Totals {
	var t Totals
	for _, r := range results {
		switch {
		case r.Status == Incomplete || r.Directive == DirError:
			t.Error++
		case r.Directive == DirXFail:
			t.XFail++
		case r.Directive == DirXPass:
			t.XPass++
		case r.Status == Skip || r.Directive == DirSkip:
			t.Skip++
		case r.Status == Fail:
			t.Fail++
		default:
			t.Pass++
		}
	}
	return t
}
