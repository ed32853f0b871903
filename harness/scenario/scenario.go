// Package scenario is the guest's side of the catalogue: the runner that
// executes scenarios inside the guest and what it hands them (T, the
// FUSE mounts, the probes, the plan's disks). A scenario asserts what
// user space sees (return codes, bytes, what the FUSE server saw) and
// which kernel path was taken (probe events). Its declaration, the part
// the host reads, is a guestproto.Declaration; the host never links this
// package.
package scenario

import (
	"fmt"
	"time"

	"dioharness/harness/guestproto"
)

// Scenario is one entry of the catalogue: its declaration and its body.
type Scenario struct {
	guestproto.Declaration
	// Timeout bounds one run; default DefaultTimeout.
	Timeout time.Duration
	// Run is the scenario body. It must not use sleeps to synchronise.
	Run func(t *T)
}

// DefaultTimeout bounds a scenario without its own Timeout.
const DefaultTimeout = 90 * time.Second

// Catalogue is an ordered set of scenarios.
type Catalogue []Scenario

// Validate checks the declarations and that every scenario has a body.
func (c Catalogue) Validate() error {
	for _, s := range c {
		if s.Run == nil {
			return fmt.Errorf("scenario %s: needs Run", s.Name)
		}
	}
	return c.Declarations().Validate()
}

// Declarations are the scenarios without their bodies, in order: what
// the agent prints for the host (harness/catalogue).
func (c Catalogue) Declarations() guestproto.Declarations {
	out := make(guestproto.Declarations, 0, len(c))
	for _, s := range c {
		out = append(out, s.Declaration)
	}
	return out
}
