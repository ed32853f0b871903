package kernel

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadPin(t *testing.T) {
	tests := []struct {
		name, in string
		want     Pin
		wantErr  string
	}{
		{
			name: "complete",
			in:   "package: linux-source-6.12 6.12.117-1~deb12u1\nupstream: v6.12.117\nbase-commit: abc\n",
			want: Pin{Package: "linux-source-6.12", Version: "6.12.117-1~deb12u1", Upstream: "v6.12.117", BaseCommit: "abc"},
		},
		{name: "missing base", in: "package: p 1\nupstream: v1\n", wantErr: "needs package, upstream and base-commit"},
		{name: "unknown key", in: "colour: red\n", wantErr: `unknown key "colour"`},
		{name: "malformed", in: "nonsense\n", wantErr: "malformed line"},
		{name: "package without version", in: "package: p\n", wantErr: "want \"package: NAME VERSION\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "BASE")
			os.WriteFile(p, []byte(tc.in), 0o644)
			got, err := ReadPin(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("pin (-want +got):\n%s", d)
			}
		})
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
