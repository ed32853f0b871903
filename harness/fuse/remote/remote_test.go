package remote

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"dioharness/harness/fuse"
)

// setup mounts an in-process server (the workload here never mmaps, so the
// same process is fine) and serves control on a unix socket.
func setup(t *testing.T, cfg fuse.Config) (*Client, *fuse.Server, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting FUSE needs root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no /dev/fuse: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := fuse.Mount(ctx, t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- Serve(ln, s) }()
	c, err := Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		s.Close()
		ln.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return c, s, s.Mountpoint()
}

func TestClientControl(t *testing.T) {
	c, _, mnt := setup(t, fuse.Config{Workers: 4, Files: []fuse.FileSpec{{Path: "/f", Size: 2 << 20}}})

	info, err := c.Info()
	if err != nil || info.Mountpoint != mnt || info.Init.Minor == 0 {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if err := c.SetRules(fuse.OpenRule{Glob: "/f", OpenPolicy: fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true}}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddRule(fuse.OpenRule{Glob: "**", OpenPolicy: fuse.OpenPolicy{KeepCache: true}}); err != nil {
		t.Fatal(err)
	}
	if rules, err := c.Rules(); err != nil || len(rules) != 2 {
		t.Fatalf("Rules = %v, %v", rules, err)
	}
	if err := c.ArmGate("w", fuse.OpWrite, "/f"); err != nil {
		t.Fatal(err)
	}
	if err := c.ResetStats(); err != nil {
		t.Fatal(err)
	}

	// Two parallel direct writers are held together at the gate.
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.OpenFile(filepath.Join(mnt, "f"), os.O_RDWR|unix.O_DIRECT, 0)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			if _, err := f.WriteAt(bytes.Repeat([]byte{byte('a' + i)}, 4096), int64(i)*8192); err != nil {
				t.Error(err)
			}
		}()
	}
	if held, err := c.WaitHeld("w", 2, 10*time.Second); err != nil || held != 2 {
		t.Fatalf("WaitHeld = %d, %v", held, err)
	}
	if held, err := c.WaitHeld("w", 3, 50*time.Millisecond); !errors.Is(err, fuse.ErrWaitTimeout) || held != 2 {
		t.Fatalf("WaitHeld(3) = %d, %v; want 2 and ErrWaitTimeout", held, err)
	}
	st, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.NodeID("/f")
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := st.Gate("w"); g.Held != 2 || st.CurrentInFlight(id, fuse.OpWrite) != 2 {
		t.Errorf("stats %+v", st)
	}
	if p, err := c.Pending(); err != nil || len(p) != 2 || p[0].Gate != "w" || p[1].Gate != "w" || p[0].Op != fuse.OpWrite {
		t.Errorf("Pending = %+v, %v; want the two WRITEs held at w", p, err)
	}
	if n, err := c.Release("w", 1); err != nil || n != 1 {
		t.Fatalf("Release = %d, %v", n, err)
	}
	if n, err := c.ReleaseAll("w"); err != nil || n != 1 {
		t.Fatalf("ReleaseAll = %d, %v", n, err)
	}
	wg.Wait()
	if st, err := c.WaitCount(fuse.OpWrite, 2, time.Second); err != nil || st.MaxInFlight(id, fuse.OpWrite) != 2 {
		t.Errorf("WaitCount: max %d, %v", st.MaxInFlight(id, fuse.OpWrite), err)
	}
	log, err := c.Log()
	if err != nil {
		t.Fatal(err)
	}
	var gated int
	for _, r := range log {
		if r.Op == fuse.OpWrite && r.Gate == "w" && !r.End.IsZero() {
			gated++
		}
	}
	if gated != 2 {
		t.Errorf("%d completed gated WRITEs in the log", gated)
	}
	if _, err := c.DisarmGate("w"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Release("w", 1); !errors.Is(err, fuse.ErrNoGate) {
		t.Errorf("Release of disarmed gate: %v", err)
	}

	// Faults travel too.
	if err := c.SetFault(fuse.Fault{Match: fuse.Match{Op: fuse.OpMkdir}, Errno: fuse.Errno(unix.EDQUOT)}); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(mnt, "d"), 0o755); !errors.Is(err, unix.EDQUOT) {
		t.Errorf("mkdir with fault: %v", err)
	}
	if err := c.ClearFaults(); err != nil {
		t.Fatal(err)
	}

	// Server-side store access.
	if err := c.WriteFile("/dir/g", []byte("from the scenario")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "dir/g")); err != nil || string(b) != "from the scenario" {
		t.Errorf("read of remote-written file: %q, %v", b, err)
	}
	if err := c.CreateFile(fuse.FileSpec{Path: "/sparse", Data: []byte("x"), Size: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	if err := c.Mkdir("/m/n"); err != nil {
		t.Fatal(err)
	}
	got, err := c.FileContent("/f")
	if err != nil {
		t.Fatal(err)
	}
	want := append(bytes.Repeat([]byte{'a'}, 4096), make([]byte, 4096)...)
	want = append(want, bytes.Repeat([]byte{'b'}, 4096)...)
	if diff := cmp.Diff(want, got[:len(want)]); diff != "" {
		t.Errorf("FileContent (-want +got):\n%s", diff)
	}
	if _, err := c.FileContent("/missing"); err == nil {
		t.Error("FileContent of a missing file succeeded")
	}
}
