package fusecli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestHelperArgv(t *testing.T) {
	h := Helper{Server: "/init", ServerArgs: []string{"fuse-server"}}
	base := []string{"/init", "fuse-server", "-mount", "/mnt/test", "-source", "/srv/t", "-fsname", "dioharness-test"}
	tests := []struct {
		name string
		args []string
		want []string
		err  string
	}{
		{
			name: "cached",
			args: []string{"dioharness-test", "/mnt/test", "-o", "rw,source=/srv/t,allow_other,default_permissions"},
			want: append(base, "-attr-timeout", "1s", "-entry-timeout", "1s", "-workers", "4", "-default-permissions"),
		},
		{
			name: "direct-io, options in two -o, flags mount(8) adds",
			args: []string{"-n", "dioharness-test", "/mnt/test", "-o", "source=/srv/t,direct_io", "-o", "parallel_direct_writes,direct_io_allow_mmap,noatime,timeout=0"},
			want: append(base, "-attr-timeout", "0s", "-entry-timeout", "0s", "-workers", "4", "-direct-io", "-parallel-direct-writes", "-allow-mmap"),
		},
		{
			name: "parallel O_DIRECT writes with the page cache",
			args: []string{"dioharness-test", "/mnt/test", "-o", "source=/srv/t,parallel_direct_writes,parallel_odirect_writes"},
			want: append(base, "-attr-timeout", "1s", "-entry-timeout", "1s", "-workers", "4", "-parallel-direct-writes", "-parallel-odirect-writes"),
		},
		{name: "no source", args: []string{"x", "/mnt/test", "-o", "rw"}, err: "no source=DIR"},
		{name: "unknown option", args: []string{"x", "/mnt/test", "-o", "source=/s,writeback"}, err: `unknown option "writeback"`},
		{name: "bad timeout", args: []string{"x", "/mnt/test", "-o", "source=/s,timeout=soon"}, err: "bad timeout=soon"},
		{name: "one operand", args: []string{"/mnt/test", "-o", "source=/s"}, err: "want SOURCE MOUNTPOINT"},
		{name: "unknown flag", args: []string{"x", "/m", "-z"}, err: "unknown flag -z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Argv(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("Argv error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Argv (-want +got):\n%s", d)
			}
		})
	}
}

// TestHelperMounts runs the helper as mount(8) would: the server (this
// test binary) is left running in its own session, the mount has the
// type and source fstests compares, the files land in the source
// directory, and an unmount ends the server.
func TestHelperMounts(t *testing.T) {
	requireFuse(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(childEnv, "1")
	src, mnt, logs := t.TempDir(), t.TempDir(), t.TempDir()
	h := Helper{Server: self, LogDir: logs, Ready: 20 * time.Second}
	var stderr bytes.Buffer
	if code := h.Run([]string{"dioharness-test", mnt, "-o", "source=" + src + ",default_permissions,direct_io"}, &stderr); code != 0 {
		t.Fatalf("helper exit %d: %s", code, stderr.String())
	}
	mounted := false
	t.Cleanup(func() {
		if mounted {
			unix.Unmount(mnt, unix.MNT_DETACH)
		}
	})
	mounted = true
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == mnt {
			line = l
		}
	}
	// "... - fuse dioharness-test rw,..." after the separator.
	if _, after, _ := strings.Cut(line, " - "); !strings.HasPrefix(after, "fuse dioharness-test ") {
		t.Errorf("mountinfo %q: want type fuse, source dioharness-test", line)
	}
	if err := os.WriteFile(filepath.Join(mnt, "f"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Unmount(mnt, 0); err != nil {
		t.Fatal(err)
	}
	mounted = false
	if b, err := os.ReadFile(filepath.Join(src, "f")); err != nil || string(b) != "kept" {
		t.Errorf("source after unmount: %q, %v", b, err)
	}
	// The server's log is named after the mount point.
	logsFound, _ := filepath.Glob(filepath.Join(logs, "fuse-*.log"))
	if len(logsFound) != 1 {
		t.Errorf("server logs %v, want one", logsFound)
	}
}

func TestHelperReportsServerFailure(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(childEnv, "1")
	h := Helper{Server: self, LogDir: t.TempDir(), Ready: 20 * time.Second}
	var stderr bytes.Buffer
	// The source does not exist: the server exits before it is ready.
	code := h.Run([]string{"dioharness-test", t.TempDir(), "-o", "source=/nonexistent/dir"}, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "exited before the mount was ready") || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("helper exit %d, stderr %q: want 1 and one line naming the failure", code, stderr.String())
	}
}
