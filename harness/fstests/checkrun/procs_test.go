package checkrun

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/fstests"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		line string
		want procStat
	}{
		{"1234 (fsx) D 1 1234 1234 0 -1 4194560 ...", procStat{pid: 1234, comm: "fsx", state: "D", pgrp: 1234}},
		{"77 (a (b) c) S 5 70 70 0", procStat{pid: 77, comm: "a (b) c", state: "S", pgrp: 70}},
	}
	for _, tc := range tests {
		got, err := parseStat(tc.line)
		if err != nil {
			t.Errorf("parseStat(%q): %v", tc.line, err)
			continue
		}
		if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(procStat{})); d != "" {
			t.Errorf("parseStat(%q) (-want +got):\n%s", tc.line, d)
		}
	}
	for _, bad := range []string{"", "12 fsx D", "x (fsx) D 1 2", "12 (fsx) D"} {
		if _, err := parseStat(bad); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

// TestGroupAndWaitGone: the members of a process group are found, a
// killed group is seen gone through pidfds, and a live process is
// reported left at the deadline.
func TestGroupAndWaitGone(t *testing.T) {
	// Two long-lived children the test kills (a shell's background
	// jobs read /dev/null, so they must not wait for input).
	cmd := exec.Command("sh", "-c", "sleep 1000 & sleep 1000 & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	// The two children are forked by the shell: wait for them to appear.
	deadline := time.Now().Add(10 * time.Second)
	var members []int
	for len(members) < 3 && time.Now().Before(deadline) {
		members = group(pgid)
	}
	if len(members) != 3 {
		t.Fatalf("group(%d) = %v, want the shell and its two children", pgid, members)
	}
	if left := waitGone(members, 50*time.Millisecond); len(left) != 3 {
		t.Errorf("waitGone on live processes left %v, want all 3", left)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	// The shell is our child: it stays a zombie until Wait, which
	// waitGone must count as gone.
	if left := waitGone(members, 10*time.Second); len(left) != 0 {
		t.Errorf("waitGone after SIGKILL left %v", left)
	}
	<-done
	if d := describeTask(os.Getpid()); d == "" {
		t.Error("describeTask of this process is empty")
	}
}

func TestParseProfile(t *testing.T) {
	// As v7.3 prints it: the event's name without its group. Another
	// group's event of the same function is not ours.
	prof := "  dioh_fuse_direct_io                                   1234               0\n" +
		"  dioh___iomap_dio_rw                                      0               0\n" +
		"  fuse_direct_io                                           9               0\n" +
		"  other/dioh_fuse_file_mmap                                5               0\n" +
		"  dioharness_fstests/dioh_fuse_file_mmap                   3               0\n" +
		"garbage\n"
	want := map[string]uint64{"fuse_direct_io": 1234, "__iomap_dio_rw": 0, "fuse_file_mmap": 3}
	if d := cmp.Diff(want, parseProfile(prof)); d != "" {
		t.Errorf("parseProfile (-want +got):\n%s", d)
	}
	c := &pathCounter{funcs: []string{"__iomap_dio_rw", "fuse_direct_io", "kiocb_invalidate_pages"}, missing: map[string]string{"fuse_file_mmap": "no such function"}}
	got := c.diag(map[string]uint64{"fuse_direct_io": 1000, "__iomap_dio_rw": 0}, map[string]uint64{"fuse_direct_io": 1234, "__iomap_dio_rw": 7})
	wantDiag := []string{"kernel path: __iomap_dio_rw=7 fuse_direct_io=234", "kernel path: fuse_file_mmap not counted: no such function",
		"kernel path: kiocb_invalidate_pages not counted: no line in kprobe_profile"}
	if d := cmp.Diff(wantDiag, got); d != "" {
		t.Errorf("diag (-want +got):\n%s", d)
	}
	calls, ok := fstests.ParsePath(got[0])
	if !ok || calls["fuse_direct_io"] != 234 || calls["__iomap_dio_rw"] != 7 {
		t.Errorf("ParsePath(%q) = %v, %v", got[0], calls, ok)
	}
	if _, ok := fstests.ParsePath(got[1]); ok {
		t.Errorf("ParsePath took a not-counted line")
	}
}
