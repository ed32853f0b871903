// Package kbase says which kernel a run is about: the kernel bases the
// series targets, each described by a file patches/<name>/BASE, and the
// flavours of each base (as Debian ships it, with the base's series
// applied, or with the series a flavour of the BASE file names). It is
// the one place that spells the flavour names.
package kbase

import (
	"fmt"
	"slices"
	"strings"
)

// Flavour is what was done to a base before it was built: nothing
// (Base), its series (Patched), or the series of a flavour its BASE file
// declares ("flavour: pdio iomap fuse stale pdio").
type Flavour string

const (
	// Base is the base kernel as Debian ships its source.
	Base Flavour = "base"
	// Patched is the base with every series of its "series:" line applied.
	Patched Flavour = "patched"
	// Custom is a user's own tree (KSRC), built as it is.
	Custom Flavour = "custom"
)

// Flavours lists the flavours every base is run in, in matrix order; a
// base's declared flavours follow them (Spec.Flavours).
var Flavours = []Flavour{Base, Patched}

// ParseFlavour checks one flavour name: base, patched, custom or a name
// a BASE file may declare (Spec.HasFlavour says whether one does).
func ParseFlavour(s string) (Flavour, error) {
	f := Flavour(strings.TrimSpace(s))
	if !nameRe.MatchString(string(f)) {
		return "", fmt.Errorf("bad kernel flavour %q, want %s, %s or a flavour a BASE file declares", s, Base, Patched)
	}
	return f, nil
}

// ParseFlavours reads a comma-separated flavour list; "" (nil) means
// every flavour of each base. "custom" is not selectable here, KSRC
// selects it.
func ParseFlavours(s string) ([]Flavour, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []Flavour
	for _, w := range strings.Split(s, ",") {
		f, err := ParseFlavour(w)
		if err != nil || f == Custom {
			return nil, fmt.Errorf("bad kernel flavour %q, want %s, %s, a flavour a BASE file declares, or a comma-separated list", w, Base, Patched)
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// Variant is one kernel under test: a base in one flavour, or a custom
// tree (Base empty).
type Variant struct {
	Base    string  `json:"base,omitempty"`
	Flavour Flavour `json:"flavour"`
}

// String is "v7.3/patched", or "custom" for a user's tree.
func (v Variant) String() string {
	if v.Base == "" {
		return string(v.Flavour)
	}
	return v.Base + "/" + string(v.Flavour)
}

// Slug is String made safe for a file name: "v7.3-patched".
func (v Variant) Slug() string {
	return strings.ReplaceAll(v.String(), "/", "-")
}

// ParseVariant reads String's output back.
func ParseVariant(s string) (Variant, error) {
	b, f, ok := strings.Cut(s, "/")
	if !ok {
		fl, err := ParseFlavour(s)
		if err != nil || fl != Custom {
			return Variant{}, fmt.Errorf("bad kernel variant %q, want <base>/<flavour> or %s", s, Custom)
		}
		return Variant{Flavour: Custom}, nil
	}
	fl, err := ParseFlavour(f)
	if err != nil || fl == Custom || b == "" {
		return Variant{}, fmt.Errorf("bad kernel variant %q, want <base>/<flavour>", s)
	}
	return Variant{Base: b, Flavour: fl}, nil
}
