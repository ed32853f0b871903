package guestproto

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The agent channel carries, beside KTAP, lines of the agent's own that
// a KTAP reader ignores (they are not KTAP): a heartbeat, which tells
// the host that the agent still runs, and the evidence a guest gathers
// of a hang. The host writes one line the other way, on the same port:
// the request for that evidence.
const (
	linePrefix     = "dioharness: "
	aliveWord      = "alive "
	evidenceWord   = "evidence "
	evidenceBegin  = "begin"
	evidenceEnd    = "end"
	dumpRequestMsg = linePrefix + "dump"
)

// AliveInterval is how often the agent writes its heartbeat. The host's
// silence bound must be several of them.
const AliveInterval = 10 * time.Second

// AliveLine is the agent's heartbeat: the guest's uptime. A guest whose
// agent prints it is running; one whose agent and console both fall
// silent is hung.
func AliveLine(uptime time.Duration) string {
	return fmt.Sprintf("%s%s%.1f", linePrefix, aliveWord, uptime.Seconds())
}

// ParseAlive returns the uptime of an AliveLine.
func ParseAlive(line string) (time.Duration, bool) {
	v, ok := strings.CutPrefix(line, linePrefix+aliveWord)
	if !ok {
		return 0, false
	}
	s, err := strconv.ParseFloat(v, 64)
	if err != nil || s < 0 {
		return 0, false
	}
	return time.Duration(s * float64(time.Second)), true
}

// DumpRequest is what the host writes to the agent port to ask the
// guest's watchdog for the evidence of a hang. The watchdog answers
// with EvidenceBegin, evidence lines and EvidenceEnd, then ends the
// agent (its goroutine dump goes to the console) and so the guest.
const DumpRequest = dumpRequestMsg

// Evidence sections: what a guest gathers of a hang.
const (
	// SectionSummary is one line per blocked task that matters (the
	// scenario's processes and the FUSE servers first): who waits in
	// which kernel function. The host quotes the first in the
	// scenario's failure reason.
	SectionSummary = "summary"
	// SectionTasks lists every task not running or sleeping
	// interruptibly, with its kernel stack.
	SectionTasks = "tasks"
	// SectionFUSE lists the requests each test FUSE server has not
	// answered, and which gate holds them.
	SectionFUSE = "fuse"
	// SectionGoroutines is the agent's goroutine dump, when the agent
	// itself gathers the evidence (its own scenario timeout).
	SectionGoroutines = "goroutines"
)

// EvidenceBegin opens the evidence of one hang; what names the trigger
// ("host request", "scenario timeout of fuse/x").
func EvidenceBegin(what string) string {
	return linePrefix + evidenceWord + evidenceBegin + " " + oneLine(what)
}

// EvidenceEnd closes it.
func EvidenceEnd() string { return linePrefix + evidenceWord + evidenceEnd }

// EvidenceLine is one line of a section.
func EvidenceLine(section, text string) string {
	return linePrefix + evidenceWord + section + " " + oneLine(text)
}

// Evidence is one parsed evidence line.
type Evidence struct {
	// Begin and End mark the frame; What is Begin's trigger.
	Begin, End bool
	What       string
	// Section and Text are a line of a section.
	Section, Text string
}

// ParseEvidence reads a line written by EvidenceBegin, EvidenceLine or
// EvidenceEnd.
func ParseEvidence(line string) (Evidence, bool) {
	v, ok := strings.CutPrefix(line, linePrefix+evidenceWord)
	if !ok {
		return Evidence{}, false
	}
	word, rest, _ := strings.Cut(v, " ")
	switch word {
	case evidenceBegin:
		return Evidence{Begin: true, What: rest}, true
	case evidenceEnd:
		return Evidence{End: true}, rest == ""
	case SectionSummary, SectionTasks, SectionFUSE, SectionGoroutines:
		return Evidence{Section: word, Text: rest}, true
	}
	return Evidence{}, false
}

// IsAgentLine says whether a line of the agent port is one of the
// agent's own (heartbeat or evidence), which the host keeps out of the
// KTAP stream.
func IsAgentLine(line string) bool { return strings.HasPrefix(line, linePrefix) }

func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}
