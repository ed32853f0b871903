package fuse

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestFaultErrno injects error replies and checks the caller sees them.
func TestFaultErrno(t *testing.T) {
	s, mnt := mountTest(t, Config{
		Rules: []OpenRule{{Glob: "/full/*", OpenPolicy: OpenPolicy{DirectIO: true}}},
		Files: []FileSpec{{Path: "/full/f", Size: 1 << 20}, {Path: "/locked", Text: "x"}},
		Dirs:  []string{"/ro"},
	})
	tests := []struct {
		name  string
		fault Fault
		do    func() error
		want  syscall.Errno
	}{
		{
			name:  "write ENOSPC",
			fault: Fault{Match: Match{Op: OpWrite, Glob: "/full/*"}, Errno: Errno(syscall.ENOSPC)},
			do: func() error {
				f, err := os.OpenFile(filepath.Join(mnt, "full/f"), os.O_RDWR, 0)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = f.WriteAt([]byte("data"), 0)
				return err
			},
			want: syscall.ENOSPC,
		},
		{
			name:  "open EACCES",
			fault: Fault{Match: Match{Op: OpOpen, Glob: "/locked"}, Errno: Errno(syscall.EACCES)},
			do: func() error {
				f, err := os.Open(filepath.Join(mnt, "locked"))
				if err == nil {
					f.Close()
				}
				return err
			},
			want: syscall.EACCES,
		},
		{
			name:  "mkdir EROFS by glob on the new name",
			fault: Fault{Match: Match{Op: OpMkdir, Glob: "/ro/**"}, Errno: Errno(syscall.EROFS)},
			do:    func() error { return os.Mkdir(filepath.Join(mnt, "ro/sub"), 0o755) },
			want:  syscall.EROFS,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.ClearFaults()
			if err := s.SetFault(tc.fault); err != nil {
				t.Fatal(err)
			}
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	s.ClearFaults()
	if err := os.Mkdir(filepath.Join(mnt, "ro/sub"), 0o755); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
}

// TestFaultSkipCount fails only the second WRITE.
func TestFaultSkipCount(t *testing.T) {
	s, mnt := mountTest(t, Config{
		Rules:  []OpenRule{{Glob: "", OpenPolicy: OpenPolicy{DirectIO: true}}},
		Files:  []FileSpec{{Path: "/f", Size: 4096}},
		Faults: []Fault{{Name: "second", Match: Match{Op: OpWrite, Skip: 1, Count: 1}, Errno: Errno(syscall.EIO)}},
	})
	f, err := os.OpenFile(filepath.Join(mnt, "f"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	for i := range 3 {
		_, err := f.WriteAt([]byte{'a'}, int64(i))
		got = append(got, resultName(err))
	}
	if diff := cmp.Diff([]string{"OK", "EIO", "OK"}, got); diff != "" {
		t.Errorf("write results (-want +got):\n%s", diff)
	}
	var faulted []string
	for _, r := range s.Log() {
		if r.Op == OpWrite {
			faulted = append(faulted, r.Fault)
		}
	}
	if diff := cmp.Diff([]string{"", "second", ""}, faulted); diff != "" {
		t.Errorf("logged faults (-want +got):\n%s", diff)
	}
}

func resultName(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		return Errno(e).Name()
	}
	if err != nil {
		return err.Error()
	}
	return "OK"
}

// TestFaultDelay delays READs; the caller and the log see the delay.
func TestFaultDelay(t *testing.T) {
	const delay = 150 * time.Millisecond
	s, mnt := mountTest(t, Config{
		Rules:  []OpenRule{{Glob: "/slow", OpenPolicy: OpenPolicy{DirectIO: true}}},
		Files:  []FileSpec{{Path: "/slow", Text: "zzz"}, {Path: "/fast", Text: "fff"}},
		Faults: []Fault{{Name: "slow-read", Match: Match{Op: OpRead, Glob: "/slow"}, Delay: Duration(delay)}},
	})
	start := time.Now()
	b, err := os.ReadFile(filepath.Join(mnt, "slow"))
	if err != nil || string(b) != "zzz" {
		t.Fatalf("read %q, %v", b, err)
	}
	if el := time.Since(start); el < delay {
		t.Errorf("read took %v, want >= %v", el, delay)
	}
	id, _ := s.NodeID("/slow")
	reads := opsOn(s, OpRead, id)
	if len(reads) == 0 || reads[0].Duration() < delay || reads[0].Fault != "slow-read" {
		t.Errorf("READ records %+v", reads)
	}
	start = time.Now()
	if _, err := os.ReadFile(filepath.Join(mnt, "fast")); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el >= delay {
		t.Errorf("unmatched read took %v", el)
	}
}

// TestGateSkipAndWaitCount holds only the second matching request and uses
// WaitCount to see the first one complete.
func TestGateSkipAndWaitCount(t *testing.T) {
	s, mnt := mountTest(t, Config{
		Rules: []OpenRule{{Glob: "", OpenPolicy: OpenPolicy{DirectIO: true}}},
		Files: []FileSpec{{Path: "/f", Size: 4096}},
	})
	if err := s.ArmGateSpec(GateSpec{Name: "second", Match: Match{Op: OpWrite, Glob: "/f", Skip: 1}}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(mnt, "f"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("1"), 0); err != nil { // skipped by the gate
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.WriteAt([]byte("2"), 1)
		done <- err
	}()
	if _, err := s.WaitHeld("second", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("held write returned early: %v", err)
	default:
	}
	if _, err := s.WaitCount(OpWrite, 2, time.Second); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DisarmGate("second"); err != nil || n != 1 {
		t.Fatalf("DisarmGate = %d, %v", n, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := s.Release("second", 1); !errors.Is(err, ErrNoGate) {
		t.Errorf("Release on disarmed gate: %v", err)
	}
	b, _ := s.FileContent("/f")
	if string(b[:2]) != "12" {
		t.Errorf("content %q", b[:2])
	}
}
