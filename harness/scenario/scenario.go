// Package scenario is the catalogue of guest scenarios and the runner
// that executes them inside the guest. A scenario asserts what user
// space sees (return codes, bytes, what the FUSE server saw) and which
// kernel path was taken (probe events), and declares its expected
// verdict on the base and the patched kernel.
package scenario

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// Verdicts of one scenario run.
const (
	Pass = "pass"
	Fail = "fail"
	Skip = "skip"
)

// Scenario is one entry of the catalogue.
type Scenario struct {
	// Name is unique, "area/short-name".
	Name string
	// Area is fuse, ext4, xfs or mixed.
	Area string
	// Setup says what the scenario prepares (server policy, disk).
	Setup string
	// Checks says what it asserts, user-visible and kernel path.
	Checks string
	// FailsOnBase is the declared reason the scenario fails on the base
	// kernel; empty when it passes on both flavours.
	FailsOnBase string
	// Patch names the patch of the series the scenario proves, if any.
	Patch string
	// Timeout bounds one run; default DefaultTimeout.
	Timeout time.Duration
	// Manual scenarios prove the harness itself (a forced failure, a
	// kernel WARN, a hang); they run only when named explicitly.
	Manual bool
	// Run is the scenario body. It must not use sleeps to synchronise.
	Run func(t *T)
}

// DefaultTimeout bounds a scenario without its own Timeout.
const DefaultTimeout = 90 * time.Second

// Expected is the declared verdict on a kernel flavour. A custom tree
// (KSRC) is held to the patched declaration.
func (s Scenario) Expected(flavour string) string {
	if flavour == "base" && s.FailsOnBase != "" {
		return Fail
	}
	return Pass
}

// Catalogue is an ordered set of scenarios.
type Catalogue []Scenario

// Lookup returns the scenarios matching any of the comma-separated glob
// patterns ("fuse/*", "ext4/lock-*"), in catalogue order. A pattern that
// matches nothing is an error naming it.
func (c Catalogue) Lookup(patterns string) (Catalogue, error) {
	if patterns == "" || patterns == "all" {
		var out Catalogue
		for _, s := range c {
			if !s.Manual {
				out = append(out, s)
			}
		}
		return out, nil
	}
	pats := strings.Split(patterns, ",")
	keep := map[string]bool{}
	for _, p := range pats {
		p = strings.TrimSpace(p)
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("bad scenario pattern %q: %w", p, err)
		}
		n := 0
		for _, s := range c {
			ok, _ := path.Match(p, s.Name)
			// A glob selects manual scenarios only by their full name.
			if (ok && !s.Manual) || s.Name == p {
				keep[s.Name] = true
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("unknown scenario %q (harness list shows the catalogue)", p)
		}
	}
	var out Catalogue
	for _, s := range c {
		if keep[s.Name] {
			out = append(out, s)
		}
	}
	return out, nil
}

// Validate checks names are unique and well-formed.
func (c Catalogue) Validate() error {
	seen := map[string]bool{}
	areas := map[string]bool{"fuse": true, "ext4": true, "xfs": true, "mixed": true, "harness": true}
	for _, s := range c {
		if seen[s.Name] {
			return fmt.Errorf("scenario %s: duplicate name", s.Name)
		}
		seen[s.Name] = true
		if !areas[s.Area] {
			return fmt.Errorf("scenario %s: unknown area %q", s.Name, s.Area)
		}
		if !strings.HasPrefix(s.Name, s.Area+"/") {
			return fmt.Errorf("scenario %s: name must start with its area %q", s.Name, s.Area+"/")
		}
		if s.Run == nil || s.Checks == "" || s.Setup == "" {
			return fmt.Errorf("scenario %s: needs Run, Setup and Checks", s.Name)
		}
	}
	return nil
}

// Names lists the names, sorted.
func (c Catalogue) Names() []string {
	var n []string
	for _, s := range c {
		n = append(n, s.Name)
	}
	sort.Strings(n)
	return n
}
