package kselftest

import (
	"os"
	"path/filepath"
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
