package kselftest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAdded(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fix := write("0001-fix.patch", "Subject: fuse: fix\n---\ndiff --git a/fs/fuse/file.c b/fs/fuse/file.c\nindex 1..2 100644\n--- a/fs/fuse/file.c\n+++ b/fs/fuse/file.c\n")
	test := write("0002-test.patch", "Subject: selftests/fuse: test\n---\n"+
		"diff --git a/tools/testing/selftests/filesystems/fuse/Makefile b/tools/testing/selftests/filesystems/fuse/Makefile\nindex 1..2 100644\n"+
		"diff --git a/tools/testing/selftests/filesystems/fuse/parallel_dio_wait_test.c b/tools/testing/selftests/filesystems/fuse/parallel_dio_wait_test.c\nnew file mode 100644\n"+
		"diff --git a/tools/testing/selftests/filesystems/fuse/changed_test.c b/tools/testing/selftests/filesystems/fuse/changed_test.c\nindex 1..2 100644\n")
	got, err := Added([]string{fix, test})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"tools/testing/selftests/filesystems/fuse/parallel_dio_wait_test.c"}, got); d != "" {
		t.Errorf("Added (-want +got):\n%s", d)
	}
	if none, err := Added([]string{fix}); err != nil || len(none) != 0 {
		t.Errorf("Added(fix only) = %v, %v; want none", none, err)
	}
}

// TestApplySelftestsInsideCheckout: the build directory usually lies in
// the project's checkout. git apply run there would skip the paths and
// succeed; applySelftests must apply them, fix or test alike.
func TestApplySelftestsInsideCheckout(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	checkout := t.TempDir()
	if o, err := exec.Command("git", "init", "-q", checkout).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, o)
	}
	scratch := filepath.Join(checkout, "build", "selftests", "src")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		t.Fatal(err)
	}
	const name = "tools/testing/selftests/filesystems/fuse/new_test.c"
	patch := filepath.Join(t.TempDir(), "0001-test.patch")
	body := "Subject: selftests/fuse: test\n---\n" +
		"diff --git a/fs/fuse/file.c b/fs/fuse/file.c\nnew file mode 100644\n--- /dev/null\n+++ b/fs/fuse/file.c\n@@ -0,0 +1 @@\n+kernel\n" +
		"diff --git a/" + name + " b/" + name + "\nnew file mode 100644\n--- /dev/null\n+++ b/" + name + "\n@@ -0,0 +1 @@\n+int main(void) { return 0; }\n"
	if err := os.WriteFile(patch, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := applySelftests(context.Background(), scratch, []string{patch}, []string{name}); err != nil {
		t.Fatal(err)
	}
	_, kernelErr := os.Stat(filepath.Join(scratch, "fs/fuse/file.c"))
	got := []bool{fileExists(filepath.Join(scratch, name)), kernelErr == nil}
	if d := cmp.Diff([]bool{true, false}, got); d != "" {
		t.Errorf("[test applied, kernel part applied] (-want +got):\n%s", d)
	}
	err := applySelftests(context.Background(), scratch, nil, []string{"tools/testing/selftests/x/missing_test.c"})
	if err == nil || !strings.Contains(err.Error(), "missing_test.c is not in the tree") {
		t.Errorf("missing test: err = %v", err)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
