package kernel

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"dioharness/harness/debian"
	"dioharness/harness/kbase"
)

// The base commit is made with a fixed identity and date so that every
// machine unpacking the same tarball gets the same commit id. It is a
// local import of Debian's tarball, not an upstream commit: the series
// names its upstream release instead.
const (
	baseIdent = "dioharness"
	baseEmail = "dioharness@localhost"
	baseDate  = "2000-01-01T00:00:00Z"
	// objDir is the O= directory, a direct subdirectory of each
	// worktree: kbuild then uses relative source paths ("..") so
	// ccache hits across the base and patched worktrees, and across
	// fresh clones.
	objDir = "_obj"
	// modifiedFile lists, per base, the files Debian's patches touched.
	modifiedFile = "debian-modified"
)

// Tree is a kernel source tree ready to build.
type Tree struct {
	// Variant is the base and flavour, or custom.
	Variant kbase.Variant
	// Src is the source tree.
	Src string
	// Obj is the O= build directory.
	Obj string
	// Commit is the checked-out commit, when Src is a git tree.
	Commit string
	// Source names the exact source: "Debian linux-source-7.3
	// 7.3.4-1~bpo13+1", or the KSRC path.
	Source string
	// Note is a one-line remark on the source (a point release the
	// archive replaced), or "".
	Note string
}

// Sources prepares the trees of one base under Dir: Dir/base is a git
// repository holding Debian's tarball as one commit (branch base),
// Dir/patched a worktree where git am applies the base's series.
//
// The import itself (unpack, commit 90,000 files) is done once per
// package version into a bare repository in the Archive's cache, which
// fresh clones of this repository on the same machine share: their base
// is a `git clone --shared` of it.
type Sources struct {
	// Dir is build/kernel/<base>.
	Dir string
	// Spec describes the base.
	Spec kbase.Spec
	// Archive fetches Debian's source package.
	Archive *debian.Archive
	// Log receives one line per step.
	Log io.Writer

	// The archive is asked once per Sources: which version, and where
	// its tarball is.
	choice  *debian.Choice
	tarPath string
}

// tag names the import of one package version (git refuses '~' and ':').
func tag(version string) string {
	return "debian/" + strings.NewReplacer("~", "_", ":", "%").Replace(version)
}

// Base returns the base tree, importing the tarball of the version
// Debian serves the first time and whenever that version changes.
func (s *Sources) Base(ctx context.Context) (Tree, error) {
	return s.locked(ctx, s.base)
}

// locked runs prepare holding a lock that serialises the preparation of
// a base's trees between processes sharing a build directory (make
// fstests KERNEL=base and KERNEL=patched started at once): one checking
// out or patching while the other reads git status sees "local
// changes". Base, Reset and Patched take it; their internal calls use
// the unlocked variants.
func (s *Sources) locked(ctx context.Context, prepare func(context.Context) (Tree, error)) (Tree, error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return Tree{}, err
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, "prepare.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return Tree{}, err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return Tree{}, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return prepare(ctx)
}

func (s *Sources) base(ctx context.Context) (Tree, error) {
	tarball, c, err := s.tarball(ctx)
	if err != nil {
		return Tree{}, err
	}
	dir := filepath.Join(s.Dir, "base")
	t := Tree{
		Variant: kbase.Variant{Base: s.Spec.Name, Flavour: kbase.Base},
		Src:     dir, Obj: filepath.Join(dir, objDir),
		Source: SourceName(c), Note: c.Note,
	}
	if commit, err := gitOut(ctx, dir, "rev-parse", "-q", "--verify", tag(c.Version)+"^{commit}"); err == nil {
		if err := checkoutClean(ctx, dir, commit); err != nil {
			return Tree{}, err
		}
		t.Commit = commit
		return t, nil
	}
	if err := checkSpace(dir, treeSpace); err != nil {
		return Tree{}, err
	}
	if err := s.unpack(ctx, tarball, c); err != nil {
		return Tree{}, err
	}
	if t.Commit, err = gitOut(ctx, dir, "rev-parse", "HEAD"); err != nil {
		return Tree{}, err
	}
	return t, nil
}

// Source names the base source Debian serves for the spec, as Tree.Source
// does, and its note, without preparing a tree: what an image cache key
// needs.
func (s *Sources) Source(ctx context.Context) (source, note string, err error) {
	_, c, err := s.tarball(ctx)
	if err != nil {
		return "", "", err
	}
	return SourceName(c), c.Note, nil
}

// SourceName names the base source of a choice as Tree.Source and the
// image cache keys do: "Debian linux-source-7.3 7.3.4-1~bpo13+1".
func SourceName(c debian.Choice) string { return "Debian " + c.Package + " " + c.Version }

// tarball asks the archive once per Sources which version to use.
func (s *Sources) tarball(ctx context.Context) (string, debian.Choice, error) {
	if s.choice != nil {
		return s.tarPath, *s.choice, nil
	}
	p, c, err := s.Archive.Tarball(ctx, s.Spec.Package, s.Spec.Version, s.Spec.Suites)
	if err != nil {
		return "", c, fmt.Errorf("base %s: %w", s.Spec.Name, err)
	}
	if c.Note != "" {
		fmt.Fprintf(s.Log, "base %s: %s\n", s.Spec.Name, c.Note)
	}
	s.choice, s.tarPath = &c, p
	return p, c, nil
}

func (s *Sources) unpack(ctx context.Context, tarball string, c debian.Choice) error {
	dir := filepath.Join(s.Dir, "base")
	repo, err := s.imported(ctx, tarball, c)
	if err != nil {
		return err
	}
	// A new import replaces the old base and its flavours' worktrees.
	for _, f := range s.Spec.Flavours() {
		if err := os.RemoveAll(filepath.Join(s.Dir, string(f))); err != nil {
			return err
		}
		os.Remove(s.stamp(f))
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(s.Log, "base %s: checking out %s %s\n", s.Spec.Name, c.Package, c.Version)
	if _, err := git(ctx, s.Dir, "clone", "-q", "--shared", "--branch", tag(c.Version), repo, dir); err != nil {
		return err
	}
	if _, err := git(ctx, dir, "checkout", "-q", "-B", "base"); err != nil {
		return err
	}
	if err := appendExclude(dir, "/"+objDir+"/"); err != nil {
		return err
	}
	mod, err := os.ReadFile(repo + "." + modifiedFile)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.Dir, modifiedFile), mod, 0o644)
}

// imported returns the bare repository holding the tarball of one
// package version as a single commit, importing it the first time.
func (s *Sources) imported(ctx context.Context, tarball string, c debian.Choice) (string, error) {
	repo := strings.TrimSuffix(tarball, ".tar.xz") + ".git"
	if _, err := gitOut(ctx, repo, "rev-parse", "-q", "--verify", tag(c.Version)+"^{commit}"); err == nil {
		if _, err := os.Stat(repo + "." + modifiedFile); err == nil {
			return repo, nil
		}
	}
	fmt.Fprintf(s.Log, "base %s: importing %s %s (once per version, shared by clones)\n", s.Spec.Name, c.Package, c.Version)
	tmp := repo + ".tmp"
	work := repo + ".work"
	for _, d := range []string{tmp, work} {
		if err := os.RemoveAll(d); err != nil {
			return "", err
		}
	}
	defer os.RemoveAll(work)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", err
	}
	tar := exec.CommandContext(ctx, "tar", "-xf", tarball, "-C", work, "--strip-components=1")
	if out, err := tar.CombinedOutput(); err != nil {
		return "", fmt.Errorf("unpack %s: %w: %s", tarball, err, lastLines(out, 5))
	}
	// Before git writes anything: the mtimes still tell Debian's files.
	mod, err := debian.Modified(work)
	if err != nil {
		return "", err
	}
	env := []string{
		"GIT_AUTHOR_NAME=" + baseIdent, "GIT_AUTHOR_EMAIL=" + baseEmail, "GIT_AUTHOR_DATE=" + baseDate,
		"GIT_COMMITTER_NAME=" + baseIdent, "GIT_COMMITTER_EMAIL=" + baseEmail, "GIT_COMMITTER_DATE=" + baseDate,
	}
	msg := fmt.Sprintf("Linux %s as in Debian %s %s\n\nA local import of the package's source tarball, not an upstream commit.",
		strings.TrimPrefix(s.Spec.Release, "v"), c.Package, c.Version)
	steps := [][]string{
		{"init", "-q", "-b", "base"},
		// Debian's top-level .gitignore ignores "/*": force-add the
		// tarball contents.
		{"add", "-A", "-f"},
		{"commit", "-q", "--no-verify", "-m", msg},
		{"tag", tag(c.Version)},
		{"clone", "-q", "--bare", ".", tmp},
	}
	for _, args := range steps {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("git %s in %s: %w: %s", args[0], work, err, lastLines(out, 5))
		}
	}
	if err := os.WriteFile(repo+"."+modifiedFile, []byte(strings.Join(mod, "\n")+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.RemoveAll(repo); err != nil {
		return "", err
	}
	return repo, os.Rename(tmp, repo)
}

// DebianModified lists the files Debian's own patches changed in the
// imported base (see debian.Modified).
func (s *Sources) DebianModified() ([]string, error) {
	b, err := os.ReadFile(filepath.Join(s.Dir, modifiedFile))
	if err != nil {
		return nil, fmt.Errorf("base %s: %w (import the base again: remove %s)", s.Spec.Name, err, s.Dir)
	}
	return strings.Fields(string(b)), nil
}

// CheckDebianPatches fails when a patch of the base's series changes a
// file that Debian's own patches changed: the series must apply to the
// upstream release it names, and the Debian tree is only a stand-in.
func (s *Sources) CheckDebianPatches(patches []string) error {
	mod, err := s.DebianModified()
	if err != nil {
		return err
	}
	debianFiles := map[string]bool{}
	for _, f := range mod {
		debianFiles[f] = true
	}
	var bad []string
	for _, p := range patches {
		files, err := TouchedFiles([]string{p})
		if err != nil {
			return err
		}
		for _, f := range files {
			if debianFiles[f] {
				bad = append(bad, filepath.Base(p)+" changes "+f)
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("base %s: Debian's patches also change what the series changes, so the Debian tree does not stand for upstream %s there: %s",
			s.Spec.Name, s.Spec.Release, strings.Join(bad, "; "))
	}
	return nil
}

// Patched returns the base with every series of the base applied by git
// am, in order, on branch "patched" in its own worktree. The branch is
// rebuilt only when the patches changed, so unchanged files keep their
// mtimes and builds stay incremental.
func (s *Sources) Patched(ctx context.Context) (Tree, error) {
	return s.Flavour(ctx, kbase.Patched)
}

// Flavour returns the base in flavour f: the base tree itself, or the
// series f applies (kbase.Spec.FlavourSeries) applied by git am, in
// order, on branch f in a worktree Dir/f of its own, rebuilt only when
// the patches changed.
func (s *Sources) Flavour(ctx context.Context, f kbase.Flavour) (Tree, error) {
	if f == kbase.Base {
		return s.Base(ctx)
	}
	return s.locked(ctx, func(ctx context.Context) (Tree, error) { return s.applied(ctx, f) })
}

func (s *Sources) applied(ctx context.Context, f kbase.Flavour) (Tree, error) {
	patches, err := FlavourPatches(s.Spec, f)
	if err != nil {
		return Tree{}, err
	}
	sum, err := SeriesHash(patches)
	if err != nil {
		return Tree{}, err
	}
	base, err := s.base(ctx)
	if err != nil {
		return Tree{}, err
	}
	if err := s.CheckDebianPatches(patches); err != nil {
		return Tree{}, err
	}
	dir := filepath.Join(s.Dir, string(f))
	t := base
	t.Variant.Flavour = f
	t.Src, t.Obj = dir, filepath.Join(dir, objDir)
	if old, err := os.ReadFile(s.stamp(f)); err == nil && string(old) == base.Commit+" "+sum {
		if t.Commit, err = gitOut(ctx, dir, "rev-parse", "HEAD"); err == nil {
			if err := checkoutClean(ctx, dir, t.Commit); err != nil {
				return Tree{}, err
			}
			return t, nil
		}
	}
	if _, err := s.reset(ctx, f); err != nil {
		return Tree{}, err
	}
	series, _ := s.Spec.FlavourSeries(f)
	fmt.Fprintf(s.Log, "base %s: %s: applying %d patches (%s)\n", s.Spec.Name, f, len(patches), strings.Join(series, ", "))
	for _, p := range patches {
		if err := Am(ctx, dir, p); err != nil {
			return Tree{}, err
		}
	}
	if t.Commit, err = gitOut(ctx, dir, "rev-parse", "HEAD"); err != nil {
		return Tree{}, err
	}
	if err := os.WriteFile(s.stamp(f), []byte(base.Commit+" "+sum), 0o644); err != nil {
		return Tree{}, err
	}
	return t, nil
}

// AllPatches lists the patches of every series of the base, in the
// order the patched flavour applies them.
func (s *Sources) AllPatches() ([]string, error) { return Patches(s.Spec) }

// Patches lists the patches of every series of a base, in the order the
// patched flavour applies them.
func Patches(spec kbase.Spec) ([]string, error) { return FlavourPatches(spec, kbase.Patched) }

// FlavourPatches lists the patches flavour f of a base applies, in order
// (none for the base flavour).
func FlavourPatches(spec kbase.Spec, f kbase.Flavour) ([]string, error) {
	dirs, err := spec.FlavourSeriesDirs(f)
	if err != nil {
		return nil, err
	}
	return seriesPatches(dirs)
}

// SelftestPatches lists the patches of every series of the base (every
// flavour's), in order: the selftests they add go into the guests of
// every kernel of the base, so that they fail where their fix is missing.
func SelftestPatches(spec kbase.Spec) ([]string, error) {
	return seriesPatches(spec.AllSeriesDirs())
}

// NeededPatches lists the patches of the series a series applies on
// (kbase.Spec.Needs), in order: what series-check applies before it.
func NeededPatches(spec kbase.Spec, series string) ([]string, error) {
	return seriesPatches(spec.NeedsDirs(series))
}

func seriesPatches(dirs []string) ([]string, error) {
	var all []string
	for _, d := range dirs {
		p, err := ReadSeries(d)
		if err != nil {
			return nil, err
		}
		all = append(all, p...)
	}
	return all, nil
}

// Reset makes the patched worktree (creating it the first time) hold
// the base on branch "patched", and forgets which patches it held.
// series-check then applies a series there patch by patch.
func (s *Sources) Reset(ctx context.Context) (Tree, error) {
	return s.locked(ctx, func(ctx context.Context) (Tree, error) { return s.reset(ctx, kbase.Patched) })
}

func (s *Sources) reset(ctx context.Context, f kbase.Flavour) (Tree, error) {
	base, err := s.base(ctx)
	if err != nil {
		return Tree{}, err
	}
	os.Remove(s.stamp(f))
	dir := filepath.Join(s.Dir, string(f))
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := checkSpace(dir, treeSpace); err != nil {
			return Tree{}, err
		}
		if _, err := git(ctx, base.Src, "worktree", "add", "-q", "--detach", dir, base.Commit); err != nil {
			return Tree{}, err
		}
	}
	// An interrupted earlier run may have left git am half done.
	exec.CommandContext(ctx, "git", "-C", dir, "am", "--abort").Run()
	if _, err := git(ctx, dir, "checkout", "-q", "-f", "-B", string(f), base.Commit); err != nil {
		return Tree{}, err
	}
	t := base
	t.Variant.Flavour = f
	t.Src, t.Obj = dir, filepath.Join(dir, objDir)
	return t, nil
}

// stamp records which patches the worktree of flavour f holds.
func (s *Sources) stamp(f kbase.Flavour) string { return filepath.Join(s.Dir, string(f)+".series") }

// MarkPatched records that the patched worktree holds every series of
// the base (series-check applied them patch by patch).
func (s *Sources) MarkPatched(ctx context.Context) error {
	patches, err := s.AllPatches()
	if err != nil {
		return err
	}
	sum, err := SeriesHash(patches)
	if err != nil {
		return err
	}
	base, err := s.Base(ctx)
	if err != nil {
		return err
	}
	return os.WriteFile(s.stamp(kbase.Patched), []byte(base.Commit+" "+sum), 0o644)
}

// Custom checks a user's own tree (KSRC) and builds it as it is, with
// its object directory under objRoot.
func Custom(ctx context.Context, src, objRoot string) (Tree, error) {
	abs, err := filepath.Abs(src)
	if err != nil {
		return Tree{}, err
	}
	mk, err := os.ReadFile(filepath.Join(abs, "Makefile"))
	if err != nil || !bytes.Contains(mk, []byte("\nPATCHLEVEL = ")) {
		return Tree{}, fmt.Errorf("KSRC=%s is not a kernel tree (no top-level Makefile with PATCHLEVEL)", src)
	}
	for _, need := range []string{"fs/fuse/file.c", "fs/iomap/direct-io.c", "scripts/kconfig/merge_config.sh"} {
		if _, err := os.Stat(filepath.Join(abs, need)); err != nil {
			return Tree{}, fmt.Errorf("KSRC=%s is not a kernel tree the harness can use: %s missing", src, need)
		}
	}
	if _, err := os.Stat(filepath.Join(abs, ".config")); err == nil {
		return Tree{}, fmt.Errorf("KSRC=%s has an in-tree .config: out-of-tree builds need a clean tree (make mrproper)", src)
	}
	sum := sha256.Sum256([]byte(abs))
	t := Tree{Variant: kbase.Variant{Flavour: kbase.Custom}, Src: abs, Obj: filepath.Join(objRoot, "custom-"+hex.EncodeToString(sum[:4])), Source: abs}
	if commit, err := gitOut(ctx, abs, "rev-parse", "HEAD"); err == nil {
		t.Commit = commit
	}
	return t, nil
}

// ReadSeries lists the patches named by dir/series, in order. A series
// file may list no patch yet.
func ReadSeries(dir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "series"))
	if err != nil {
		return nil, fmt.Errorf("read series: %w", err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := filepath.Join(dir, line)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s/series names %s: %w", dir, line, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// SeriesHash identifies a list of patches by name and content: the
// patched worktree's stamp and series-check's.
func SeriesHash(patches []string) (string, error) {
	h := sha256.New()
	for _, p := range patches {
		data, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(p), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var diffFile = regexp.MustCompile(`(?m)^\+\+\+ b/(\S+)`)

// TouchedFiles lists the files the patches change, sorted.
func TouchedFiles(patches []string) ([]string, error) {
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
	slices.Sort(out)
	return out, nil
}

var (
	amFailedAt = regexp.MustCompile(`(?m)^Patch failed at .*$`)
	amHunk     = regexp.MustCompile(`(?m)^error: (patch failed: .*|.*: does not exist in index|.*: patch does not apply)$`)
)

// Am applies one patch with git am; on failure it aborts and names the
// patch and the hunk that did not apply.
func Am(ctx context.Context, dir, patch string) error {
	// The committer is fixed and dated as the patch's author, so the
	// same base and series give the same commit ids on every machine
	// (results name the patched kernel by its commit).
	cmd := exec.CommandContext(ctx, "git", "-c", "user.name="+baseIdent, "-c", "user.email="+baseEmail,
		"am", "-q", "--keep-cr", "--committer-date-is-author-date", patch)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	abort := exec.CommandContext(ctx, "git", "am", "--abort")
	abort.Dir = dir
	abort.Run()
	where := strings.Join(amHunk.FindAllString(string(out), -1), "; ")
	if where == "" {
		where = lastLines(out, 3)
	}
	return fmt.Errorf("patch %s does not apply: %s (%s)", filepath.Base(patch), where, amFailedAt.FindString(string(out)))
}

func checkoutClean(ctx context.Context, dir, rev string) error {
	status, err := gitOut(ctx, dir, "status", "--porcelain", "--untracked-files=no", "--ignored=no")
	if err != nil {
		return err
	}
	if status != "" {
		return fmt.Errorf("%s has local changes; commit or discard them (git -C %s status)", dir, dir)
	}
	head, err := gitOut(ctx, dir, "rev-parse", "HEAD")
	if err != nil || head == rev {
		return err
	}
	_, err = git(ctx, dir, "checkout", "-q", rev)
	return err
}

func appendExclude(repo, pattern string) error {
	f, err := os.OpenFile(filepath.Join(repo, ".git", "info", "exclude"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintln(f, pattern)
	return err
}

func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("git %s (in %s): %w: %s", strings.Join(args, " "), dir, err, lastLines(out, 3))
	}
	return out, nil
}

func gitOut(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s (in %s): %w", strings.Join(args, " "), dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// subjectPrefix is format-patch's "[PATCH v2 3/7] " in front of a subject.
var subjectPrefix = regexp.MustCompile(`^\[[^\]]*\]\s*`)

// Subjects returns the subject of each patch, without the "[PATCH ...]"
// prefix and with folded header lines joined: what a scenario's Patch
// field names.
func Subjects(patches []string) ([]string, error) {
	var out []string
	for _, p := range patches {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		// A format-patch file starts with an mbox "From <id> <date>"
		// line; the mail headers follow it.
		r := bufio.NewReader(f)
		if first, _ := r.Peek(5); string(first) == "From " {
			r.ReadString('\n')
		}
		msg, err := mail.ReadMessage(r)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: read mail headers: %w", filepath.Base(p), err)
		}
		subj := strings.Join(strings.Fields(msg.Header.Get("Subject")), " ")
		if subj == "" {
			return nil, fmt.Errorf("%s: no Subject header", filepath.Base(p))
		}
		out = append(out, subjectPrefix.ReplaceAllString(subj, ""))
	}
	return out, nil
}

// Head is the commit checked out in the git tree dir.
func Head(ctx context.Context, dir string) (string, error) {
	return gitOut(ctx, dir, "rev-parse", "HEAD")
}

// Mutant returns flavour f (patched, or one the BASE file declares) with
// one more patch applied by git am, in its own worktree (Dir/mutant,
// detached) with its own object directory. The worktree is reset to the
// flavour's commit first, so only the files the previous mutant and this
// one change are rebuilt.
func (s *Sources) Mutant(ctx context.Context, patch string, f kbase.Flavour) (Tree, error) {
	patched, err := s.Flavour(ctx, f)
	if err != nil {
		return Tree{}, err
	}
	base := filepath.Join(s.Dir, "base")
	dir := filepath.Join(s.Dir, "mutant")
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if _, err := git(ctx, base, "worktree", "add", "-q", "--detach", dir, patched.Commit); err != nil {
			return Tree{}, err
		}
	}
	// An interrupted earlier run may have left git am half done.
	exec.CommandContext(ctx, "git", "-C", dir, "am", "--abort").Run()
	if _, err := git(ctx, dir, "checkout", "-q", "-f", "--detach", patched.Commit); err != nil {
		return Tree{}, err
	}
	if err := Am(ctx, dir, patch); err != nil {
		return Tree{}, err
	}
	t := patched
	t.Src, t.Obj = dir, filepath.Join(dir, objDir)
	if t.Commit, err = gitOut(ctx, dir, "rev-parse", "HEAD"); err != nil {
		return Tree{}, err
	}
	return t, nil
}
