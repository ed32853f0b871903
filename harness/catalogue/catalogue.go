// Package catalogue is the scenario catalogue as the host sees it: the
// declarations (guestproto.Declaration) the guest agent printed into
// catalogue.json, the selection of scenarios by glob, their run order and
// each one's declared verdict on a kernel. The host plans and judges runs
// from these alone, so it links none of the guest's code (the scenario
// bodies, the FUSE server, the eBPF probes).
//
// catalogue.json is generated: make generate runs the agent's
// "catalogue" command over it, make generate-check fails when it is
// stale, and so does the scenarios package's unit test.
package catalogue

//go:generate sh -c "go run ../cmd/guest catalogue > catalogue.json"

import (
	_ "embed"
	"fmt"
	"path"
	"slices"
	"strings"

	"dioharness/harness/guestproto"
	"dioharness/harness/kbase"
	"dioharness/harness/verdict"
)

// File is the name of the generated declarations file in this package.
const File = "catalogue.json"

//go:embed catalogue.json
var committed []byte

// Committed returns the declarations file as committed, byte for byte.
func Committed() []byte { return slices.Clone(committed) }

// Catalogue is the declarations in catalogue (run) order.
type Catalogue guestproto.Declarations

// Load decodes and validates the committed declarations.
func Load() (Catalogue, error) {
	ds, err := guestproto.DecodeDeclarations(committed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (make generate rewrites it)", File, err)
	}
	return Catalogue(ds), nil
}

// Patterns reads a SCENARIO value: comma-separated globs ("fuse/*",
// "ext4/lock-*"), in the order given; "" and "all" select every
// scenario that is not manual (nil).
func Patterns(s string) []string {
	if strings.TrimSpace(s) == "" || strings.TrimSpace(s) == "all" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Lookup returns the scenarios matching any of the patterns, in
// catalogue order; no patterns select every scenario that is not manual.
// A glob selects a manual scenario only by its full name. A pattern that
// matches nothing is an error naming it.
func (c Catalogue) Lookup(patterns []string) (Catalogue, error) {
	keep := map[string]bool{}
	for _, p := range patterns {
		sel, err := c.match(p)
		if err != nil {
			return nil, err
		}
		for _, d := range sel {
			keep[d.Name] = true
		}
	}
	var out Catalogue
	for _, d := range c {
		if (len(patterns) == 0 && !d.Manual) || keep[d.Name] {
			out = append(out, d)
		}
	}
	return out, nil
}

// match is one pattern's scenarios, in catalogue order.
func (c Catalogue) match(p string) (Catalogue, error) {
	if _, err := path.Match(p, ""); err != nil {
		return nil, fmt.Errorf("bad scenario pattern %q: %w", p, err)
	}
	var out Catalogue
	for _, d := range c {
		ok, _ := path.Match(p, d.Name)
		if (ok && !d.Manual) || d.Name == p {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("unknown scenario %q (harness list shows the catalogue)", p)
	}
	return out, nil
}

// RunOrder is the order the scenarios run in: the order the patterns
// are given in, each pattern's matches in catalogue order, every
// scenario once. "harness/hang,fuse/a" thus hangs the guest first and
// shows fuse/a running in a fresh one. No patterns: every scenario that
// is not manual, in catalogue order.
func (c Catalogue) RunOrder(patterns []string) ([]string, error) {
	if len(patterns) == 0 {
		sel, err := c.Lookup(nil)
		return sel.Names(), err
	}
	var names []string
	for _, p := range patterns {
		sel, err := c.match(p)
		if err != nil {
			return nil, err
		}
		for _, d := range sel {
			if !slices.Contains(names, d.Name) {
				names = append(names, d.Name)
			}
		}
	}
	return names, nil
}

// Names lists the names, in order.
func (c Catalogue) Names() []string {
	out := make([]string, 0, len(c))
	for _, d := range c {
		out = append(out, d.Name)
	}
	return out
}

// Named returns the declaration of a scenario.
func (c Catalogue) Named(name string) (guestproto.Declaration, bool) {
	for _, d := range c {
		if d.Name == name {
			return d, true
		}
	}
	return guestproto.Declaration{}, false
}

// Kernel is what the declarations need to know of the kernel a scenario
// runs on.
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

// Expected is d's declared verdict on kernel k. A custom tree (KSRC) is
// held to a kernel with every patch: its declaration is the patched one.
func Expected(d guestproto.Declaration, k Kernel) Expectation {
	if why, ok := d.Differs[k.Variant.Base]; ok {
		return Expectation{Verdict: verdict.Fail, Why: why}
	}
	if d.Patch == "" {
		return Expectation{Verdict: verdict.Pass}
	}
	switch k.Variant.Flavour {
	case kbase.Custom:
	case kbase.Base:
		return Expectation{Verdict: verdict.Fail, Why: d.FailsOnBase}
	default:
		if !slices.Contains(k.Patches, d.Patch) {
			return Expectation{Verdict: verdict.Fail, Why: fmt.Sprintf("the series of %s do not carry %q: %s", k.Variant, d.Patch, d.FailsOnBase)}
		}
	}
	return Expectation{Verdict: verdict.Pass}
}

// Expect is the plan's guestproto.Expect on kernel k for this catalogue.
func (c Catalogue) Expect(k Kernel) guestproto.Expect {
	return func(name string) (bool, string) {
		d, _ := c.Named(name)
		e := Expected(d, k)
		return e.Verdict == verdict.Fail, e.Why
	}
}
