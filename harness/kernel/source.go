package kernel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// The base commit is made with a fixed identity and date so that every
// machine unpacking the same tarball gets the same commit id, which is
// the series' base-commit.
const (
	baseIdent = "dioharness"
	baseEmail = "dioharness@localhost"
	baseDate  = "2000-01-01T00:00:00Z"
	// BaseTag names the base commit in the prepared repository.
	BaseTag = "base-6.12.117"
	// objDir is the O= directory, a direct subdirectory of each
	// worktree: kbuild then uses relative source paths ("..") so
	// ccache hits across the base and patched worktrees.
	objDir = "_obj"
)

// Tree is a kernel source tree ready to build.
type Tree struct {
	// Flavour is "base", "patched" or "custom".
	Flavour string
	// Src is the source tree.
	Src string
	// Obj is the O= build directory.
	Obj string
	// Commit is the checked-out commit, when Src is a git tree.
	Commit string
}

// Sources prepares trees under Dir.
type Sources struct {
	// Dir holds the repository: Dir/base (main worktree, branch base)
	// and Dir/patched (worktree, branch patched).
	Dir string
	// Pin is the pinned base.
	Pin Pin
	// Log receives one line per step.
	Log io.Writer
}

// Base returns the base tree, unpacking and committing the tarball the
// first time.
func (s *Sources) Base(ctx context.Context) (Tree, error) {
	dir := filepath.Join(s.Dir, "base")
	if commit, err := gitOut(ctx, dir, "rev-parse", "-q", "--verify", BaseTag+"^{commit}"); err == nil {
		if commit != s.Pin.BaseCommit {
			return Tree{}, fmt.Errorf("%s: tag %s is %s, patches/BASE wants %s: remove %s to unpack again", dir, BaseTag, commit, s.Pin.BaseCommit, s.Dir)
		}
		if err := checkoutClean(ctx, dir, BaseTag); err != nil {
			return Tree{}, err
		}
		return Tree{Flavour: "base", Src: dir, Obj: filepath.Join(dir, objDir), Commit: commit}, nil
	}
	if err := s.unpack(ctx, dir); err != nil {
		return Tree{}, err
	}
	return s.Base(ctx)
}

func (s *Sources) unpack(ctx context.Context, dir string) error {
	tarball := s.Pin.Tarball()
	if _, err := os.Stat(tarball); err != nil {
		return fmt.Errorf("kernel source %s missing: install Debian package %s (make deps)", tarball, s.Pin.Package)
	}
	if out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Version}", s.Pin.Package).Output(); err == nil && string(out) != s.Pin.Version {
		return fmt.Errorf("%s %s is installed, patches/BASE pins %s", s.Pin.Package, out, s.Pin.Version)
	}
	fmt.Fprintf(s.Log, "kernel: unpacking %s into %s\n", tarball, dir)
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	tar := exec.CommandContext(ctx, "tar", "-xf", tarball, "-C", tmp, "--strip-components=1")
	if out, err := tar.CombinedOutput(); err != nil {
		return fmt.Errorf("unpack %s: %w: %s", tarball, err, lastLines(out, 5))
	}
	env := []string{
		"GIT_AUTHOR_NAME=" + baseIdent, "GIT_AUTHOR_EMAIL=" + baseEmail, "GIT_AUTHOR_DATE=" + baseDate,
		"GIT_COMMITTER_NAME=" + baseIdent, "GIT_COMMITTER_EMAIL=" + baseEmail, "GIT_COMMITTER_DATE=" + baseDate,
	}
	msg := fmt.Sprintf("Linux %s (Debian %s %s)", strings.TrimPrefix(s.Pin.Upstream, "v"), s.Pin.Package, s.Pin.Version)
	steps := [][]string{
		{"init", "-q", "-b", "base"},
		// Debian's top-level .gitignore ignores "/*": force-add the
		// pristine tarball contents.
		{"add", "-A", "-f"},
		{"commit", "-q", "--no-verify", "-m", msg},
		{"tag", BaseTag},
	}
	for _, args := range steps {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s in %s: %w: %s", args[0], tmp, err, lastLines(out, 5))
		}
	}
	if err := appendExclude(tmp, "/"+objDir+"/"); err != nil {
		return err
	}
	commit, err := gitOut(ctx, tmp, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	if commit != s.Pin.BaseCommit {
		return fmt.Errorf("unpacked %s commits as %s, patches/BASE wants %s: the tarball differs from the pinned one", tarball, commit, s.Pin.BaseCommit)
	}
	return os.Rename(tmp, dir)
}

// Patched returns the base with the series applied by git am on branch
// "patched" in its own worktree. The branch is rebuilt only when the
// patches changed, so unchanged files keep their mtimes and builds stay
// incremental.
func (s *Sources) Patched(ctx context.Context, patchDir string) (Tree, error) {
	patches, err := ReadSeries(patchDir)
	if err != nil {
		return Tree{}, err
	}
	sum, err := seriesHash(patches)
	if err != nil {
		return Tree{}, err
	}
	dir := filepath.Join(s.Dir, "patched")
	if old, err := os.ReadFile(s.patchedStamp()); err == nil && string(old) == sum {
		if commit, err := gitOut(ctx, dir, "rev-parse", "HEAD"); err == nil {
			if err := checkoutClean(ctx, dir, commit); err != nil {
				return Tree{}, err
			}
			return Tree{Flavour: "patched", Src: dir, Obj: filepath.Join(dir, objDir), Commit: commit}, nil
		}
	}
	t, err := s.ResetPatched(ctx)
	if err != nil {
		return Tree{}, err
	}
	fmt.Fprintf(s.Log, "kernel: applying %d patches from %s\n", len(patches), patchDir)
	for _, p := range patches {
		if err := Am(ctx, t.Src, p); err != nil {
			return Tree{}, err
		}
	}
	if t.Commit, err = gitOut(ctx, t.Src, "rev-parse", "HEAD"); err != nil {
		return Tree{}, err
	}
	if err := os.WriteFile(s.patchedStamp(), []byte(sum), 0o644); err != nil {
		return Tree{}, err
	}
	return t, nil
}

// ResetPatched makes the patched worktree (creating it the first time)
// hold the base on branch "patched", and forgets which series it held.
// series-check then applies the series there patch by patch.
func (s *Sources) ResetPatched(ctx context.Context) (Tree, error) {
	base, err := s.Base(ctx)
	if err != nil {
		return Tree{}, err
	}
	os.Remove(s.patchedStamp())
	dir := filepath.Join(s.Dir, "patched")
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if _, err := git(ctx, base.Src, "worktree", "add", "-q", "--detach", dir, BaseTag); err != nil {
			return Tree{}, err
		}
	}
	// An interrupted earlier run may have left git am half done.
	exec.CommandContext(ctx, "git", "-C", dir, "am", "--abort").Run()
	if _, err := git(ctx, dir, "checkout", "-q", "-f", "-B", "patched", BaseTag); err != nil {
		return Tree{}, err
	}
	return Tree{Flavour: "patched", Src: dir, Obj: filepath.Join(dir, objDir), Commit: base.Commit}, nil
}

func (s *Sources) patchedStamp() string { return filepath.Join(s.Dir, "patched.series") }

// MarkPatched records that the patched worktree holds the series in
// patchDir (series-check applied it patch by patch).
func (s *Sources) MarkPatched(patchDir string) error {
	patches, err := ReadSeries(patchDir)
	if err != nil {
		return err
	}
	sum, err := seriesHash(patches)
	if err != nil {
		return err
	}
	return os.WriteFile(s.patchedStamp(), []byte(sum), 0o644)
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
	t := Tree{Flavour: "custom", Src: abs, Obj: filepath.Join(objRoot, "custom-"+hex.EncodeToString(sum[:4]))}
	if commit, err := gitOut(ctx, abs, "rev-parse", "HEAD"); err == nil {
		t.Commit = commit
	}
	return t, nil
}

// ReadSeries lists the patches named by patchDir/series, in order.
func ReadSeries(patchDir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(patchDir, "series"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read series: %w", err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := filepath.Join(patchDir, line)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s/series names %s: %w", patchDir, line, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func seriesHash(patches []string) (string, error) {
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

var (
	amFailedAt = regexp.MustCompile(`(?m)^Patch failed at .*$`)
	amHunk     = regexp.MustCompile(`(?m)^error: (patch failed: .*|.*: does not exist in index|.*: patch does not apply)$`)
)

// Am applies one patch with git am; on failure it aborts and names the
// patch and the hunk that did not apply.
func Am(ctx context.Context, dir, patch string) error {
	cmd := exec.CommandContext(ctx, "git", "-c", "user.name="+baseIdent, "-c", "user.email="+baseEmail,
		"am", "-q", "--keep-cr", patch)
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
