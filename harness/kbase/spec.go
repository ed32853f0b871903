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
	// Upstream is the upstream release the Debian package carries and
	// the series applies to, e.g. "v7.3.4".
	Upstream string
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
	// Kconfig are extra kconfig fragments for this base,
	// repository-relative, merged after kconfig/*.config.
	Kconfig []string
	// Default marks the base that runs when none is named.
	Default bool
}

// SeriesDirs are the absolute series directories, in apply order.
func (s Spec) SeriesDirs() []string {
	var out []string
	for _, n := range s.Series {
		out = append(out, filepath.Join(s.Dir, n))
	}
	return out
}

// UpstreamSeries is "7.3" for "v7.3.4".
func (s Spec) UpstreamSeries() string {
	m := upstreamRe.FindStringSubmatch(s.Upstream)
	if m == nil {
		return ""
	}
	return m[1]
}

var (
	upstreamRe = regexp.MustCompile(`^v(\d+\.\d+)(?:\.\d+)?$`)
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
		if seen[key] && key != "kconfig" {
			return Spec{}, fmt.Errorf("%s:%d: %s given twice", path, n, key)
		}
		seen[key] = true
		switch key {
		case "upstream":
			if !upstreamRe.MatchString(val) {
				return Spec{}, fmt.Errorf("%s:%d: upstream %q, want vX.Y or vX.Y.Z", path, n, val)
			}
			s.Upstream = val
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
		case "default":
			b, err := strconv.ParseBool(strings.NewReplacer("yes", "true", "no", "false").Replace(val))
			if err != nil {
				return Spec{}, fmt.Errorf("%s:%d: default %q, want yes or no", path, n, val)
			}
			s.Default = b
		default:
			return Spec{}, fmt.Errorf("%s:%d: unknown key %q (want upstream, package, suites, series, kconfig, default)", path, n, key)
		}
	}
	if err := sc.Err(); err != nil {
		return Spec{}, fmt.Errorf("read %s: %w", path, err)
	}
	var missing []string
	for _, k := range []string{"upstream", "package", "suites"} {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return Spec{}, fmt.Errorf("%s: missing %s", path, strings.Join(missing, ", "))
	}
	if want := "linux-source-" + s.UpstreamSeries(); s.Package != want {
		return Spec{}, fmt.Errorf("%s: package %s does not carry upstream %s (want %s)", path, s.Package, s.Upstream, want)
	}
	for _, sr := range s.Series {
		if _, err := os.Stat(filepath.Join(abs, sr, "series")); err != nil {
			return Spec{}, fmt.Errorf("%s: series %q: %s/series missing", path, sr, filepath.Join(s.Name, sr))
		}
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
		return -compareRelease(a.Upstream, b.Upstream)
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
