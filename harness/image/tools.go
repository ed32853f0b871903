package image

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// lddLib matches "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)"
// and the loader line "/lib64/ld-linux-x86-64.so.2 (0x...)".
var lddLib = regexp.MustCompile(`(?m)(?:=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)`)

// Tools returns initramfs entries for host programs and the shared
// libraries they load, at the same paths (so the guest finds them with
// the host's loader). Programs go to /usr/bin.
func Tools(names []string) ([]Entry, error) {
	var out []Entry
	seen := map[string]bool{}
	for _, n := range names {
		bin, err := exec.LookPath(n)
		if err != nil {
			return nil, fmt.Errorf("%s not found: install Debian package %s (make deps)", n, n)
		}
		bin, err = filepath.EvalSymlinks(bin)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Path: "usr/bin/" + n, Source: bin, Mode: 0o755})
		ldd, err := exec.Command("ldd", bin).Output()
		if err != nil {
			return nil, fmt.Errorf("ldd %s: %w", bin, err)
		}
		for _, m := range lddLib.FindAllStringSubmatch(string(ldd), -1) {
			lib := m[1]
			if seen[lib] {
				continue
			}
			seen[lib] = true
			real, err := filepath.EvalSymlinks(lib)
			if err != nil {
				return nil, fmt.Errorf("%s needs %s: %w", n, lib, err)
			}
			if _, err := os.Stat(real); err != nil {
				return nil, err
			}
			out = append(out, Entry{Path: strings.TrimPrefix(lib, "/"), Source: real, Mode: 0o755})
		}
	}
	return out, nil
}
