package kbase

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// SpecFile is the name of the file that describes a base, in
// patches/<base>/.
const SpecFile = "BASE"

// Spec describes one base, read from patches/<name>/BASE: where its
// source comes from and what is applied to it. Adding a base is one new
// directory with this file and its series; no code changes.
type Spec struct {
	// Name is the directory name under patches/, e.g. "v7.3".
	Name string
	// Dir is the absolute path of patches/<name>.
	Dir string
	// Release is the upstream release the Debian package carries, the
	// tree the harness builds and tests, e.g. "v7.3.4".
	Release string
	// Upstream is the tag the series are sent against and maintainers
	// resolve (base-commit:): a mainline tag ("v7.3", "v7.4-rc2"), or
	// for a stable target a stable tag of the same line ("v6.12.117").
	Upstream string
	// Target is Mainline or Stable: where the series are sent.
	Target string
	// BaseCommit is Upstream's commit id, 40 hex digits, when it is
	// recorded; else send-email resolves the tag when it sends.
	BaseCommit string
	// Reference is the Debian package whose source stands for Upstream
	// when comparing the files the series touch (the newest one before
	// Release, e.g. the last -rc): package, version and suite.
	Reference *Reference
	// Prerequisites are the commits, not in Upstream, that the series
	// need and name in their cover letters, by the file they touch.
	Prerequisites []Prerequisite
	// Package is the Debian binary package shipping the source tarball
	// under /usr/src, e.g. "linux-source-7.3". Its name fixes the
	// upstream series (7.3): when Version is no longer served, the
	// newest served version of the same package is used.
	Package string
	// Version is the package version the series was written and tested
	// against, e.g. "7.3.4-1~bpo13+1".
	Version string
	// Suites are the Debian suites that serve Package.
	Suites []string
	// Series are the series directories under Dir, in the order the
	// patched flavour applies them. Each holds a "series" file.
	Series []string
	// Extra are the flavours the BASE file declares beyond base and
	// patched, in matrix order: an RFC on top of the fixes, say.
	Extra []FlavourSpec
	// Needs maps a series to the series it applies on, which every
	// flavour carrying it applies before it and series-check applies
	// before checking it. A series without needs applies on the base.
	Needs map[string][]string
	// Kconfig are extra kconfig fragments for this base,
	// repository-relative, merged after kconfig/*.config.
	Kconfig []string
	// Default marks the base that runs when none is named.
	Default bool
}

// FlavourSpec is a flavour a BASE file declares: its name and the series
// it applies, in order.
type FlavourSpec struct {
	Name   Flavour
	Series []string
}

// Targets of a base's series.
const (
	Mainline = "mainline"
	Stable   = "stable"
)

// Reference is a Debian source package standing for an upstream tag.
type Reference struct {
	Package, Version, Suite string
}

// Prerequisite is a commit the series need that their upstream tag
// lacks: its subject and the file whose hunks depend on it.
type Prerequisite struct {
	File, Subject string
}

// SeriesDirs are the absolute series directories of the patched
// flavour, in apply order.
func (s Spec) SeriesDirs() []string { return s.dirs(s.Series) }

func (s Spec) dirs(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join(s.Dir, n))
	}
	return out
}

// AllSeries are every series of the base: the patched flavour's, then
// those only declared flavours apply, each once, in apply order.
func (s Spec) AllSeries() []string {
	out := slices.Clone(s.Series)
	for _, f := range s.Extra {
		for _, n := range f.Series {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// AllSeriesDirs are AllSeries as absolute directories.
func (s Spec) AllSeriesDirs() []string { return s.dirs(s.AllSeries()) }

// Flavours are the base's flavours in matrix order: base, patched, then
// the declared ones.
func (s Spec) Flavours() []Flavour {
	out := slices.Clone(Flavours)
	for _, f := range s.Extra {
		out = append(out, f.Name)
	}
	return out
}

// HasFlavour reports whether the base has flavour f.
func (s Spec) HasFlavour(f Flavour) bool { return slices.Contains(s.Flavours(), f) }

// FlavourSeries are the series flavour f applies, in order (none for
// Base).
func (s Spec) FlavourSeries(f Flavour) ([]string, error) {
	switch f {
	case Base:
		return nil, nil
	case Patched:
		return slices.Clone(s.Series), nil
	}
	for _, x := range s.Extra {
		if x.Name == f {
			return slices.Clone(x.Series), nil
		}
	}
	return nil, fmt.Errorf("base %s has no flavour %q (it has %s)", s.Name, f, joinFlavours(s.Flavours()))
}

// FlavourSeriesDirs are FlavourSeries as absolute directories.
func (s Spec) FlavourSeriesDirs(f Flavour) ([]string, error) {
	names, err := s.FlavourSeries(f)
	return s.dirs(names), err
}

// NeedsDirs are the series a series applies on, transitively, as
// absolute directories in the order AllSeries lists them.
func (s Spec) NeedsDirs(series string) []string {
	want := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		for _, d := range s.Needs[n] {
			if !want[d] {
				want[d] = true
				walk(d)
			}
		}
	}
	walk(series)
	var out []string
	for _, n := range s.AllSeries() {
		if want[n] {
			out = append(out, n)
		}
	}
	return s.dirs(out)
}

func joinFlavours(fs []Flavour) string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f))
	}
	return strings.Join(out, ", ")
}

// ReleaseSeries is "7.3" for "v7.3.4".
func (s Spec) ReleaseSeries() string {
	m := releaseRe.FindStringSubmatch(s.Release)
	if m == nil {
		return ""
	}
	return m[1]
}

var (
	releaseRe  = regexp.MustCompile(`^v(\d+\.\d+)(?:\.\d+)?$`)
	mainlineRe = regexp.MustCompile(`^v(\d+\.\d+)(?:-rc\d+)?$`)
	stableRe   = regexp.MustCompile(`^v(\d+\.\d+)\.\d+$`)
	commitRe   = regexp.MustCompile(`^[0-9a-f]{40}$`)
	pathRe     = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$`)
	packageRe  = regexp.MustCompile(`^linux-source-(\d+\.\d+)$`)
	nameRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// ReadSpec parses patches/<name>/BASE; repo is the repository root, for
// checking kconfig paths.
func ReadSpec(repo, dir string) (Spec, error) {
	path := filepath.Join(dir, SpecFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("read base: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Spec{}, err
	}
	s := Spec{Name: filepath.Base(abs), Dir: abs}
	if !nameRe.MatchString(s.Name) {
		return Spec{}, fmt.Errorf("%s: base name %q: want letters, digits, '.', '_' or '-'", path, s.Name)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || val == "" {
			return Spec{}, fmt.Errorf("%s:%d: malformed line %q, want \"key: value\"", path, n, line)
		}
		if seen[key] && key != "kconfig" && key != "prerequisite" && key != "flavour" && key != "needs" {
			return Spec{}, fmt.Errorf("%s:%d: %s given twice", path, n, key)
		}
		seen[key] = true
		switch key {
		case "release":
			if !releaseRe.MatchString(val) {
				return Spec{}, fmt.Errorf("%s:%d: release %q, want vX.Y or vX.Y.Z", path, n, val)
			}
			s.Release = val
		case "upstream":
			s.Upstream = val
		case "target":
			if val != Mainline && val != Stable {
				return Spec{}, fmt.Errorf("%s:%d: target %q, want %s or %s", path, n, val, Mainline, Stable)
			}
			s.Target = val
		case "base-commit":
			if !commitRe.MatchString(val) {
				return Spec{}, fmt.Errorf("%s:%d: base-commit %q, want the 40 hex digits of %s's commit", path, n, val, s.Upstream)
			}
			s.BaseCommit = val
		case "reference":
			f := strings.Fields(val)
			if len(f) != 3 || !packageRe.MatchString(f[0]) {
				return Spec{}, fmt.Errorf("%s:%d: reference %q, want \"linux-source-X.Y VERSION SUITE\"", path, n, val)
			}
			s.Reference = &Reference{Package: f[0], Version: f[1], Suite: f[2]}
		case "prerequisite":
			file, subject, ok := strings.Cut(val, ": ")
			if !ok || !pathRe.MatchString(file) || strings.TrimSpace(subject) == "" {
				return Spec{}, fmt.Errorf("%s:%d: prerequisite %q, want \"<file>: <subject>\"", path, n, val)
			}
			s.Prerequisites = append(s.Prerequisites, Prerequisite{File: file, Subject: strings.TrimSpace(subject)})
		case "package":
			f := strings.Fields(val)
			if len(f) != 2 || !packageRe.MatchString(f[0]) {
				return Spec{}, fmt.Errorf("%s:%d: package %q, want \"linux-source-X.Y VERSION\"", path, n, val)
			}
			s.Package, s.Version = f[0], f[1]
		case "suites":
			s.Suites = strings.Fields(val)
		case "series":
			s.Series = strings.Fields(val)
		case "kconfig":
			s.Kconfig = append(s.Kconfig, val)
		case "flavour":
			f := strings.Fields(val)
			name := Flavour(f[0])
			if len(f) < 2 || !nameRe.MatchString(f[0]) || name == Base || name == Patched || name == Custom ||
				slices.ContainsFunc(s.Extra, func(x FlavourSpec) bool { return x.Name == name }) {
				return Spec{}, fmt.Errorf("%s:%d: flavour %q, want \"<new name> <series>...\" (not %s, %s or %s, each name once)", path, n, val, Base, Patched, Custom)
			}
			s.Extra = append(s.Extra, FlavourSpec{Name: name, Series: f[1:]})
		case "needs":
			f := strings.Fields(val)
			if len(f) < 2 || s.Needs[f[0]] != nil {
				return Spec{}, fmt.Errorf("%s:%d: needs %q, want \"<series> <series it applies on>...\", once per series", path, n, val)
			}
			if s.Needs == nil {
				s.Needs = map[string][]string{}
			}
			s.Needs[f[0]] = f[1:]
		case "default":
			b, err := strconv.ParseBool(strings.NewReplacer("yes", "true", "no", "false").Replace(val))
			if err != nil {
				return Spec{}, fmt.Errorf("%s:%d: default %q, want yes or no", path, n, val)
			}
			s.Default = b
		default:
			return Spec{}, fmt.Errorf("%s:%d: unknown key %q (want release, upstream, target, base-commit, reference, prerequisite, package, suites, series, flavour, needs, kconfig, default)", path, n, key)
		}
	}
	if err := sc.Err(); err != nil {
		return Spec{}, fmt.Errorf("read %s: %w", path, err)
	}
	var missing []string
	for _, k := range []string{"release", "upstream", "package", "suites"} {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return Spec{}, fmt.Errorf("%s: missing %s", path, strings.Join(missing, ", "))
	}
	if want := "linux-source-" + s.ReleaseSeries(); s.Package != want {
		return Spec{}, fmt.Errorf("%s: package %s does not carry release %s (want %s)", path, s.Package, s.Release, want)
	}
	if s.Target == "" {
		s.Target = Mainline
	}
	if err := s.checkUpstream(); err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	for _, sr := range s.AllSeries() {
		if _, err := os.Stat(filepath.Join(abs, sr, "series")); err != nil {
			return Spec{}, fmt.Errorf("%s: series %q: %s/series missing", path, sr, filepath.Join(s.Name, sr))
		}
	}
	if err := s.checkNeeds(); err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	for _, k := range s.Kconfig {
		if filepath.IsAbs(k) {
			return Spec{}, fmt.Errorf("%s: kconfig %s: want a repository-relative path", path, k)
		}
		if _, err := os.Stat(filepath.Join(repo, k)); err != nil {
			return Spec{}, fmt.Errorf("%s: kconfig fragment %s missing", path, k)
		}
	}
	return s, nil
}

// checkNeeds holds every flavour to the needs: a series it carries comes
// after the series it applies on.
func (s Spec) checkNeeds() error {
	all := s.AllSeries()
	for n, deps := range s.Needs {
		for _, d := range append([]string{n}, deps...) {
			if !slices.Contains(all, d) {
				return fmt.Errorf("needs %s: %q is no series of the base", n, d)
			}
		}
	}
	for _, f := range s.Flavours()[1:] {
		order, _ := s.FlavourSeries(f)
		for i, n := range order {
			for _, d := range s.Needs[n] {
				if j := slices.Index(order, d); j < 0 || j > i {
					return fmt.Errorf("flavour %s applies %s without %s before it, which it needs", f, n, d)
				}
			}
		}
	}
	return nil
}

// Set is every base of the repository, the default first, then by
// upstream version, newest first: the matrix's column order.
type Set []Spec

// Load reads every patches/*/BASE. Exactly one base must be the default.
func Load(repo string) (Set, error) {
	files, err := filepath.Glob(filepath.Join(repo, "patches", "*", SpecFile))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no kernel base: no patches/*/%s in %s", SpecFile, repo)
	}
	var set Set
	var defaults []string
	for _, f := range files {
		s, err := ReadSpec(repo, filepath.Dir(f))
		if err != nil {
			return nil, err
		}
		if s.Default {
			defaults = append(defaults, s.Name)
		}
		set = append(set, s)
	}
	if len(defaults) != 1 {
		return nil, fmt.Errorf("want exactly one base with \"default: yes\", have %d (%s)", len(defaults), strings.Join(defaults, ", "))
	}
	slices.SortFunc(set, func(a, b Spec) int {
		switch {
		case a.Default != b.Default:
			if a.Default {
				return -1
			}
			return 1
		}
		return -compareRelease(a.Release, b.Release)
	})
	return set, nil
}

// Names lists the base names in set order.
func (s Set) Names() []string {
	var out []string
	for _, b := range s {
		out = append(out, b.Name)
	}
	return out
}

// Variants are every kernel of the set: each base's flavours in matrix
// order, bases in set order (what a full matrix has a column for).
func (s Set) Variants() []Variant {
	var out []Variant
	for _, b := range s {
		for _, f := range b.Flavours() {
			out = append(out, Variant{Base: b.Name, Flavour: f})
		}
	}
	return out
}

// ErrUnknown is returned by Select for a base that has no directory.
var ErrUnknown = errors.New("unknown kernel base")

// Select reads a BASE= value: "" is the default base, "all" every base,
// otherwise a comma-separated list of names.
func (s Set) Select(spec string) (Set, error) {
	spec = strings.TrimSpace(spec)
	switch spec {
	case "":
		for _, b := range s {
			if b.Default {
				return Set{b}, nil
			}
		}
		return nil, fmt.Errorf("no default kernel base")
	case "all":
		return slices.Clone(s), nil
	}
	var out Set
	for _, name := range strings.Split(spec, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(s, func(b Spec) bool { return b.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("%w %q, want all or one of %s", ErrUnknown, name, strings.Join(s.Names(), ", "))
		}
		if !slices.ContainsFunc(out, func(b Spec) bool { return b.Name == name }) {
			out = append(out, s[i])
		}
	}
	// Keep the set's order whatever order was asked for.
	slices.SortFunc(out, func(a, b Spec) int { return slices.Index(s.Names(), a.Name) - slices.Index(s.Names(), b.Name) })
	return out, nil
}

// Get returns the named base.
func (s Set) Get(name string) (Spec, error) {
	sel, err := s.Select(name)
	if err != nil {
		return Spec{}, err
	}
	if len(sel) != 1 {
		return Spec{}, fmt.Errorf("%w %q", ErrUnknown, name)
	}
	return sel[0], nil
}

// compareRelease orders "v7.3.4" against "v6.12.117" numerically.
func compareRelease(a, b string) int {
	pa := strings.Split(strings.TrimPrefix(a, "v"), ".")
	pb := strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// checkUpstream holds the tag the series are sent against to what a
// maintainer can resolve: a mainline tag for mainline, a stable tag of
// the release's line for stable; and it must not be newer than the tree
// tested, which must carry it.
func (s Spec) checkUpstream() error {
	switch s.Target {
	case Mainline:
		m := mainlineRe.FindStringSubmatch(s.Upstream)
		if m == nil {
			hint := ""
			if stableRe.MatchString(s.Upstream) {
				hint = ": a stable tag is not in mainline, where maintainers resolve base-commit:"
			}
			return fmt.Errorf("upstream %q, want a mainline tag vX.Y or vX.Y-rcN%s", s.Upstream, hint)
		}
		if m[1] != s.ReleaseSeries() {
			return fmt.Errorf("upstream %s is not of the release %s the tree carries", s.Upstream, s.Release)
		}
	case Stable:
		m := stableRe.FindStringSubmatch(s.Upstream)
		if m == nil || m[1] != s.ReleaseSeries() {
			return fmt.Errorf("upstream %q, want a stable tag v%s.N for a stable target", s.Upstream, s.ReleaseSeries())
		}
	}
	return nil
}
