package fuse

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mounted reports whether dir is a mount point in /proc/self/mountinfo.
func mounted(t *testing.T, dir string) bool {
	t.Helper()
	b, err := os.ReadFile(mountinfoPath)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), " "+dir+" ")
}

// holdWrite starts a direct write on /f that a gate holds, and returns a
// channel with the write's result.
func holdWrite(t *testing.T, s *Server, mnt string) <-chan error {
	t.Helper()
	if err := s.ArmGate("hold", OpWrite, "/f"); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(mnt, "f"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.WriteAt([]byte("x"), 0)
		f.Close()
		done <- err
	}()
	if _, err := s.WaitHeld("hold", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	return done
}

var directAll = []OpenRule{{Glob: "", OpenPolicy: OpenPolicy{DirectIO: true}}}

// TestCloseWithHeldRequest: Close returns while a request is held, the
// caller is released, the mount is gone and no server goroutine is left.
func TestCloseWithHeldRequest(t *testing.T) {
	requireFuse(t)
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	s, err := Mount(t.Context(), dir, Config{Workers: 3, Rules: directAll, Files: []FileSpec{{Path: "/f", Size: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	done := holdWrite(t, s, dir)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs with a held request")
	}
	select {
	case err := <-done:
		t.Logf("held write returned %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("writer still blocked after Close")
	}
	if mounted(t, s.Mountpoint()) {
		t.Error("still mounted after Close")
	}
	// Goroutines that signalled their WaitGroup may take a moment to be
	// gone from the count; bound the check instead of racing it.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestAbort aborts the connection with a request held: the caller gets
// ENOTCONN, the workers stop, and Close still cleans up.
func TestAbort(t *testing.T) {
	s, mnt := mountTest(t, Config{Rules: directAll, Files: []FileSpec{{Path: "/f", Size: 10}}})
	done := holdWrite(t, s, mnt)
	if err := s.Abort(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, syscall.ENOTCONN) && !errors.Is(err, syscall.ECONNABORTED) {
			t.Errorf("held write after abort: %v, want ENOTCONN", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("held write not failed by abort")
	}
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("workers still running after abort")
	}
	var st unix.Stat_t
	if err := unix.Stat(mnt, &st); !errors.Is(err, syscall.ENOTCONN) {
		t.Errorf("stat after abort: %v, want ENOTCONN", err)
	}
}

// TestExternalUnmount: unmounting from outside ends serving without error.
func TestExternalUnmount(t *testing.T) {
	s, mnt := mountTest(t, Config{})
	if err := unix.Unmount(mnt, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("workers still running after unmount")
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err after unmount: %v", err)
	}
}

// TestClonedWorkers: with several workers every request is read from one of
// the cloned descriptors, and concurrent load spreads over more than one.
func TestClonedWorkers(t *testing.T) {
	s, mnt := mountTest(t, Config{Workers: 4, Files: []FileSpec{{Path: "/f", Text: "x"}}})
	s.mu.Lock()
	ndev := len(s.devs)
	s.mu.Unlock()
	if ndev != 4 {
		t.Fatalf("%d device descriptors, want 4", ndev)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				os.Stat(filepath.Join(mnt, "f"))
			}
		}()
	}
	wg.Wait()
	workers := map[int]bool{}
	for _, r := range s.Log() {
		workers[r.Worker] = true
	}
	if len(workers) < 2 {
		t.Errorf("requests served by workers %v, want several", workers)
	}
}
