package kernel

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Option is one requested CONFIG_ line of a fragment.
type Option struct {
	Name  string // CONFIG_FOO
	Value string // y, n, m, a number or a quoted string
	From  string // fragment file and line, for error messages
}

// ReadFragments parses kconfig fragments: "CONFIG_X=v" and
// "# CONFIG_X is not set" lines.
func ReadFragments(paths []string) ([]Option, error) {
	var opts []Option
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("read fragment: %w", err)
		}
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			from := fmt.Sprintf("%s:%d", filepath.Base(p), n)
			if name, ok := strings.CutPrefix(line, "# "); ok {
				if name, ok := strings.CutSuffix(name, " is not set"); ok && strings.HasPrefix(name, "CONFIG_") {
					opts = append(opts, Option{Name: name, Value: "n", From: from})
				}
				continue
			}
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			name, val, ok := strings.Cut(line, "=")
			if !ok || !strings.HasPrefix(name, "CONFIG_") {
				f.Close()
				return nil, fmt.Errorf("%s: malformed line %q, want CONFIG_X=value", from, line)
			}
			opts = append(opts, Option{Name: name, Value: val, From: from})
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
	}
	return opts, nil
}

// Effective keeps the last request of each option, in the order of
// those last requests: merge_config.sh lets a later fragment override an
// earlier one, so only the last value is asked of the final .config.
func Effective(opts []Option) []Option {
	last := map[string]int{}
	for i, o := range opts {
		last[o.Name] = i
	}
	var out []Option
	for i, o := range opts {
		if last[o.Name] == i {
			out = append(out, o)
		}
	}
	return out
}

// Dropped returns the requested options that the final .config does
// not carry with the requested value, sorted by name.
func Dropped(want []Option, config map[string]string) []Option {
	var bad []Option
	for _, o := range want {
		got, set := config[o.Name]
		if o.Value == "n" {
			if set && got != "n" {
				bad = append(bad, o)
			}
			continue
		}
		if got != o.Value {
			bad = append(bad, o)
		}
	}
	sort.Slice(bad, func(i, j int) bool { return bad[i].Name < bad[j].Name })
	return bad
}

// ParseConfig reads a .config into name -> value; unset options are
// absent.
func ParseConfig(r io.Reader) (map[string]string, error) {
	m := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if name, val, ok := strings.Cut(line, "="); ok && strings.HasPrefix(name, "CONFIG_") {
			m[name] = val
		}
	}
	return m, sc.Err()
}

// Configure writes Obj/.config: tinyconfig, the fragments merged with the
// kernel's merge_config.sh, then olddefconfig. It fails listing every
// requested option that did not survive. It does nothing when the
// fragments are unchanged since the last successful run, so that the
// next build stays incremental.
func Configure(ctx context.Context, t Tree, fragments []string, log io.Writer) error {
	all, err := ReadFragments(fragments)
	if err != nil {
		return err
	}
	want := Effective(all)
	sum := sha256.New()
	for _, o := range want {
		fmt.Fprintf(sum, "%s=%s\n", o.Name, o.Value)
	}
	stampVal := hex.EncodeToString(sum.Sum(nil))
	stamp := filepath.Join(t.Obj, ".dioharness-config")
	config := filepath.Join(t.Obj, ".config")
	if old, err := os.ReadFile(stamp); err == nil && string(old) == stampVal {
		if _, err := os.Stat(config); err == nil {
			return nil
		}
	}
	if err := os.MkdirAll(t.Obj, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(log, "kernel %s: configuring (tinyconfig + %d fragments)\n", t.Variant, len(fragments))
	steps := [][]string{
		{"make", "-s", "O=" + t.Obj, "tinyconfig"},
		append([]string{"scripts/kconfig/merge_config.sh", "-m", "-O", t.Obj, config}, fragments...),
		{"make", "-s", "O=" + t.Obj, "olddefconfig"},
	}
	for _, s := range steps {
		cmd := exec.CommandContext(ctx, s[0], s[1:]...)
		cmd.Dir = t.Src
		cmd.Env = append(os.Environ(), "KCONFIG_CONFIG="+config)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("kernel %s: %s: %w: %s", t.Variant, strings.Join(s[:2], " "), err, lastLines(out, 8))
		}
	}
	f, err := os.Open(config)
	if err != nil {
		return err
	}
	got, err := ParseConfig(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("read %s: %w", config, err)
	}
	if bad := Dropped(want, got); len(bad) > 0 {
		var names []string
		for _, o := range bad {
			have := got[o.Name]
			if have == "" {
				have = "unset"
			}
			names = append(names, fmt.Sprintf("%s=%s (%s, got %s)", o.Name, o.Value, o.From, have))
		}
		return fmt.Errorf("kernel %s: olddefconfig dropped %d requested options: %s", t.Variant, len(bad), strings.Join(names, ", "))
	}
	return os.WriteFile(stamp, []byte(stampVal), 0o644)
}
