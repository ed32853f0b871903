package fstests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkout is a small fstests checkout: tests that use direct I/O by
// each rule (generic/1xx), tests that only look as if they did
// (generic/2xx), and tests outside the groups or outside generic.
const checkout = "testdata/checkout"

func TestDirectIO(t *testing.T) {
	tests := []struct {
		test string
		want []Evidence
	}{
		{"generic/101", []Evidence{{Rule: "_require_odirect", Line: 10}}},
		// -d after a -c command.
		{"generic/102", []Evidence{{Rule: "xfs_io -d", Line: 10}}},
		// "open -fd" in a command substitution.
		{"generic/103", []Evidence{{Rule: "xfs_io -d", Line: 9}}},
		// The test's own wrapper; the line in its body has no -Z.
		{"generic/104", []Evidence{{Rule: "fsx -Z", Line: 13}}},
		// direct=1 in a job file, not the commented direct=0.
		{"generic/105", []Evidence{{Rule: "fio direct=1", Line: 13}}},
		{"generic/106", []Evidence{{Rule: "dd oflag=direct", Line: 9}}},
		{"generic/107", []Evidence{{Rule: "src/dio-prog", Line: 9, Source: "src/dio-prog.c:7"}}},
		{"generic/108", []Evidence{{Rule: "src/sub/aio-prog", Line: 9, Source: "src/sub/aio-prog.c:9"}}},
		// -d on a continuation line.
		{"generic/109", []Evidence{{Rule: "xfs_io -d", Line: 9}}},
		{"generic/110", []Evidence{{Rule: "_require_aio", Line: 10}}},
		{"generic/002", []Evidence{{Rule: "_require_aiodio", Line: 9}}},
		// Comments: a whole line, the end of a line, after $#.
		{"generic/201", nil},
		// -d inside a quoted xfs_io command is that command's option.
		{"generic/202", nil},
		// O_DIRECT only in the program's comments and strings.
		{"generic/203", nil},
		// A shell variable, a commented job file line, an echo.
		{"generic/204", nil},
		// A program without a source in src/.
		{"generic/205", nil},
		// fsx without -Z, xfs_io pwrite -Z.
		{"generic/206", nil},
	}
	for _, tc := range tests {
		got, err := DirectIO(checkout, tc.test)
		if err != nil {
			t.Errorf("DirectIO(%s): %v", tc.test, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("DirectIO(%s) (-want +got):\n%s", tc.test, d)
		}
	}
	if _, err := DirectIO(checkout, "generic/999"); err == nil {
		t.Errorf("DirectIO(generic/999): no error for a test that does not exist")
	}
}

func TestNamedIomapDIO(t *testing.T) {
	sel, err := ParseSelection("@iomap-dio")
	if err != nil {
		t.Fatal(err)
	}
	xfs, _ := SetupNamed("xfs")
	got, err := sel.Picks(checkout, xfs)
	if err != nil {
		t.Fatal(err)
	}
	// Not generic/2xx (no direct I/O), generic/301 (neither group),
	// xfs/100 (not generic).
	want := []Pick{
		{"generic/001", "group aio"},
		{"generic/002", "group aio"},
		{"generic/101", "group mmap, direct I/O: _require_odirect (line 10)"},
		{"generic/102", "group mmap, direct I/O: xfs_io -d (line 10)"},
		{"generic/103", "group mmap, direct I/O: xfs_io -d (line 9)"},
		{"generic/104", "group mmap, direct I/O: fsx -Z (line 13)"},
		{"generic/105", "group mmap, direct I/O: fio direct=1 (line 13)"},
		{"generic/106", "group mmap, direct I/O: dd oflag=direct (line 9)"},
		{"generic/107", "group mmap, direct I/O: src/dio-prog, O_DIRECT at src/dio-prog.c:7 (line 9)"},
		{"generic/108", "group mmap, direct I/O: src/sub/aio-prog, O_DIRECT at src/sub/aio-prog.c:9 (line 9)"},
		{"generic/109", "group mmap, direct I/O: xfs_io -d (line 9)"},
		{"generic/110", "group mmap, direct I/O: _require_aio (line 10)"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("@iomap-dio (-want +got):\n%s", d)
	}
	tests, err := sel.Expand(checkout, xfs)
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) != len(want) || tests[0] != "generic/001" {
		t.Errorf("Expand(@iomap-dio) = %v, want the picks' tests", tests)
	}

	// A checkout without generic tests selects nothing.
	empty := t.TempDir()
	if err := os.MkdirAll(filepath.Join(empty, "tests", "generic"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := sel.Picks(empty, xfs); err == nil || !strings.Contains(err.Error(), "no generic tests") {
		t.Errorf("Picks(@iomap-dio) on an empty checkout: error %v, want no generic tests", err)
	}
}

func TestPicksWhy(t *testing.T) {
	xfs, _ := SetupNamed("xfs")
	tests := []struct {
		spec string
		want []Pick
	}{
		{"generic/101 generic/001", []Pick{{"generic/101", "named"}, {"generic/001", "named"}}},
		{"-g aio,rw -x mmap", []Pick{{"generic/001", "group aio"}, {"generic/301", "group rw"}, {"xfs/100", "group aio"}}},
	}
	for _, tc := range tests {
		sel, err := ParseSelection(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sel.Picks(checkout, xfs)
		if err != nil {
			t.Errorf("Picks(%q): %v", tc.spec, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("Picks(%q) (-want +got):\n%s", tc.spec, d)
		}
	}
}

func TestShellCommands(t *testing.T) {
	tests := []struct {
		line string
		want [][]string
	}{
		{`$XFS_IO_PROG -f -c "pwrite -S 0x61 0 4k" -d $f >> $seqres.full 2>&1`,
			[][]string{{"$XFS_IO_PROG", "-f", "-c", "pwrite -S 0x61 0 4k", "-d", "$f", "$seqres.full", "2"}, {"1"}}},
		{`x=$($XFS_IO_PROG -c 'open -d f') && _require_aio; echo "a \"b\" c"`,
			[][]string{{"x="}, {"$XFS_IO_PROG", "-c", "open -d f"}, {"_require_aio"}, {"echo", `a "b" c`}}},
		{`if [ -x $here/src/t_mmap_dio ]; then`, [][]string{{"if", "[", "-x", "$here/src/t_mmap_dio", "]"}, {"then"}}},
		{`dd if=/dev/zero of=$f oflag=direct &`, [][]string{{"dd", "if=/dev/zero", "of=$f", "oflag=direct"}}},
	}
	for _, tc := range tests {
		if d := cmp.Diff(tc.want, shellCommands(tc.line)); d != "" {
			t.Errorf("shellCommands(%q) (-want +got):\n%s", tc.line, d)
		}
	}
}

func TestStripComment(t *testing.T) {
	tests := []struct{ line, want string }{
		{"# whole line", ""},
		{"cmd arg # rest", "cmd arg "},
		{`echo "# not a comment" '#' x#y ${#v} $#`, `echo "# not a comment" '#' x#y ${#v} $#`},
		{`echo "it's" # a comment`, `echo "it's" `},
		{`echo \# x`, `echo \# x`},
	}
	for _, tc := range tests {
		if got := stripComment(tc.line); got != tc.want {
			t.Errorf("stripComment(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestCCode(t *testing.T) {
	src := "int a; /* O_DIRECT\n still */ int b; // O_DIRECT\nf(\"O_DIRECT\\\"\", '\"'); g(O_DIRECT);\n"
	want := "int a; \n int b; \nf(, ); g(O_DIRECT);\n"
	if got := cCode(src); got != want {
		t.Errorf("cCode:\n%q\nwant\n%q", got, want)
	}
}
