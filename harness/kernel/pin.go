// Package kernel prepares kernel source trees (the pinned base, the base
// with patches/ applied, or a user's own tree), merges the kconfig
// fragments and builds bzImage out of tree with progress reporting.
package kernel

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Pin is the pinned base kernel, read from patches/BASE.
type Pin struct {
	// Package is the Debian source package, e.g. "linux-source-6.12".
	Package string
	// Version is the Debian package version, e.g. "6.12.117-1~deb12u1".
	Version string
	// Upstream is the upstream tag the package corresponds to.
	Upstream string
	// BaseCommit is the commit id the unpacked tarball must get when
	// committed with the fixed identity and dates of commitBase: the
	// patches' base-commit. A mismatch means the tarball is not the one
	// the series was written against.
	BaseCommit string
}

// ReadPin parses a BASE file of "key: value" lines.
func ReadPin(path string) (Pin, error) {
	f, err := os.Open(path)
	if err != nil {
		return Pin{}, fmt.Errorf("read kernel pin: %w", err)
	}
	defer f.Close()
	var p Pin
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return Pin{}, fmt.Errorf("%s: malformed line %q, want \"key: value\"", path, line)
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "package":
			name, ver, ok := strings.Cut(val, " ")
			if !ok {
				return Pin{}, fmt.Errorf("%s: package line %q, want \"package: NAME VERSION\"", path, val)
			}
			p.Package, p.Version = name, strings.TrimSpace(ver)
		case "upstream":
			p.Upstream = val
		case "base-commit":
			p.BaseCommit = val
		default:
			return Pin{}, fmt.Errorf("%s: unknown key %q", path, key)
		}
	}
	if err := sc.Err(); err != nil {
		return Pin{}, fmt.Errorf("read %s: %w", path, err)
	}
	if p.Package == "" || p.Upstream == "" || p.BaseCommit == "" {
		return Pin{}, fmt.Errorf("%s: needs package, upstream and base-commit lines", path)
	}
	return p, nil
}

// Tarball is where Debian's linux-source package installs the source.
func (p Pin) Tarball() string {
	return "/usr/src/" + p.Package + ".tar.xz"
}
