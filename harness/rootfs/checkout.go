package rootfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// checkoutFiles lists the files of an fstests checkout that go into an
// image, relative to dir: in a git checkout the tracked files and the
// untracked ones git does not ignore (local changes count, build
// outputs of a host build do not); otherwise every file but .git.
func checkoutFiles(ctx context.Context, dir string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if out, err := cmd.Output(); err == nil {
		var files []string
		seen := map[string]bool{}
		for _, f := range strings.Split(string(out), "\x00") {
			// A tracked file deleted in the work tree is still listed.
			if f == "" || seen[f] || !exists(filepath.Join(dir, f)) {
				continue
			}
			seen[f] = true
			files = append(files, f)
		}
		sort.Strings(files)
		if len(files) == 0 {
			return nil, fmt.Errorf("fstests checkout %s lists no files", dir)
		}
		return files, nil
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list fstests checkout: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

// hashFiles hashes the names, modes and contents of files under dir.
func hashFiles(dir string, files []string) (string, error) {
	h := sha256.New()
	for _, f := range files {
		p := filepath.Join(dir, f)
		fi, err := os.Lstat(p)
		if err != nil {
			return "", fmt.Errorf("hash fstests checkout: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%o\x00", f, fi.Mode())
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return "", err
			}
			io.WriteString(h, t)
		case fi.Mode().IsRegular():
			r, err := os.Open(p)
			if err != nil {
				return "", err
			}
			_, err = io.Copy(h, r)
			r.Close()
			if err != nil {
				return "", err
			}
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// describe names the checkout for reports: git describe (with -dirty
// for local changes) and the head commit, or the content hash.
func describe(ctx context.Context, dir, content string) string {
	d, err := exec.CommandContext(ctx, "git", "-C", dir, "describe", "--always", "--tags", "--dirty").Output()
	if err != nil {
		return "content " + content[:16]
	}
	c, err := exec.CommandContext(ctx, "git", "-C", dir, "log", "-1", "--format=%h %cs %s").Output()
	if err != nil {
		return strings.TrimSpace(string(d))
	}
	return strings.TrimSpace(string(d)) + " (" + strings.TrimSpace(string(c)) + ")"
}

// copyFiles copies files (relative to src) into dest with their modes;
// symlinks stay symlinks.
func copyFiles(src, dest string, files []string) error {
	for _, f := range files {
		from, to := filepath.Join(src, f), filepath.Join(dest, f)
		fi, err := os.Lstat(from)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			t, err := os.Readlink(from)
			if err != nil {
				return err
			}
			if err := os.Symlink(t, to); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(from)
			if err != nil {
				return err
			}
			if err := os.WriteFile(to, b, fi.Mode().Perm()); err != nil {
				return err
			}
		}
	}
	return nil
}
