// Package series checks the patch series the way a maintainer's tools
// would: it applies every patch with git am on the pinned base, runs
// checkpatch --strict on it, builds the kernel after it (the series must
// bisect), compiles the touched files with W=1 and sparse, and mails it.
package series

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"dioharness/harness/kbase"
	"dioharness/harness/kernel"
)

// Checker runs series-check on the series of one base.
type Checker struct {
	// Sources prepares the base's trees.
	Sources *kernel.Sources
	// Fragments are the kconfig fragments.
	Fragments []string
	// Build configures the per-patch builds.
	Build kernel.BuildOptions
	// StampDir receives one stamp per series that passed, which
	// send-email requires.
	StampDir string
	// AfterPatch, when set, runs after each patch built: it boots the
	// tree with the scenarios that prove this patch (and those of the
	// next one, which must still fail), so that each patch, not only
	// the series, is shown to do what it says. subjects are the
	// series' patch subjects; patches [0, i] are applied, on top of the
	// patches whose subjects are prior (the series it applies on,
	// kbase.Spec.Needs).
	AfterPatch func(ctx context.Context, t kernel.Tree, built kernel.Result, series string, prior, subjects []string, i int) error
	// Images keeps the kernel built after each patch; ResultCache (""
	// disables both) keeps a stamp per series whose static checks
	// passed, keyed by their inputs. A fresh clone then skips those
	// checks and boots the cached per-patch kernels.
	Images      kernel.ImageCache
	ResultCache string
	// Selftests is where the base's selftest binaries are cached
	// (testrun builds them); a cached series boots only when they are
	// there, since it has no tree to build them from.
	Selftests string
	// Rebuild ignores the caches (they are refreshed).
	Rebuild bool
	// Repo is the repository root: findings name files relative to it.
	Repo string
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

// Run checks each series of the base (every flavour's) on the base with
// the series it applies on (kbase.Spec.Needs, none for most): every
// patch applies with git am, is checkpatch --strict clean (or excused),
// builds, and adds no W=1 or sparse warning to the files the series
// touches. Then the patched worktree is left holding every series of
// the patched flavour, built, so the patched qemu-test that follows
// builds nothing.
func (c *Checker) Run(ctx context.Context) error {
	var failures []string
	checked := 0
	stale, err := c.upstreamStale(ctx)
	if err != nil {
		return err
	}
	failures = append(failures, stale...)
	for _, dir := range c.Sources.Spec.AllSeriesDirs() {
		name := c.Sources.Spec.Name + "/" + filepath.Base(dir)
		patches, err := kernel.ReadSeries(dir)
		if err != nil {
			return err
		}
		if len(patches) == 0 {
			fmt.Fprintf(c.Log, "series-check: %s lists no patch yet\n", name)
			continue
		}
		// What the mails would say is read before anything is built: a
		// series that must not go out fails at once.
		findings, err := Lint(c.Repo, dir, c.Sources.Spec)
		if err != nil {
			return err
		}
		if len(findings) > 0 {
			os.Remove(c.stamp(dir))
			for _, f := range findings {
				failures = append(failures, name+": "+f.String())
			}
			continue
		}
		if held, err := Held(dir); err != nil {
			return err
		} else if len(held) > 0 {
			fmt.Fprintf(c.Log, "series-check: %s is held: %d line(s) wait for an upstream commit id (%s); checked, but send-email refuses it\n", name, len(held), UpstreamIDPlaceholder)
		}
		f, err := c.checkSeries(ctx, name, dir, patches)
		if err != nil {
			return err
		}
		stamp := c.stamp(dir)
		if len(f) > 0 {
			os.Remove(stamp)
			failures = append(failures, f...)
			continue
		}
		sum, err := Hash(dir)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(c.StampDir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(stamp, []byte(sum+"\n"), 0o644); err != nil {
			return err
		}
		checked += len(patches)
		fmt.Fprintf(c.Log, "series-check: %s: %d patches apply, are checkpatch --strict clean, build one by one, add no W=1/sparse warnings\n", name, len(patches))
	}
	if len(failures) > 0 {
		return fmt.Errorf("series-check failed:\n%s", strings.Join(failures, "\n"))
	}
	if checked == 0 {
		return nil
	}
	all, err := c.Sources.AllPatches()
	if err != nil {
		return err
	}
	// The patched flavour's kernel: from the image cache when it is
	// there, else left built in the worktree (and cached), as the
	// patched flavour applies every series (incremental: only the
	// other series' files rebuild).
	allKey := ""
	if c.ResultCache != "" {
		source, _, err := c.Sources.Source(ctx)
		if err != nil {
			return err
		}
		keys, err := kernel.NewKeys(ctx, source, c.Fragments)
		if err != nil {
			return err
		}
		if allKey, err = keys.For(all); err != nil {
			return err
		}
		if _, ok := c.Images.Lookup(allKey); ok && !c.Rebuild {
			return nil
		}
	}
	t, err := c.Sources.Reset(ctx)
	if err != nil {
		return err
	}
	for _, p := range all {
		if err := kernel.Am(ctx, t.Src, p); err != nil {
			return err
		}
	}
	built, err := kernel.Build(ctx, t, c.Build)
	if err != nil {
		return fmt.Errorf("%s with every series: %w", c.Sources.Spec.Name, err)
	}
	if allKey != "" {
		commit, err := kernel.Head(ctx, t.Src)
		if err != nil {
			return err
		}
		if _, err := c.Images.Store(allKey, built, commit); err != nil {
			return err
		}
	}
	return c.Sources.MarkPatched(ctx)
}

// upstreamStale holds the committed comparison with the tag the series
// are sent against (results/upstream-<base>.json, make upstream-base)
// to the series and the tested tree as they are now.
func (c *Checker) upstreamStale(ctx context.Context) ([]string, error) {
	spec := c.Sources.Spec
	if spec.Reference == nil || c.Repo == "" {
		return nil, nil
	}
	path := UpstreamPath(c.Repo, spec.Name)
	rel, _ := filepath.Rel(c.Repo, path)
	r, err := ReadUpstream(path)
	if err != nil {
		return []string{fmt.Sprintf("%s: %s.json: %v: run make upstream-base BASE=%s", spec.Name, rel, err, spec.Name)}, nil
	}
	t, err := c.Sources.Base(ctx)
	if err != nil {
		return nil, err
	}
	bad, err := CheckUpstream(r, spec, t.Src)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, b := range bad {
		out = append(out, fmt.Sprintf("%s: %s.json: %s: run make upstream-base BASE=%s", spec.Name, rel, b, spec.Name))
	}
	return out, nil
}

// stamp is where a passed series records what was checked.
func (c *Checker) stamp(seriesDir string) string {
	return filepath.Join(c.StampDir, c.Sources.Spec.Name+"-"+filepath.Base(seriesDir)+".ok")
}

// Checked reports whether series-check passed for exactly the series
// now in seriesDir.
func Checked(stampDir, base, seriesDir string) (bool, error) {
	want, err := Hash(seriesDir)
	if err != nil {
		return false, err
	}
	got, _ := os.ReadFile(filepath.Join(stampDir, base+"-"+filepath.Base(seriesDir)+".ok"))
	return strings.TrimSpace(string(got)) == want, nil
}

// checkSeries applies one series patch by patch on the base with the
// series it applies on, and returns what failed.
func (c *Checker) checkSeries(ctx context.Context, name, dir string, patches []string) ([]string, error) {
	ex, err := ReadExceptions(filepath.Join(dir, "checkpatch-exceptions"))
	if err != nil {
		return nil, err
	}
	prior, err := kernel.NeededPatches(c.Sources.Spec, filepath.Base(dir))
	if err != nil {
		return nil, err
	}
	priorSubjects, err := kernel.Subjects(prior)
	if err != nil {
		return nil, err
	}
	cc, keys, err := c.checkInputs(ctx, dir, prior, patches)
	if err != nil {
		return nil, err
	}
	if cc.images != nil {
		return c.bootCached(ctx, name, priorSubjects, patches, cc)
	}
	// Reset imports the base the first time; the Debian check needs it.
	t, err := c.Sources.Reset(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.Sources.CheckDebianPatches(patches); err != nil {
		return []string{err.Error()}, nil
	}
	if len(prior) > 0 {
		fmt.Fprintf(c.Log, "series-check: %s applies on %d patches of the series it needs\n", name, len(prior))
	}
	for _, p := range prior {
		if err := kernel.Am(ctx, t.Src, p); err != nil {
			return []string{fmt.Sprintf("%s: a series it applies on: %v", name, err)}, nil
		}
	}
	if err := kernel.Configure(ctx, t, c.Fragments, c.Log); err != nil {
		return nil, err
	}
	touched, err := kernel.TouchedFiles(patches)
	if err != nil {
		return nil, err
	}
	sparse := ""
	if _, err := exec.LookPath("sparse"); err == nil {
		sparse = "C=2"
	} else {
		fmt.Fprintln(c.Log, "series-check: sparse not installed, skipping sparse (Debian package sparse)")
	}
	// The baseline: warnings the touched files already have on the base
	// (with the series it applies on).
	if _, err := kernel.Build(ctx, t, c.Build); err != nil {
		return nil, fmt.Errorf("%s: the base does not build: %w", name, err)
	}
	prev, err := c.warnings(ctx, t, touched, sparse)
	if err != nil {
		return nil, fmt.Errorf("%s: base: %w", name, err)
	}
	subjects, err := kernel.Subjects(patches)
	if err != nil {
		return nil, err
	}
	var failures []string
	for i, p := range patches {
		pn := filepath.Base(p)
		fmt.Fprintf(c.Log, "series-check: %s [%d/%d] %s\n", name, i+1, len(patches), pn)
		if err := kernel.Am(ctx, t.Src, p); err != nil {
			return append(failures, fmt.Sprintf("%s: %v", name, err)), nil
		}
		cp := exec.CommandContext(ctx, "perl", "scripts/checkpatch.pl", "--strict", "--no-summary", p)
		cp.Dir = t.Src
		out, _ := cp.CombinedOutput()
		if bad := Unexcused(p, string(out), ex); len(bad) > 0 {
			failures = append(failures, fmt.Sprintf("%s: %s: checkpatch --strict:\n  %s", name, pn, strings.Join(bad, "\n  ")))
		}
		built, err := kernel.Build(ctx, t, c.Build)
		if err != nil {
			return append(failures, fmt.Sprintf("%s: %s: does not build: %v", name, pn, err)), nil
		}
		cur, err := c.warnings(ctx, t, touched, sparse)
		if err != nil {
			return append(failures, fmt.Sprintf("%s: %s: %v", name, pn, err)), nil
		}
		if added := newWarnings(prev, cur); len(added) > 0 {
			failures = append(failures, fmt.Sprintf("%s: %s: new W=1/sparse warnings:\n  %s", name, pn, strings.Join(added, "\n  ")))
		}
		prev = cur
		if keys != nil {
			commit, err := kernel.Head(ctx, t.Src)
			if err != nil {
				return nil, err
			}
			if _, err := c.Images.Store(keys[i], built, commit); err != nil {
				return nil, err
			}
		}
		if c.AfterPatch != nil {
			if err := c.AfterPatch(ctx, t, built, name, priorSubjects, subjects, i); err != nil {
				failures = append(failures, fmt.Sprintf("%s: %s: %v", name, pn, err))
			}
		}
	}
	if len(failures) == 0 {
		if err := c.recordPass(cc.key); err != nil {
			return nil, err
		}
	}
	return failures, nil
}

// bootCached stands for the static checks of a series that passed with
// the same inputs before: it says so, and boots each patch's cached
// kernel with its scenarios, which depend on more than the key covers.
func (c *Checker) bootCached(ctx context.Context, name string, prior, patches []string, cc cachedCheck) ([]string, error) {
	fmt.Fprintf(c.Log, "series-check: %s: apply, checkpatch, per-patch builds, W=1 and sparse passed on %s with the same inputs (key %s); not repeated (REBUILD=1 repeats them)\n",
		name, cc.passed.Format(time.RFC3339), cc.key[:12])
	if c.AfterPatch == nil {
		return nil, nil
	}
	subjects, err := kernel.Subjects(patches)
	if err != nil {
		return nil, err
	}
	var failures []string
	for i, img := range cc.images {
		t := kernel.Tree{Variant: kbase.Variant{Base: c.Sources.Spec.Name, Flavour: kbase.Patched}, Commit: img.Commit, Source: cc.source, Note: cc.note}
		built := kernel.Result{BzImage: img.BzImage, Release: img.Release}
		if err := c.AfterPatch(ctx, t, built, name, prior, subjects, i); err != nil {
			failures = append(failures, fmt.Sprintf("%s: %s: %v", name, filepath.Base(patches[i]), err))
		}
	}
	return failures, nil
}

// kbuildObjects are the kernel objects of the C files among files that
// exist in src. Files under tools/ (a kselftest a series adds) are user
// space programs kbuild does not build; the harness compiles those
// itself (harness/kselftest).
func kbuildObjects(src string, files []string) []string {
	var objs []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".c") || strings.HasPrefix(f, "tools/") {
			continue
		}
		if _, err := os.Stat(filepath.Join(src, f)); err == nil {
			objs = append(objs, strings.TrimSuffix(f, ".c")+".o")
		}
	}
	return objs
}

// warnings compiles the touched C files with W=1 (and sparse) and
// returns their diagnostics without line numbers.
func (c *Checker) warnings(ctx context.Context, t kernel.Tree, files []string, sparse string) (map[string]bool, error) {
	objs := kbuildObjects(t.Src, files)
	set := map[string]bool{}
	if len(objs) == 0 {
		return set, nil
	}
	// Touch the objects' sources so make recompiles them with W=1.
	for _, o := range objs {
		os.Remove(filepath.Join(t.Obj, o))
	}
	args := append([]string{"O=" + t.Obj, "W=1"}, objs...)
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

// Hash identifies what series-check checked: the series file and every
// patch it lists. The cover letter is not part of it: a new test matrix
// quoted there does not change what was checked.
func Hash(seriesDir string) (string, error) {
	patches, err := kernel.ReadSeries(seriesDir)
	if err != nil {
		return "", err
	}
	return kernel.SeriesHash(append([]string{filepath.Join(seriesDir, "series")}, patches...))
}
