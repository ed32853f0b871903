package kernel

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/kbase"
)

func TestCheckDebianPatches(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, modifiedFile), []byte("Makefile\nfs/namei.c\n"), 0o644)
	patch := func(name string, files ...string) string {
		var b strings.Builder
		b.WriteString("Subject: [PATCH] x\n---\n")
		for _, f := range files {
			fmt.Fprintf(&b, "diff --git a/%s b/%s\n--- a/%s\n+++ b/%s\n@@ -1 +1 @@\n-a\n+b\n", f, f, f, f)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(b.String()), 0o644)
		return p
	}
	s := &Sources{Dir: dir, Spec: kbase.Spec{Name: "v7.3", Upstream: "v7.3.4"}}
	clean := []string{patch("0001.patch", "fs/fuse/file.c", "fs/fuse/iomode.c")}
	if err := s.CheckDebianPatches(clean); err != nil {
		t.Errorf("series untouched by Debian: %v", err)
	}
	clash := append(clean, patch("0002.patch", "mm/filemap.c", "fs/namei.c"))
	err := s.CheckDebianPatches(clash)
	if err == nil || !strings.Contains(err.Error(), "0002.patch changes fs/namei.c") {
		t.Errorf("err = %v, want one naming 0002.patch and fs/namei.c", err)
	}
}

func TestDropped(t *testing.T) {
	want := []Option{
		{Name: "CONFIG_A", Value: "y"},
		{Name: "CONFIG_B", Value: "n"},
		{Name: "CONFIG_C", Value: "60"},
		{Name: "CONFIG_D", Value: "y"},
	}
	tests := []struct {
		name   string
		config string
		want   []string
	}{
		{name: "all kept", config: "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=60\nCONFIG_D=y\n", want: nil},
		{name: "dropped and changed", config: "CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=120\n", want: []string{"CONFIG_B", "CONFIG_C", "CONFIG_D"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig(strings.NewReader(tc.config))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range Dropped(want, cfg) {
				got = append(got, o.Name)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("dropped (-want +got):\n%s", d)
			}
		})
	}
}

func TestReadFragments(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.config")
	os.WriteFile(p, []byte("# comment\nCONFIG_X=y\n# CONFIG_Y is not set\n\nCONFIG_Z=\"s\"\n"), 0o644)
	got, err := ReadFragments([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	want := []Option{
		{Name: "CONFIG_X", Value: "y", From: "a.config:2"},
		{Name: "CONFIG_Y", Value: "n", From: "a.config:3"},
		{Name: "CONFIG_Z", Value: `"s"`, From: "a.config:5"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("fragments (-want +got):\n%s", d)
	}
	os.WriteFile(p, []byte("FOO=y\n"), 0o644)
	if _, err := ReadFragments([]string{p}); err == nil || !strings.Contains(err.Error(), "a.config:1") {
		t.Errorf("malformed fragment: err = %v, want one naming a.config:1", err)
	}
}

func TestCustomRejectsNonKernelTree(t *testing.T) {
	dir := t.TempDir()
	_, err := Custom(t.Context(), dir, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "is not a kernel tree") {
		t.Fatalf("err = %v, want 'is not a kernel tree'", err)
	}
}

func TestReadSeries(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.patch"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "series"), []byte("# order\na.patch\n\n"), 0o644)
	got, err := ReadSeries(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{filepath.Join(dir, "a.patch")}, got); d != "" {
		t.Errorf("series (-want +got):\n%s", d)
	}
	os.WriteFile(filepath.Join(dir, "series"), []byte("missing.patch\n"), 0o644)
	if _, err := ReadSeries(dir); err == nil || !strings.Contains(err.Error(), "missing.patch") {
		t.Errorf("err = %v, want one naming missing.patch", err)
	}
}

// TestAmNamesPatchAndHunk applies a patch whose context does not match
// and checks the error names the patch and the failing hunk.
func TestAmNamesPatchAndHunk(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	run("init", "-q")
	os.WriteFile(filepath.Join(dir, "file.c"), []byte("one\ntwo\nthree\n"), 0o644)
	run("add", "file.c")
	run("commit", "-q", "-m", "base")
	patch := filepath.Join(t.TempDir(), "0001-change.patch")
	os.WriteFile(patch, []byte(`From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: t <t@t>
Date: Thu, 1 Jan 2000 00:00:00 +0000
Subject: [PATCH] change

---
 file.c | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/file.c b/file.c
--- a/file.c
+++ b/file.c
@@ -1,3 +1,3 @@
 one
-deux
+zwei
 three
--
2.39.5
`), 0o644)
	err := Am(t.Context(), dir, patch)
	if err == nil {
		t.Fatal("a patch with wrong context applied")
	}
	for _, want := range []string{"0001-change.patch does not apply", "patch failed: file.c:1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, statErr := os.Stat(filepath.Join(dir, ".git", "rebase-apply")); statErr == nil {
		t.Error("git am was not aborted")
	}
}

func TestSubjects(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "v2-0003-fuse.patch")
	os.WriteFile(p, []byte("From 66856daaf60f871a2ce3698d0f6bd0f1bd32d1d2 Mon Sep 17 00:00:00 2001\n"+
		"From: Your Name <your.name@placeholder.invalid>\nDate: Mon, 23 Nov 2026 14:20:46 +0000\n"+
		"Subject: [PATCH v2 3/7] fuse: make the wait for parallel dio writes\n killable\n\nbody\n"), 0o644)
	q := filepath.Join(dir, "0001-iomap.patch")
	os.WriteFile(q, []byte("From: a <a@b>\nSubject: iomap: plain\n\nbody\n"), 0o644)
	got, err := Subjects([]string{p, q})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"fuse: make the wait for parallel dio writes killable", "iomap: plain"}, got); d != "" {
		t.Errorf("subjects (-want +got):\n%s", d)
	}
}

// TestEffective: a later fragment overrides an earlier one (the fstests
// fragment turns XFS_POSIX_ACL back on), and only its value is checked.
func TestEffective(t *testing.T) {
	opts := []Option{
		{Name: "CONFIG_XFS_POSIX_ACL", Value: "n", From: "base.config:43"},
		{Name: "CONFIG_A", Value: "y", From: "base.config:44"},
		{Name: "CONFIG_XFS_POSIX_ACL", Value: "y", From: "fstests.config:20"},
	}
	want := []Option{
		{Name: "CONFIG_A", Value: "y", From: "base.config:44"},
		{Name: "CONFIG_XFS_POSIX_ACL", Value: "y", From: "fstests.config:20"},
	}
	if d := cmp.Diff(want, Effective(opts)); d != "" {
		t.Errorf("Effective (-want +got):\n%s", d)
	}
	cfg, err := ParseConfig(strings.NewReader("CONFIG_A=y\nCONFIG_XFS_POSIX_ACL=y\n"))
	if err != nil {
		t.Fatal(err)
	}
	if bad := Dropped(Effective(opts), cfg); len(bad) != 0 {
		t.Errorf("Dropped after an override = %v, want none", bad)
	}
}

// TestAmCommitIsReproducible applies a patch and checks the commit is
// dated as its author, so the same base and series give the same commit
// id wherever and whenever they are applied.
func TestAmCommitIsReproducible(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	os.WriteFile(filepath.Join(dir, "file.c"), []byte("one\ntwo\nthree\n"), 0o644)
	git("add", "file.c")
	git("commit", "-q", "-m", "base")
	patch := filepath.Join(t.TempDir(), "0001-change.patch")
	os.WriteFile(patch, []byte(`From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: t <t@t>
Date: Thu, 1 Jan 2000 00:00:00 +0000
Subject: [PATCH] change

---
 file.c | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/file.c b/file.c
--- a/file.c
+++ b/file.c
@@ -1,3 +1,3 @@
 one
-two
+zwei
 three
--
2.39.5
`), 0o644)
	if err := Am(t.Context(), dir, patch); err != nil {
		t.Fatal(err)
	}
	got := git("log", "-1", "--format=%an <%ae> %ad | %cn <%ce> %cd", "--date=unix")
	if want := "t <t@t> 946684800 | " + baseIdent + " <" + baseEmail + "> 946684800"; got != want {
		t.Errorf("applied commit = %q, want %q", got, want)
	}
}
