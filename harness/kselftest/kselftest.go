// Package kselftest builds the kernel selftests a series adds, as static
// binaries the guest agent runs (a scenario wraps each one and reads its
// KTAP). Upstream tests belong in the kernel tree: a fix that can be
// reproduced without fault injection carries its regression test in
// tools/testing/selftests, and the harness runs that very test on every
// kernel of the base, with and without the series.
package kselftest

import (
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

// Dir is where the binaries live in the guest: /selftests/<name>.
const Dir = "/selftests"

// root is the selftests' directory in a kernel tree.
const root = "tools/testing/selftests/"

// newTest matches a selftest source a patch creates:
// "diff --git a/tools/testing/selftests/x/y_test.c b/..." followed by
// "new file mode".
var newTest = regexp.MustCompile(`(?m)^diff --git a/(tools/testing/selftests/\S+_test\.c) b/\S+\nnew file mode`)

// Added lists the selftest sources (tools/testing/selftests/**/*_test.c)
// that the patches create, in order.
func Added(patches []string) ([]string, error) {
	var out []string
	for _, p := range patches {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("kselftest: %w", err)
		}
		for _, m := range newTest.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1])
		}
	}
	return out, nil
}

// Binary is one built selftest.
type Binary struct {
	// Name is the source's base name without .c: the guest runs
	// Dir/Name.
	Name string
	// Path is the static binary on the host.
	Path string
}

// Tree names the kernel trees a build uses.
type Tree struct {
	// Source names the base source (kernel.Tree.Source, "Debian
	// linux-source-7.3 7.3.4-1~bpo13+1"): with the patches, it decides
	// the binaries, so it keys the cache.
	Source string
	// Base is the unpatched base tree: its selftest directories, with
	// the patches applied to them only (git apply --include), are the
	// sources, so the kernels without the series get the series' tests
	// too: they are meant to fail there.
	Base string
	// Src and Obj are the configured tree of the kernel under test,
	// whose uapi headers (make headers) the tests compile against.
	Src, Obj string
}

// Lookup returns the binaries of the selftests the patches add when all
// of them are cached in out for these inputs; ok is false otherwise.
// It needs no tree: a kernel booted from an image cache finds its tests
// here.
func Lookup(source string, patches []string, out string) (bins []Binary, ok bool, err error) {
	added, err := Added(patches)
	if err != nil {
		return nil, false, err
	}
	if len(added) == 0 {
		return nil, true, nil
	}
	dir, err := binDir(source, patches, out)
	if err != nil {
		return nil, false, err
	}
	ok = true
	for _, a := range added {
		name := strings.TrimSuffix(filepath.Base(a), ".c")
		b := Binary{Name: name, Path: filepath.Join(dir, name)}
		if _, err := os.Stat(b.Path); err != nil {
			ok = false
		}
		bins = append(bins, b)
	}
	return bins, ok, nil
}

func binDir(source string, patches []string, out string) (string, error) {
	key, err := inputsKey(source, patches)
	if err != nil {
		return "", err
	}
	return filepath.Abs(filepath.Join(out, key))
}

// Build compiles every selftest the patches add, statically. Results
// are cached in out by the inputs' hash.
func Build(ctx context.Context, t Tree, patches []string, out string, log io.Writer) ([]Binary, error) {
	bins, cached, err := Lookup(t.Source, patches, out)
	if err != nil || cached {
		return bins, err
	}
	added, err := Added(patches)
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		return nil, fmt.Errorf("kselftest: gcc not found: install Debian package gcc")
	}
	dir, err := binDir(t.Source, patches, out)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "kselftest: building %d selftest(s) the series adds\n", len(added))
	// The uapi headers of the tree (make headers writes obj/usr/include).
	if o, err := run(ctx, t.Src, "make", "-s", "O="+t.Obj, "headers"); err != nil {
		return nil, fmt.Errorf("kselftest: make headers: %w: %s", err, o)
	}
	scratch := filepath.Join(dir, "src")
	if err := os.RemoveAll(scratch); err != nil {
		return nil, err
	}
	// The harness headers and every directory a test lives in.
	copies := map[string]bool{root + "kselftest.h": true, root + "kselftest_harness.h": true}
	for _, a := range added {
		copies[filepath.Dir(a)] = true
	}
	for p := range copies {
		if err := copyTree(filepath.Join(t.Base, p), filepath.Join(scratch, p)); err != nil {
			return nil, err
		}
	}
	if err := applySelftests(ctx, scratch, patches, added); err != nil {
		return nil, err
	}
	for i, a := range added {
		absObj, err := filepath.Abs(t.Obj)
		if err != nil {
			return nil, err
		}
		args := []string{"-static", "-O2", "-Wall", "-isystem", filepath.Join(absObj, "usr", "include"),
			"-I", filepath.Join(scratch, root), "-o", bins[i].Path, a, "-lpthread"}
		if o, err := run(ctx, scratch, "gcc", args...); err != nil {
			return nil, fmt.Errorf("kselftest: build %s: %w: %s", a, err, o)
		}
	}
	return bins, nil
}

// applySelftests applies the selftest part of each patch to the tree in
// scratch and checks that every added test is there. git apply must not
// find a repository above scratch (a build directory inside a checkout):
// in one, it skips paths outside the repository's current directory
// without an error.
func applySelftests(ctx context.Context, scratch string, patches, added []string) error {
	for _, p := range patches {
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, "git", "apply", "--include="+root+"*", abs)
		cmd.Dir = scratch
		cmd.Env = append(os.Environ(), "GIT_CEILING_DIRECTORIES="+filepath.Dir(scratch))
		if o, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("kselftest: apply the selftest part of %s: %w: %s", filepath.Base(p), err, lastLines(string(o), 8))
		}
	}
	for _, a := range added {
		if _, err := os.Stat(filepath.Join(scratch, a)); err != nil {
			return fmt.Errorf("kselftest: %s is not in the tree after applying the series: %w", a, err)
		}
	}
	return nil
}

// inputsKey hashes what a build depends on: the base source (its
// selftest harness headers and the uapi headers come from it) and the
// patches. Building against the headers of a patched tree of the same
// base changes nothing a key should see: a series that changed them
// would change the patches' hash too.
func inputsKey(source string, patches []string) (string, error) {
	if source == "" {
		return "", fmt.Errorf("kselftest: no base source to key the build")
	}
	h := sha256.New()
	fmt.Fprintf(h, "source %s\n", source)
	if err := kernel.HashFiles(h, "patch", patches...); err != nil {
		return "", fmt.Errorf("kselftest: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func run(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(lastLines(string(out), 8)), err
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// copyTree copies a file, or a directory's regular files recursively;
// a path the tree lacks is created empty (a directory a patch adds).
func copyTree(from, to string) error {
	fi, err := os.Stat(from)
	if os.IsNotExist(err) {
		if strings.HasSuffix(from, ".h") {
			return fmt.Errorf("kselftest: %s missing from the tree", from)
		}
		return os.MkdirAll(to, 0o755)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		b, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	for _, n := range names {
		if err := copyTree(filepath.Join(from, n), filepath.Join(to, n)); err != nil {
			return err
		}
	}
	return nil
}
