package probe

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestCountTraceEvents(t *testing.T) {
	const hdr = "# tracer: nop\n#\n# entries-in-buffer/entries-written: 2/2   #P:2\n#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
	tests := []struct {
		name  string
		trace string
		want  int
	}{
		{"empty buffer", hdr, 0},
		{"two calls", hdr +
			"            init-1       [001] d....    12.345678: dioharness_inode_dio_wait: (inode_dio_wait+0x0/0x90)\n" +
			"            init-1       [001] d....    12.345690: dioharness_inode_dio_wait: (inode_dio_wait+0x0/0x90)\n", 2},
		{"another event is not counted", hdr +
			"            init-1       [000] d....    1.0: dioharness_inode_dio_wait_x: (f+0x0/0x10)\n" +
			"            init-1       [000] d....    1.1: dioharness_inode_dio_wait: (inode_dio_wait+0x0/0x90)\n", 1},
		{"a header naming the event is not counted", "# dioharness_inode_dio_wait: header\n", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := countTraceEvents([]byte(tc.trace), "dioharness_inode_dio_wait"); got != tc.want {
				t.Errorf("countTraceEvents = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestCallCounterFiles drives a counter against a directory laid out like
// tracefs and checks what it writes where; the kernel side is covered by
// TestCallCounterKernel.
func TestCallCounterFiles(t *testing.T) {
	root := fakeTracefs(t)
	events := filepath.Join(root, "kprobe_events")
	c, err := newCallCounterAt(root, "inode_dio_wait")
	if err != nil {
		t.Fatal(err)
	}
	ev := filepath.Join(c.inst, "events", "dioharness", "dioharness_inode_dio_wait")
	if err := os.MkdirAll(ev, 0o755); err != nil {
		t.Fatal(err)
	}
	trace := filepath.Join(c.inst, "trace")
	var tid int
	n, err := c.Count(func() {
		tid = unix.Gettid()
		// What the kernel would append while the event is enabled.
		if b, _ := os.ReadFile(filepath.Join(ev, "enable")); string(b) != "1" {
			t.Errorf("enable during fn = %q, want 1", b)
		}
		line := "init-1 [000] d.... 1.0: dioharness_inode_dio_wait: (inode_dio_wait+0x0/0x90)\n"
		if err := os.WriteFile(trace, []byte("# header\n"+line+line+line), 0o644); err != nil {
			t.Error(err)
		}
	})
	if err != nil || n != 3 {
		t.Fatalf("Count = %d, %v; want 3", n, err)
	}
	got := map[string]string{}
	for _, f := range []string{"filter", "enable"} {
		b, err := os.ReadFile(filepath.Join(ev, f))
		if err != nil {
			t.Fatal(err)
		}
		got[f] = string(b)
	}
	want := map[string]string{"filter": "common_pid == " + strconv.Itoa(tid), "enable": "0"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("event files (-want +got):\n%s", d)
	}
	for _, p := range []string{filepath.Join(c.inst, "events"), trace} {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(events)
	wantDefs := "p:dioharness/dioharness_inode_dio_wait inode_dio_wait\n-:dioharness/dioharness_inode_dio_wait\n"
	if d := cmp.Diff(wantDefs, string(b)); d != "" {
		t.Errorf("kprobe_events (-want +got):\n%s", d)
	}
	if _, err := os.Stat(c.inst); !os.IsNotExist(err) {
		t.Errorf("instance %s still there: %v", c.inst, err)
	}
	// A second counter on the same function shares the instance; its
	// Close finds it gone.
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// Other failures are errors (here kprobe_events cannot be written).
	if err := os.Remove(events); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(events, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err == nil || !strings.Contains(err.Error(), "remove kprobe event") {
		t.Errorf("Close with an unwritable kprobe_events = %v, want an error", err)
	}
}

func TestCallCounterMissingTracefs(t *testing.T) {
	_, err := newCallCounterAt(t.TempDir(), "inode_dio_wait")
	if err == nil || !strings.Contains(err.Error(), "define kprobe event on inode_dio_wait") {
		t.Errorf("err = %v, want the kprobe definition failure", err)
	}
}

// TestCallCounterKernel counts real calls: fsync(2) calls vfs_fsync_range
// once, and calls by another thread are not counted.
func TestCallCounterKernel(t *testing.T) {
	requireRoot(t)
	c, err := NewCallCounter("vfs_fsync_range")
	if err != nil {
		t.Skipf("kprobe events unavailable on this kernel: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := c.Count(func() {
		for range 2 {
			if err := f.Sync(); err != nil {
				t.Error(err)
			}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread() // another thread: filtered out
			f.Sync()
		}()
		<-done
	})
	if err != nil || n != 2 {
		t.Errorf("Count = %d, %v; want 2 (two fsyncs on this thread, one on another)", n, err)
	}
}

// TestTraceAllFiles: ReturnsAll and CountAll trace every task: the
// event's filter is cleared ("0"), not set to the calling thread.
func TestTraceAllFiles(t *testing.T) {
	root := fakeTracefs(t)
	r, err := newReturnProbeAt(root, "fuse_file_cached_io_open", 32)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newCallCounterAt(root, "fuse_file_cached_io_open")
	if err != nil {
		t.Fatal(err)
	}
	rev := filepath.Join(r.inst, "events", "dioharness", r.event)
	cev := filepath.Join(c.inst, "events", "dioharness", c.event)
	os.MkdirAll(rev, 0o755)
	os.MkdirAll(cev, 0o755)
	os.WriteFile(filepath.Join(rev, "filter"), []byte("common_pid == 1"), 0o644)
	rets, err := r.ReturnsAll(func() {
		lines := "# header\n" +
			"parallel_dio_wa-71 [001] ..... 9.0: dioharness_ret_fuse_file_cached_io_open: (fuse_open+0x1/0x2 <- fuse_file_cached_io_open) ret=-4\n" +
			"parallel_dio_wa-72 [000] ..... 9.1: dioharness_ret_fuse_file_cached_io_open: (fuse_open+0x1/0x2 <- fuse_file_cached_io_open) ret=0\n"
		os.WriteFile(filepath.Join(r.inst, "trace"), []byte(lines), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.CountAll(func() {
		line := "parallel_dio_wa-71 [001] ..... 8.9: dioharness_fuse_file_cached_io_open: (fuse_file_cached_io_open+0x0/0x90)\n"
		os.WriteFile(filepath.Join(c.inst, "trace"), []byte(line), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	rfilter, _ := os.ReadFile(filepath.Join(rev, "filter"))
	cfilter, _ := os.ReadFile(filepath.Join(cev, "filter"))
	type result struct {
		Returns          []int64
		Calls            int
		RFilter, CFilter string
	}
	got := result{rets, n, string(rfilter), string(cfilter)}
	want := result{[]int64{-4, 0}, 1, "0", "0"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("tracing every task (-want +got):\n%s", d)
	}
}

// fakeTracefs is a directory laid out like the parts of tracefs a probe
// event writes to: kprobe_events and instances/.
func fakeTracefs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "kprobe_events"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "instances"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}
