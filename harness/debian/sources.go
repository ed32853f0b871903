// Package debian fetches kernel source from Debian's archive without
// touching the machine's apt configuration: a private sources list and
// private apt state under the harness cache, the mirrors the machine
// already uses, and Debian's archive keyring. It picks the version to
// use (the recorded one, or the newest of the same package when the
// archive has replaced it), downloads the linux-source package, extracts
// its tarball, and tells which files of the unpacked tree Debian's own
// patches changed.
package debian

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Mirrors are the archive roots apt uses on this machine.
type Mirrors struct {
	// Archive serves the regular suites (bookworm, trixie-backports...).
	Archive string
	// Security serves the *-security suites.
	Security string
}

// For returns the mirror serving suite.
func (m Mirrors) For(suite string) (string, error) {
	if strings.HasSuffix(suite, "-security") {
		if m.Security == "" {
			return "", fmt.Errorf("no Debian security mirror in the apt configuration for suite %s: set DEBIAN_SECURITY_MIRROR", suite)
		}
		return m.Security, nil
	}
	if m.Archive == "" {
		return "", fmt.Errorf("no Debian mirror in the apt configuration for suite %s: set DEBIAN_MIRROR", suite)
	}
	return m.Archive, nil
}

// entry is one enabled "deb" source of the apt configuration.
type entry struct {
	uri    string
	suites []string
}

// parseOneLine reads the classic format: "deb [opts] URI suite comp...".
func parseOneLine(text string) []entry {
	var out []entry
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") {
			// Options may span several fields: skip to the one closing them.
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) > 0 {
				f = f[1:]
			}
		}
		if len(f) < 2 {
			continue
		}
		out = append(out, entry{uri: f[0], suites: []string{f[1]}})
	}
	return out
}

// parseDeb822 reads the .sources format: stanzas of "Key: value" fields
// separated by blank lines.
func parseDeb822(text string) []entry {
	var out []entry
	for _, stanza := range strings.Split(strings.ReplaceAll(text, "\r", ""), "\n\n") {
		fields := map[string]string{}
		var last string
		for _, line := range strings.Split(stanza, "\n") {
			if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
				continue
			}
			if (line[0] == ' ' || line[0] == '\t') && last != "" {
				fields[last] += " " + strings.TrimSpace(line)
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
		if !strings.Contains(" "+fields["types"]+" ", " deb ") || strings.EqualFold(fields["enabled"], "no") {
			continue
		}
		for _, uri := range strings.Fields(fields["uris"]) {
			out = append(out, entry{uri: uri, suites: strings.Fields(fields["suites"])})
		}
	}
	return out
}

// mirrorsOf picks, from the configured sources, the first root serving a
// security suite and the first serving any other suite.
func mirrorsOf(entries []entry) Mirrors {
	var m Mirrors
	for _, e := range entries {
		for _, s := range e.suites {
			switch {
			case strings.HasSuffix(s, "-security") && m.Security == "":
				m.Security = strings.TrimSuffix(e.uri, "/")
			case !strings.HasSuffix(s, "-security") && m.Archive == "":
				m.Archive = strings.TrimSuffix(e.uri, "/")
			}
		}
	}
	return m
}

// FindMirrors reads the machine's apt configuration under etcApt
// (normally /etc/apt) for the Debian mirrors it uses. DEBIAN_MIRROR and
// DEBIAN_SECURITY_MIRROR override what is found.
func FindMirrors(etcApt string) (Mirrors, error) {
	var entries []entry
	if b, err := os.ReadFile(filepath.Join(etcApt, "sources.list")); err == nil {
		entries = append(entries, parseOneLine(string(b))...)
	}
	for _, pat := range []string{"*.list", "*.sources"} {
		files, _ := filepath.Glob(filepath.Join(etcApt, "sources.list.d", pat))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return Mirrors{}, fmt.Errorf("read apt source: %w", err)
			}
			if strings.HasSuffix(f, ".sources") {
				entries = append(entries, parseDeb822(string(b))...)
			} else {
				entries = append(entries, parseOneLine(string(b))...)
			}
		}
	}
	m := mirrorsOf(entries)
	if v := os.Getenv("DEBIAN_MIRROR"); v != "" {
		m.Archive = strings.TrimSuffix(v, "/")
	}
	if v := os.Getenv("DEBIAN_SECURITY_MIRROR"); v != "" {
		m.Security = strings.TrimSuffix(v, "/")
	}
	if m.Archive == "" {
		return m, fmt.Errorf("no Debian mirror found in %s: set DEBIAN_MIRROR to an archive root", etcApt)
	}
	return m, nil
}
