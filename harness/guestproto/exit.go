package guestproto

import "fmt"

// Verdict is what the agent writes to the exit port when it is done.
type Verdict byte

// Agent verdicts.
const (
	// VerdictOK: every scenario matched the plan's declaration (pass,
	// skip, or a declared failure).
	VerdictOK Verdict = 0
	// VerdictMismatch: at least one did not (an unexpected failure,
	// an XPASS or a TIMEOUT).
	VerdictMismatch Verdict = 1
	// VerdictAgentError: the agent could not run the plan.
	VerdictAgentError Verdict = 2
)

func (v Verdict) String() string {
	switch v {
	case VerdictOK:
		return "ok"
	case VerdictMismatch:
		return "mismatch"
	case VerdictAgentError:
		return "agent error"
	}
	return fmt.Sprintf("Verdict(%d)", byte(v))
}

// ExitStatus is QEMU's exit status when the agent writes v to the
// isa-debug-exit port: (v << 1) | 1. An odd status therefore always
// comes from the device, and 0 never does.
func (v Verdict) ExitStatus() int { return int(v)<<1 | 1 }

// DecodeExit turns QEMU's exit status back into the agent's verdict. ok
// is false for an even status: QEMU ended another way (a reboot under
// -no-reboot after a panic, an error, a signal).
func DecodeExit(status int) (v Verdict, ok bool) {
	if status < 0 || status > 255 || status&1 == 0 {
		return 0, false
	}
	return Verdict(status >> 1), true
}
