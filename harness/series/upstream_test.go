package series

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/debian"
	"dioharness/harness/kbase"
)

// upstreamFiles are the reference (standing for the tag) and tested
// versions of two files: a.c differs by a stable commit that the first
// patch's context needs, b.c is the same in both.
var upstreamFiles = map[string][2]string{
	"fs/foo/a.c": {"one\ntwo\nthree\nfour\n", "one\ntwo\nstable fix\nthree\nfour\n"},
	"fs/foo/b.c": {"alpha\nbeta\n", "alpha\nbeta\n"},
}

const (
	patchNeedsStable = "Subject: [PATCH 1/2] foo: a\n\nBody.\n---\n" +
		"diff --git a/fs/foo/a.c b/fs/foo/a.c\n--- a/fs/foo/a.c\n+++ b/fs/foo/a.c\n" +
		"@@ -1,5 +1,6 @@\n one\n two\n stable fix\n+ours\n three\n four\n"
	patchPlain = "Subject: [PATCH 2/2] foo: b\n\nBody.\n---\n" +
		"diff --git a/fs/foo/b.c b/fs/foo/b.c\n--- a/fs/foo/b.c\n+++ b/fs/foo/b.c\n" +
		"@@ -1,2 +1,3 @@\n alpha\n beta\n+gamma\n"
	stableChangelog = "linux (7.3.4-1) unstable; urgency=medium\n\n  * New upstream stable update:\n" +
		"    https://www.kernel.org/pub/linux/kernel/v7.x/ChangeLog-7.3.4\n    - foo: a stable fix\n    - bar: unrelated\n" +
		"    https://www.kernel.org/pub/linux/kernel/v7.x/ChangeLog-6.1.1\n    - foo: an old one\n"
)

func upstreamFixtures(t *testing.T, prerequisite bool) (kbase.Spec, string, string) {
	t.Helper()
	root := t.TempDir()
	ref := filepath.Join(root, "ref", "linux-source-7.3")
	tested := filepath.Join(root, "tested")
	for f, v := range upstreamFiles {
		for i, dir := range []string{ref, tested} {
			p := filepath.Join(dir, f)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(v[i]), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tarball := filepath.Join(root, "ref.tar.xz")
	if out, err := exec.Command("tar", "-cJf", tarball, "-C", filepath.Join(root, "ref"), "linux-source-7.3").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	base := filepath.Join(root, "patches", "v7.3")
	dir := filepath.Join(base, "foo")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "0001-a.patch"), []byte(patchNeedsStable), 0o644)
	os.WriteFile(filepath.Join(dir, "0002-b.patch"), []byte(patchPlain), 0o644)
	os.WriteFile(filepath.Join(dir, "series"), []byte("0001-a.patch\n0002-b.patch\n"), 0o644)
	spec := kbase.Spec{Name: "v7.3", Dir: base, Release: "v7.3.4", Upstream: "v7.3", Target: kbase.Mainline,
		Package: "linux-source-7.3", Version: "7.3.4-1", Series: []string{"foo"},
		Reference: &kbase.Reference{Package: "linux-source-7.3", Version: "7.3~rc7-1", Suite: "experimental"}}
	if prerequisite {
		spec.Prerequisites = []kbase.Prerequisite{{File: "fs/foo/a.c", Subject: "foo: a stable fix"}}
	}
	return spec, tested, tarball
}

func TestCompareUpstream(t *testing.T) {
	ctx := context.Background()
	spec, tested, tarball := upstreamFixtures(t, true)
	r, err := CompareUpstream(ctx, spec, tested, tarball, stableChangelog)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range r.Files {
		got = append(got, f.Path+" same="+map[bool]string{true: "yes", false: "no"}[f.Same])
	}
	if d := cmp.Diff([]string{"fs/foo/a.c same=no", "fs/foo/b.c same=yes"}, got); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]debian.StableCommit{{Release: "7.3.4", Subject: "foo: a stable fix"}}, r.Files[0].Stable); d != "" {
		t.Errorf("candidates of a.c (-want +got):\n%s", d)
	}
	want := []UpstreamApply{
		{Series: "foo", Patch: "0001-a.patch", Applies: true, Needs: []string{"fs/foo/a.c: foo: a stable fix"}},
		{Series: "foo", Patch: "0002-b.patch", Applies: true},
	}
	if d := cmp.Diff(want, r.Patches); d != "" {
		t.Errorf("patches (-want +got):\n%s", d)
	}
	if bad, err := CheckUpstream(r, spec, tested); err != nil || len(bad) != 0 {
		t.Errorf("CheckUpstream of a fresh report: %v, %v", bad, err)
	}
	if !strings.Contains(r.Markdown(), "| foo | 0001-a.patch | yes | fs/foo/a.c: foo: a stable fix |") {
		t.Errorf("markdown:\n%s", r.Markdown())
	}

	// Without the declared prerequisite the first patch does not apply,
	// and a committed report saying so fails series-check.
	spec, tested, tarball = upstreamFixtures(t, false)
	r, err = CompareUpstream(ctx, spec, tested, tarball, stableChangelog)
	if err != nil {
		t.Fatal(err)
	}
	if r.Patches[0].Applies || !strings.Contains(strings.Join(r.Patches[0].Needs, " "), "does not apply to fs/foo/a.c") {
		t.Errorf("undeclared prerequisite: %+v", r.Patches[0])
	}
	bad, _ := CheckUpstream(r, spec, tested)
	if d := cmp.Diff([]string{"foo/0001-a.patch does not apply to the reference files of v7.3"}, bad); d != "" {
		t.Errorf("CheckUpstream (-want +got):\n%s", d)
	}

	// The tested tree moved on since the report.
	os.WriteFile(filepath.Join(tested, "fs/foo/b.c"), []byte("changed\n"), 0o644)
	bad, _ = CheckUpstream(r, spec, tested)
	if !strings.Contains(strings.Join(bad, "\n"), "fs/foo/b.c changed in the tested tree since the report") {
		t.Errorf("a stale report: %v", bad)
	}
}

func TestNamesSubsystem(t *testing.T) {
	tests := []struct {
		subject, path string
		want          bool
	}{
		{"fuse: don't launder folios of a bad inode", "fs/fuse/file.c", true},
		{"fuse: x", "fs/iomap/direct-io.c", false},
		{"iomap: keep large chunks", "fs/iomap/direct-io.c", true},
		{"mm/filemap: fix x", "mm/filemap.c", true},
		{"mm: fix y", "mm/filemap.c", true},
		{"mm/hugetlb: fix z", "mm/filemap.c", false},
		{"selftests/fuse: fix", "tools/testing/selftests/filesystems/fuse/Makefile", true},
		{"docs: fuse: typo", "Documentation/filesystems/fuse/fuse-io.rst", true},
	}
	for _, tc := range tests {
		if got := namesSubsystem(tc.subject, tc.path); got != tc.want {
			t.Errorf("namesSubsystem(%q, %q) = %v, want %v", tc.subject, tc.path, got, tc.want)
		}
	}
}
