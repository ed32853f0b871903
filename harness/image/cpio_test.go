package image

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInitramfsListsWithCpio checks the archive against the system's
// cpio, the format's reference reader.
func TestInitramfsListsWithCpio(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("cpio not installed (Debian package cpio)")
	}
	var buf bytes.Buffer
	err := WriteInitramfs(&buf, []Entry{
		{Path: "/init", Data: []byte("#!/bin/true\n"), Mode: 0o755},
		{Path: "usr/bin/tool", Data: []byte("x")},
		{Path: "dev", Dir: true, Mode: 0o755},
		{Path: "lib64/ld.so", Link: "/lib/ld.so"},
	})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	cmd := exec.Command("cpio", "-t", "--quiet")
	cmd.Stdin = bytes.NewReader(raw)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -t: %v", err)
	}
	got := strings.Fields(string(out))
	sort.Strings(got)
	want := []string{"dev", "init", "lib64", "lib64/ld.so", "usr", "usr/bin", "usr/bin/tool"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("archive listing (-want +got):\n%s", d)
	}
	dir := t.TempDir()
	x := exec.Command("cpio", "-i", "-d", "--quiet")
	x.Dir = dir
	x.Stdin = bytes.NewReader(raw)
	if out, err := x.CombinedOutput(); err != nil {
		t.Fatalf("cpio -i: %v: %s", err, out)
	}
	if b, _ := exec.Command("cat", filepath.Join(dir, "init")).Output(); string(b) != "#!/bin/true\n" {
		t.Errorf("init content %q", b)
	}
}

// TestAppendFiles checks the appended archive the way the kernel reads
// it: the base byte for byte, then a gzip member of its own holding
// the new files.
func TestAppendFiles(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("cpio not installed (Debian package cpio)")
	}
	dir := t.TempDir()
	base := filepath.Join(dir, "base.cpio.gz")
	var b bytes.Buffer
	if err := WriteInitramfs(&b, []Entry{{Path: "init", Data: []byte("agent"), Mode: 0o755}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "boot.cpio.gz")
	if err := AppendFiles(dst, base, []Entry{{Path: "/etc/dioharness/plan.json", Data: []byte("{}\n"), Mode: 0o644}}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, b.Bytes()) {
		t.Fatalf("the combined archive does not start with the base")
	}
	zr, err := gzip.NewReader(bytes.NewReader(got[b.Len():]))
	if err != nil {
		t.Fatalf("appended part is not gzip: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	x := exec.Command("cpio", "-i", "-d", "--quiet")
	x.Dir = filepath.Join(dir, "root")
	os.Mkdir(x.Dir, 0o755)
	x.Stdin = bytes.NewReader(raw)
	if out, err := x.CombinedOutput(); err != nil {
		t.Fatalf("cpio -i: %v: %s", err, out)
	}
	if plan, err := os.ReadFile(filepath.Join(x.Dir, "etc/dioharness/plan.json")); err != nil || string(plan) != "{}\n" {
		t.Errorf("plan in the appended archive: %q, %v", plan, err)
	}
	if err := AppendFiles(dst, filepath.Join(dir, "missing"), nil); err == nil {
		t.Errorf("AppendFiles with a missing base succeeded")
	}
}
