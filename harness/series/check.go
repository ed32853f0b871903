// Package series checks the patch series the way a maintainer's tools
// would: it applies every patch with git am on the pinned base, runs
// checkpatch --strict on it, builds the kernel after it (the series must
// bisect), compiles the touched files with W=1 and sparse, and mails it.
package series

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
	"regexp"
	"sort"
	"strings"

	"dioharness/harness/kernel"
)

// Checker runs series-check.
type Checker struct {
	// Sources prepares the base tree.
	Sources *kernel.Sources
	// PatchDir is patches/.
	PatchDir string
	// Fragments are the kconfig fragments.
	Fragments []string
	// Build configures the per-patch builds.
	Build kernel.BuildOptions
	// Log receives one line per step.
	Log io.Writer
}

// Exception is a justified checkpatch message, from
// patches/checkpatch-exceptions:
// "<patch file>: <LEVEL>: <message>[ (xN)]: <why>".
type Exception struct {
	Patch, Level, Message, Why string
}

var exceptionCount = regexp.MustCompile(`\s*\(x\d+\)$`)

// ReadExceptions parses the exceptions file; a missing file is empty.
func ReadExceptions(path string) ([]Exception, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Exception
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, ": ", 4)
		if len(parts) != 4 || parts[3] == "" || !checkpatchLevel[parts[1]] {
			return nil, fmt.Errorf("%s:%d: want \"<patch file>: <ERROR|WARNING|CHECK>: <message>: <why>\"", path, n)
		}
		out = append(out, Exception{Patch: parts[0], Level: parts[1], Message: exceptionCount.ReplaceAllString(parts[2], ""), Why: parts[3]})
	}
	return out, sc.Err()
}

var checkpatchLevel = map[string]bool{"ERROR": true, "WARNING": true, "CHECK": true}

// checkpatchMsg matches checkpatch's "ERROR: ...", "WARNING: ...",
// "CHECK: ..." lines (without --show-types).
var checkpatchMsg = regexp.MustCompile(`^(ERROR|WARNING|CHECK): (.*)$`)

// Unexcused returns the checkpatch messages of patch not covered by an
// exception.
func Unexcused(patch string, output string, ex []Exception) []string {
	var bad []string
	for _, line := range strings.Split(output, "\n") {
		m := checkpatchMsg.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		excused := false
		for _, e := range ex {
			if e.Patch == filepath.Base(patch) && e.Level == m[1] && strings.Contains(m[2], e.Message) {
				excused = true
			}
		}
		if !excused {
			bad = append(bad, line)
		}
	}
	return bad
}

// warning matches a compiler diagnostic; the line and column are dropped
// so that a patch moving code does not look like a new warning.
var warning = regexp.MustCompile(`^(\S+?):\d+:\d+: (warning|error): (.*)$`)

// Run checks every patch and, on success, writes a stamp that
// send-email requires.
func (c *Checker) Run(ctx context.Context, stamp string) error {
	patches, err := kernel.ReadSeries(c.PatchDir)
	if err != nil {
		return err
	}
	if len(patches) == 0 {
		return fmt.Errorf("%s/series lists no patches", c.PatchDir)
	}
	ex, err := ReadExceptions(filepath.Join(c.PatchDir, "checkpatch-exceptions"))
	if err != nil {
		return err
	}
	// Checking in the patched worktree leaves it built in the series'
	// final state, so the patched qemu-test that follows needs no build.
	t, err := c.Sources.ResetPatched(ctx)
	if err != nil {
		return err
	}
	t.Flavour = "series-check"
	if err := kernel.Configure(ctx, t, c.Fragments, c.Log); err != nil {
		return err
	}
	touched, err := touchedFiles(patches)
	if err != nil {
		return err
	}
	sparse := ""
	if _, err := exec.LookPath("sparse"); err == nil {
		sparse = "C=2"
	} else {
		fmt.Fprintln(c.Log, "series-check: sparse not installed, skipping sparse (Debian package sparse)")
	}
	// The baseline: warnings the touched files already have on the base.
	if _, err := kernel.Build(ctx, t, c.Build); err != nil {
		return fmt.Errorf("base: %w", err)
	}
	prev, err := c.warnings(ctx, t, touched, sparse)
	if err != nil {
		return fmt.Errorf("base: %w", err)
	}
	var failures []string
	for i, p := range patches {
		name := filepath.Base(p)
		fmt.Fprintf(c.Log, "series-check: [%d/%d] %s\n", i+1, len(patches), name)
		if err := kernel.Am(ctx, t.Src, p); err != nil {
			return err
		}
		cp := exec.CommandContext(ctx, "perl", "scripts/checkpatch.pl", "--strict", "--no-summary", p)
		cp.Dir = t.Src
		out, _ := cp.CombinedOutput()
		if bad := Unexcused(p, string(out), ex); len(bad) > 0 {
			failures = append(failures, fmt.Sprintf("%s: checkpatch --strict:\n  %s", name, strings.Join(bad, "\n  ")))
		}
		if _, err := kernel.Build(ctx, t, c.Build); err != nil {
			failures = append(failures, fmt.Sprintf("%s: does not build: %v", name, err))
			break
		}
		cur, err := c.warnings(ctx, t, touched, sparse)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", name, err))
			break
		}
		if added := newWarnings(prev, cur); len(added) > 0 {
			failures = append(failures, fmt.Sprintf("%s: new W=1/sparse warnings:\n  %s", name, strings.Join(added, "\n  ")))
		}
		prev = cur
	}
	if len(failures) > 0 {
		os.Remove(stamp)
		return fmt.Errorf("series-check failed:\n%s", strings.Join(failures, "\n"))
	}
	sum, err := Hash(c.PatchDir)
	if err != nil {
		return err
	}
	// The worktree now holds exactly the series: mark it as the
	// patched tree so qemu-test does not apply it again.
	if err := c.Sources.MarkPatched(c.PatchDir); err != nil {
		return err
	}
	fmt.Fprintf(c.Log, "series-check: %d patches apply, are checkpatch --strict clean, build one by one, add no W=1/sparse warnings\n", len(patches))
	return os.WriteFile(stamp, []byte(sum+"\n"), 0o644)
}

// warnings compiles the touched C files with W=1 (and sparse) and
// returns their diagnostics without line numbers.
func (c *Checker) warnings(ctx context.Context, t kernel.Tree, files []string, sparse string) (map[string]bool, error) {
	var objs []string
	for _, f := range files {
		if strings.HasSuffix(f, ".c") {
			if _, err := os.Stat(filepath.Join(t.Src, f)); err == nil {
				objs = append(objs, strings.TrimSuffix(f, ".c")+".o")
			}
		}
	}
	set := map[string]bool{}
	if len(objs) == 0 {
		return set, nil
	}
	// Touch the objects' sources so make recompiles them with W=1.
	for _, o := range objs {
		os.Remove(filepath.Join(t.Obj, o))
	}
	args := append([]string{"O=_obj", "W=1"}, objs...)
	if sparse != "" {
		args = append(args, sparse)
	}
	cmd := exec.CommandContext(ctx, "make", args...)
	cmd.Dir = t.Src
	if c.Build.CCacheDir != "" {
		cmd.Args = append(cmd.Args, "CC=ccache gcc")
		cmd.Env = append(os.Environ(), "CCACHE_DIR="+c.Build.CCacheDir, "CCACHE_BASEDIR="+filepath.Dir(t.Src), "CCACHE_NOHASHDIR=1")
	}
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if m := warning.FindStringSubmatch(line); m != nil {
			set[filepath.Clean(m[1])+": "+m[2]+": "+m[3]] = true
		}
	}
	if err != nil {
		return set, fmt.Errorf("W=1 build of %s: %w", strings.Join(objs, " "), err)
	}
	return set, nil
}

func newWarnings(prev, cur map[string]bool) []string {
	var added []string
	for w := range cur {
		if !prev[w] {
			added = append(added, w)
		}
	}
	sort.Strings(added)
	return added
}

var diffFile = regexp.MustCompile(`(?m)^\+\+\+ b/(\S+)`)

// touchedFiles lists the files the series changes.
func touchedFiles(patches []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, p := range patches {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		for _, m := range diffFile.FindAllStringSubmatch(string(data), -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				out = append(out, m[1])
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// Hash identifies what series-check checked: the series file and every
// patch it lists. The cover letter is not part of it: a new test matrix
// quoted there does not change what was checked.
func Hash(patchDir string) (string, error) {
	patches, err := kernel.ReadSeries(patchDir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, p := range append([]string{filepath.Join(patchDir, "series")}, patches...) {
		data, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(p), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
