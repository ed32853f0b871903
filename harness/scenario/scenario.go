// Package scenario is the catalogue of guest scenarios and the runner
// that executes them inside the guest. A scenario asserts what user
// space sees (return codes, bytes, what the FUSE server saw) and which
// kernel path was taken (probe events), and declares its expected
// verdict on the base and the patched kernel.
package scenario

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"dioharness/harness/kbase"
	"dioharness/harness/verdict"
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
	// Patch is the exact subject of the patch the scenario proves, if
	// any: the scenario is declared to fail on every kernel that lacks
	// a patch with this subject (each base, and a patched base whose
	// series does not carry it), and to pass where it is applied.
	Patch string
	// FailsOnBase is the reason the scenario fails without Patch; it is
	// required with Patch.
	FailsOnBase string
	// Differs declares bases whose kernel fails the scenario whatever
	// the flavour, for a reason no patch of ours addresses (behaviour
	// that base does not have): base name -> why.
	Differs map[string]string
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

// Kernel is what the host knows of the kernel a scenario runs on.
type Kernel struct {
	Variant kbase.Variant
	// Patches are the subjects of the patches applied to the base (the
	// patched flavour's series), in order.
	Patches []string
}

// Expectation is a declared verdict and, for a failure, why.
type Expectation struct {
	Verdict verdict.Verdict // Pass or Fail
	Why     string
}

// Expected is the declared verdict on kernel k. A custom tree (KSRC) is
// held to a kernel with every patch: its declaration is the patched one.
func (s Scenario) Expected(k Kernel) Expectation {
	if why, ok := s.Differs[k.Variant.Base]; ok {
		return Expectation{Verdict: verdict.Fail, Why: why}
	}
	if s.Patch == "" {
		return Expectation{Verdict: verdict.Pass}
	}
	switch k.Variant.Flavour {
	case kbase.Base:
		return Expectation{Verdict: verdict.Fail, Why: s.FailsOnBase}
	case kbase.Patched:
		if !slices.Contains(k.Patches, s.Patch) {
			return Expectation{Verdict: verdict.Fail, Why: fmt.Sprintf("the %s series does not carry %q: %s", k.Variant.Base, s.Patch, s.FailsOnBase)}
		}
	}
	return Expectation{Verdict: verdict.Pass}
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
		if (s.Patch == "") != (s.FailsOnBase == "") {
			return fmt.Errorf("scenario %s: Patch and FailsOnBase go together", s.Name)
		}
		for b, why := range s.Differs {
			if b == "" || why == "" {
				return fmt.Errorf("scenario %s: Differs needs a base name and a reason", s.Name)
			}
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
