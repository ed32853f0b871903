package fuse

import (
	"context"
	"os"
	"testing"
	"time"
)

// requireFuse skips tests that need to mount when the machine cannot.
func requireFuse(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting FUSE needs root")
	}
	if _, err := os.Stat(devFusePath); err != nil {
		t.Skipf("no %s: %v", devFusePath, err)
	}
}

// mountTest mounts a server on a fresh directory and closes it at cleanup.
func mountTest(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	requireFuse(t)
	dir := t.TempDir()
	if cfg.Logf == nil {
		cfg.Logf = func(format string, args ...any) { t.Logf("fuse: "+format, args...) }
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Mount(ctx, dir, cfg)
	if err != nil {
		t.Fatalf("Mount: %v", err)
	}
	t.Cleanup(func() {
		// Logging after the test ends panics; silence the server first.
		s.cfg.Logf = nil
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, s.Mountpoint()
}
