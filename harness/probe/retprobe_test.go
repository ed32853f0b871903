package probe

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseReturns(t *testing.T) {
	const hdr = "# tracer: nop\n#\n#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
	const ev = "dioharness_ret_generic_update_time"
	tests := []struct {
		name    string
		trace   string
		want    []int64
		wantErr string
	}{
		{"empty buffer", hdr, nil, ""},
		{"two returns in order", hdr +
			"    init-1 [001] d..1.  2.000100: " + ev + ": (file_update_time_flags+0xdd/0x110 <- generic_update_time) ret=-11\n" +
			"    init-1 [001] d..1.  2.000200: " + ev + ": (file_update_time_flags+0xdd/0x110 <- generic_update_time) ret=0\n",
			[]int64{-11, 0}, ""},
		{"another event is not read", hdr +
			"    init-1 [000] d..1.  1.0: " + ev + "_x: (f+0x1/0x10 <- g) ret=5\n" +
			"    init-1 [000] d..1.  1.1: " + ev + ": (f+0x1/0x10 <- generic_update_time) ret=3\n",
			[]int64{3}, ""},
		{"a header naming the event is not read", "# " + ev + ": ret=1\n", nil, ""},
		{"a line without ret= is an error", ev + ": (f+0x1/0x10 <- g)\n", nil, "no ret="},
		{"a bad number is an error", ev + ": (f+0x1/0x10 <- g) ret=x1\n", nil, "bad ret="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseReturns([]byte(tc.trace), ev)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseReturns error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("parseReturns (-want +got):\n%s", d)
			}
		})
	}
}

// TestReturnProbeFiles checks the kretprobe definition a ReturnProbe
// writes and that its instance is apart from a CallCounter's on the same
// function; tracing itself is the CallCounter machinery.
func TestReturnProbeFiles(t *testing.T) {
	root := fakeTracefs(t)
	events := filepath.Join(root, "kprobe_events")
	if _, err := newReturnProbeAt(root, "generic_update_time", 16); err == nil || !strings.Contains(err.Error(), "want 32 or 64") {
		t.Errorf("16-bit return probe: err = %v, want a width error", err)
	}
	r, err := newReturnProbeAt(root, "generic_update_time", 32)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newCallCounterAt(root, "generic_update_time")
	if err != nil {
		t.Fatal(err)
	}
	if r.inst == c.inst {
		t.Errorf("return probe and call counter share instance %s", r.inst)
	}
	ev := filepath.Join(r.inst, "events", "dioharness", "dioharness_ret_generic_update_time")
	if err := os.MkdirAll(ev, 0o755); err != nil {
		t.Fatal(err)
	}
	rets, err := r.Returns(func() {
		line := "init-1 [000] d..1. 1.0: dioharness_ret_generic_update_time: (f+0x1/0x10 <- generic_update_time) ret=-11\n"
		if err := os.WriteFile(filepath.Join(r.inst, "trace"), []byte(line), 0o644); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int64{-11}, rets); d != "" {
		t.Errorf("Returns (-want +got):\n%s", d)
	}
	b, _ := os.ReadFile(events)
	wantDefs := "r:dioharness/dioharness_ret_generic_update_time generic_update_time ret=$retval:s32\n" +
		"p:dioharness/dioharness_generic_update_time generic_update_time\n"
	if d := cmp.Diff(wantDefs, string(b)); d != "" {
		t.Errorf("kprobe_events (-want +got):\n%s", d)
	}
}

// TestReturnProbeKernel reads real return values: fsync(2) on a regular
// file returns 0 from vfs_fsync_range, on a pipe -EINVAL (no ->fsync),
// and calls by another thread are not recorded.
func TestReturnProbeKernel(t *testing.T) {
	requireRoot(t)
	r, err := NewReturnProbe("vfs_fsync_range", 32)
	if err != nil {
		t.Skipf("kretprobe events unavailable on this kernel: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	rets, err := r.Returns(func() {
		if err := f.Sync(); err != nil {
			t.Error(err)
		}
		if err := syscall.Fsync(int(pw.Fd())); err != syscall.EINVAL {
			t.Errorf("fsync on a pipe: %v, want EINVAL", err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread() // another thread: filtered out
			f.Sync()
		}()
		<-done
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int64{0, -int64(syscall.EINVAL)}, rets); d != "" {
		t.Errorf("vfs_fsync_range returns (-want +got):\n%s", d)
	}
}
