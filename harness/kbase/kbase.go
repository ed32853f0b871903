// Package kbase says which kernel a run is about: the kernel bases the
// series targets, each described by a file patches/<name>/BASE, and the
// flavours of each base (as Debian ships it, or with the base's series
// applied). It is the one place that spells the flavour names.
package kbase

import (
	"fmt"
	"slices"
	"strings"
)

// Flavour is what was done to a base before it was built.
type Flavour string

const (
	// Base is the base kernel as Debian ships its source.
	Base Flavour = "base"
	// Patched is the base with every series of patches/<base>/ applied.
	Patched Flavour = "patched"
	// Custom is a user's own tree (KSRC), built as it is.
	Custom Flavour = "custom"
)

// Flavours lists the flavours a base is run in, in matrix order.
var Flavours = []Flavour{Base, Patched}

// ParseFlavour checks one flavour name.
func ParseFlavour(s string) (Flavour, error) {
	switch f := Flavour(strings.TrimSpace(s)); f {
	case Base, Patched, Custom:
		return f, nil
	}
	return "", fmt.Errorf("unknown kernel flavour %q, want %s or %s", s, Base, Patched)
}

// ParseFlavours reads a comma-separated flavour list ("" = both, in
// matrix order); "custom" is not selectable here, KSRC selects it.
func ParseFlavours(s string) ([]Flavour, error) {
	if strings.TrimSpace(s) == "" {
		return slices.Clone(Flavours), nil
	}
	var out []Flavour
	for _, w := range strings.Split(s, ",") {
		f, err := ParseFlavour(w)
		if err != nil || f == Custom {
			return nil, fmt.Errorf("unknown kernel flavour %q, want %s, %s or %s,%s", w, Base, Patched, Base, Patched)
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
		return Variant{}, fmt.Errorf("bad kernel variant %q, want <base>/%s or <base>/%s", s, Base, Patched)
	}
	return Variant{Base: b, Flavour: fl}, nil
}
