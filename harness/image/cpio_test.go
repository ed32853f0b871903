package image

import (
	"bytes"
	"compress/gzip"
	"io"
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
