package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/image"
	"dioharness/harness/testrun"
	"dioharness/harness/vm"
)

func TestCmdline(t *testing.T) {
	disks := []image.Disk{{Name: "ext4"}, {Name: "xfs"}, {Name: "ext4-noextent"}}
	got := cmdline(vm.Machine{}, disks, []string{"-test.run=FUSE"})
	want := []string{
		"PROBE_EXT4_DEV=/dev/vda", "PROBE_XFS_DEV=/dev/vdb", "PROBE_EXT4_NOEXTENT_DEV=/dev/vdc",
		"--", "-test.v", "-test.count=1", "-test.run=FUSE",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("cmdline (-want +got):\n%s", d)
	}
}

func TestBadInput(t *testing.T) {
	kernel := filepath.Join(t.TempDir(), "bzImage")
	if err := os.WriteFile(kernel, []byte("not a kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string // in the one-line error
	}{
		{nil, "missing BZIMAGE"},
		{[]string{"/nonexistent/bzImage"}, "kernel image: stat /nonexistent/bzImage"},
		{[]string{"-accel", "hvf", kernel}, `-accel "hvf": want kvm or tcg`},
		{[]string{"-timeout", "0s", kernel}, "-timeout 0s: want a positive duration"},
		{[]string{kernel, "-run=FUSE"}, `"-run=FUSE": only go test flags (-test.*) follow BZIMAGE`},
		{[]string{"-no-such-flag", kernel}, "flag provided but not defined: -no-such-flag"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &errb); code != testrun.ExitBadArgs {
				t.Errorf("exit %d, want %d", code, testrun.ExitBadArgs)
			}
			if lines := strings.Count(errb.String(), "\n"); lines != 1 || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("stderr %q, want one line containing %q", errb.String(), tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &out, &errb); code != testrun.ExitOK {
		t.Errorf("-h: exit %d, want 0", code)
	}
	if !strings.HasPrefix(out.String(), usage) || !strings.Contains(out.String(), "-timeout") || errb.Len() != 0 {
		t.Errorf("-h: stdout %q, stderr %q", out.String(), errb.String())
	}
}
