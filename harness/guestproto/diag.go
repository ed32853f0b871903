package guestproto

import (
	"fmt"
	"strconv"
	"strings"

	"dioharness/harness/verdict"
)

// KTAP diagnostics the agent writes ("# " is added by the KTAP writer)
// and the host reads back.
const (
	startPrefix    = "start "
	attemptsPrefix = "attempts: "
	failurePrefix  = "failure: "
)

// StartDiag announces a scenario before it runs. The host uses it to
// time the scenario and to know which one was running when the guest
// hung or died.
func StartDiag(name string) string { return startPrefix + name }

// ParseStart returns the scenario a StartDiag announced.
func ParseStart(diag string) (name string, ok bool) {
	name, ok = strings.CutPrefix(diag, startPrefix)
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return "", false
	}
	return name, true
}

// AttemptsDiag says how many tries a racy scenario needed to hit its
// window.
func AttemptsDiag(n int) string { return attemptsPrefix + strconv.Itoa(n) }

// ParseAttempts reads an AttemptsDiag.
func ParseAttempts(diag string) (int, bool) {
	v, ok := strings.CutPrefix(diag, attemptsPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// FailureDiag carries the actual failure of a scenario reported as
// XFAIL, whose result line holds the declared reason.
func FailureDiag(reason string) string {
	return failurePrefix + strings.Join(strings.Fields(reason), " ")
}

// ParseFailure reads a FailureDiag.
func ParseFailure(diag string) (string, bool) {
	r, ok := strings.CutPrefix(diag, failurePrefix)
	return r, ok && r != ""
}

// The /dev/kmsg markers. The number is the scenario's KTAP test number
// in this boot: with repeat, one name runs several times per boot.
const (
	kmsgStart = "dioharness: start "
	kmsgEnd   = "dioharness: end "
)

// KmsgStart marks the kernel log before test n (named name) runs.
func KmsgStart(n int, name string) string {
	return fmt.Sprintf("%s%d %s", kmsgStart, n, name)
}

// KmsgEnd marks the kernel log after test n ended with verdict.
func KmsgEnd(n int, name string, v verdict.Verdict) string {
	return fmt.Sprintf("%s%d %s %s", kmsgEnd, n, name, v)
}

// ParseKmsgStart finds a KmsgStart marker in a console line (the
// printk timestamp and any caller prefix may precede it).
func ParseKmsgStart(line string) (n int, name string, ok bool) {
	i := strings.Index(line, kmsgStart)
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(line[i+len(kmsgStart):])
	if len(f) != 2 {
		return 0, "", false
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1 {
		return 0, "", false
	}
	return n, f[1], true
}
