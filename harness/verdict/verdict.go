// Package verdict is the harness's one outcome vocabulary: what a
// scenario or an fstests test did, as the guest reports it, the host
// records it in summary.json and the matrix, and the fstests comparison
// shows it. The values are the words the reports write.
package verdict

import "fmt"

// Verdict is the outcome of one scenario or test on one kernel.
type Verdict string

// Verdicts.
const (
	// Pass: it ran and every assertion held.
	Pass Verdict = "pass"
	// Fail: an assertion did not hold, or the kernel reported a bug.
	Fail Verdict = "fail"
	// Skip: it could not run here (a probe absent from the kernel, a
	// feature or tool missing; fstests' "notrun"), with the reason.
	Skip Verdict = "skip"
	// Timeout: it outlived its bound and was killed.
	Timeout Verdict = "timeout"
	// Error: the harness could not run it (no result from the guest).
	Error Verdict = "error"
	// Missing: the run being compared did not include it.
	Missing Verdict = "missing"
)

// All are the verdicts, in the order tables list them.
var All = []Verdict{Pass, Fail, Skip, Timeout, Error, Missing}

// Parse reads a verdict as the reports write it.
func Parse(s string) (Verdict, error) {
	for _, v := range All {
		if string(v) == s {
			return v, nil
		}
	}
	return "", fmt.Errorf("unknown verdict %q, want one of pass, fail, skip, timeout, error, missing", s)
}

// UnmarshalText accepts only the verdicts of the vocabulary (or none,
// ""), so a summary.json or comparison with another word is an error,
// not a silently unknown verdict.
func (v *Verdict) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*v = ""
		return nil
	}
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// Bad is true for the verdicts that count as a failure of the kernel or
// the run: Fail, Timeout and Error.
func (v Verdict) Bad() bool { return v == Fail || v == Timeout || v == Error }
