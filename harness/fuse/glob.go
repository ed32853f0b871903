package fuse

import (
	"fmt"
	"path"
	"strings"
)

// matchGlob reports whether the absolute slash path p matches pattern.
// Patterns use path.Match syntax per segment ('*' never crosses '/'), plus a
// "**" segment that matches zero or more whole segments. A pattern without a
// leading slash is taken as absolute, and the empty pattern matches anything,
// so rules read naturally in JSON: "data/*.bin", "**/log", "".
func matchGlob(pattern, p string) bool {
	if pattern == "" || pattern == "**" || pattern == "/**" {
		return true
	}
	if !strings.HasPrefix(pattern, "/") {
		pattern = "/" + pattern
	}
	return matchSegments(splitPath(pattern), splitPath(p))
}

func matchSegments(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchSegments(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		ok, err := path.Match(pat[0], segs[0])
		if err != nil || !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// splitPath splits "/a/b" into ["a", "b"]; "/" yields nothing.
func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// validateGlob rejects patterns path.Match cannot parse, so a typo in a
// scenario's rule fails loudly at configuration time instead of never matching.
func validateGlob(pattern string) error {
	for _, seg := range splitPath(pattern) {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("glob %q: %w", pattern, err)
		}
	}
	return nil
}

// cleanPath makes p absolute and clean ("a/b/" -> "/a/b").
func cleanPath(p string) string {
	return path.Clean("/" + p)
}
