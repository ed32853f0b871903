package series

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExceptions(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "checkpatch-exceptions")
	os.WriteFile(file, []byte(strings.Join([]string{
		"# justified checkpatch messages",
		"0001-a.patch: WARNING: Unknown commit id '3be5a52b30aa', maybe rebased or not pulled?: no history in the base tree: see (\"x: y\")",
		"0002-b.patch: CHECK: Alignment should match open parenthesis (x2): TRACE_EVENT layout",
	}, "\n")), 0o644)
	ex, err := ReadExceptions(file)
	if err != nil {
		t.Fatal(err)
	}
	want := []Exception{
		{Patch: "0001-a.patch", Level: "WARNING", Message: "Unknown commit id '3be5a52b30aa', maybe rebased or not pulled?", Why: "no history in the base tree: see (\"x: y\")"},
		{Patch: "0002-b.patch", Level: "CHECK", Message: "Alignment should match open parenthesis", Why: "TRACE_EVENT layout"},
	}
	if d := cmp.Diff(want, ex); d != "" {
		t.Fatalf("exceptions (-want +got):\n%s", d)
	}

	tests := []struct {
		name, patch, output string
		want                []string
	}{
		{
			name:   "excused",
			patch:  "/p/0001-a.patch",
			output: "WARNING: Unknown commit id '3be5a52b30aa', maybe rebased or not pulled?\n#12: FILE: x\n",
		},
		{
			name:   "same message, other patch",
			patch:  "/p/0002-b.patch",
			output: "WARNING: Unknown commit id '3be5a52b30aa', maybe rebased or not pulled?\n",
			want:   []string{"WARNING: Unknown commit id '3be5a52b30aa', maybe rebased or not pulled?"},
		},
		{
			name:   "same text, other level",
			patch:  "/p/0002-b.patch",
			output: "ERROR: Alignment should match open parenthesis\nCHECK: Alignment should match open parenthesis\n",
			want:   []string{"ERROR: Alignment should match open parenthesis"},
		},
		{name: "clean", patch: "/p/0003-c.patch", output: "total: 0 errors, 0 warnings, 0 checks\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, Unexcused(tc.patch, tc.output, ex)); d != "" {
				t.Errorf("unexcused (-want +got):\n%s", d)
			}
		})
	}
}

func TestExceptionsMalformed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "x")
	os.WriteFile(file, []byte("0001.patch: NOTE: something: why\n"), 0o644)
	if _, err := ReadExceptions(file); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Errorf("err = %v, want a line-numbered error", err)
	}
}

func TestNewWarnings(t *testing.T) {
	prev := map[string]bool{"fs/fuse/file.c: warning: a": true}
	cur := map[string]bool{"fs/fuse/file.c: warning: a": true, "fs/fuse/file.c: warning: b": true}
	if d := cmp.Diff([]string{"fs/fuse/file.c: warning: b"}, newWarnings(prev, cur)); d != "" {
		t.Errorf("new warnings (-want +got):\n%s", d)
	}
	m := warning.FindStringSubmatch("../fs/fuse/file.c:120:5: warning: unused variable 'x' [-Wunused-variable]")
	if m == nil || m[1] != "../fs/fuse/file.c" || m[3] != "unused variable 'x' [-Wunused-variable]" {
		t.Errorf("warning regexp: %q", m)
	}
}

func TestSplitRole(t *testing.T) {
	tests := []struct{ in, addr, role string }{
		{`"Matthew Wilcox (Oracle)" <willy@infradead.org> (supporter:PAGE CACHE)`, `"Matthew Wilcox (Oracle)" <willy@infradead.org>`, "supporter:PAGE CACHE"},
		{"linux-fsdevel@vger.kernel.org (open list:FUSE: FILESYSTEM IN USERSPACE)", "linux-fsdevel@vger.kernel.org", "open list:FUSE: FILESYSTEM IN USERSPACE"},
		{"plain@example.org", "plain@example.org", ""},
	}
	for _, tc := range tests {
		addr, role := splitRole(tc.in)
		if addr != tc.addr || role != tc.role {
			t.Errorf("splitRole(%q) = %q, %q; want %q, %q", tc.in, addr, role, tc.addr, tc.role)
		}
	}
}

func TestKbuildObjects(t *testing.T) {
	src := t.TempDir()
	for _, f := range []string{"fs/fuse/file.c", "mm/filemap.c", "tools/testing/selftests/filesystems/fuse/parallel_dio_wait_test.c"} {
		os.MkdirAll(filepath.Join(src, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(src, f), nil, 0o644)
	}
	files := []string{
		"Documentation/filesystems/fuse/fuse-io.rst",
		"fs/fuse/file.c",
		"fs/fuse/fuse_trace.h",
		"fs/fuse/gone.c", // deleted by the series
		"mm/filemap.c",
		"tools/testing/selftests/filesystems/fuse/parallel_dio_wait_test.c",
	}
	got := kbuildObjects(src, files)
	if d := cmp.Diff([]string{"fs/fuse/file.o", "mm/filemap.o"}, got); d != "" {
		t.Errorf("kbuildObjects (-want +got):\n%s", d)
	}
}
