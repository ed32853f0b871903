package guestproto

import "strings"

// Kernel command-line keys the host sets and the agent reads. Every key
// starts with KeyPrefix; the machine description may not use it.
const (
	KeyPrefix = "dioharness."
	// KeyPlan names the plan file (normally PlanPath).
	KeyPlan = KeyPrefix + "plan"
	// KeyProbe=1 asks the agent only to prove that it started: the
	// accelerator proof boot.
	KeyProbe = KeyPrefix + "probe"
)

// Cmdline is what the kernel command line tells the agent.
type Cmdline struct {
	// Plan is the path of the plan file.
	Plan string
	// Probe asks the agent to print a KTAP header and end the VM.
	Probe bool
}

// Words returns the command-line words for c.
func (c Cmdline) Words() []string {
	var w []string
	if c.Plan != "" {
		w = append(w, KeyPlan+"="+c.Plan)
	}
	if c.Probe {
		w = append(w, KeyProbe+"=1")
	}
	return w
}

// ParseCmdline reads the agent's keys from a kernel command line (the
// contents of /proc/cmdline); other words are ignored.
func ParseCmdline(s string) Cmdline {
	var c Cmdline
	for _, w := range strings.Fields(s) {
		k, v, _ := strings.Cut(w, "=")
		switch k {
		case KeyPlan:
			c.Plan = v
		case KeyProbe:
			c.Probe = v == "1"
		}
	}
	return c
}

// IsKey reports whether a command-line word belongs to the contract.
func IsKey(word string) bool {
	return strings.HasPrefix(word, KeyPrefix)
}
