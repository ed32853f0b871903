package debian

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestChoose(t *testing.T) {
	const pkg = "linux-source-7.3"
	tests := []struct {
		name     string
		recorded string
		served   []string
		want     Choice
		wantErr  bool
	}{
		{
			name: "recorded still served", recorded: "7.3.4-1~bpo13+1",
			served: []string{"7.3.5-1~bpo13+1", "7.3.4-1~bpo13+1"},
			want:   Choice{Package: pkg, Version: "7.3.4-1~bpo13+1", Recorded: "7.3.4-1~bpo13+1"},
		},
		{
			name: "replaced by a newer point release", recorded: "7.3.4-1~bpo13+1",
			served: []string{"7.3.9-1~bpo13+1", "7.3.10-1~bpo13+1"},
			want: Choice{Package: pkg, Version: "7.3.10-1~bpo13+1", Recorded: "7.3.4-1~bpo13+1",
				Note: "linux-source-7.3 7.3.4-1~bpo13+1 is no longer served; using the newest served 7.3.10-1~bpo13+1 (newer)"},
		},
		{
			name: "only an older one left", recorded: "7.3.4-1~bpo13+1",
			served: []string{"7.3.2-1~bpo13+1"},
			want: Choice{Package: pkg, Version: "7.3.2-1~bpo13+1", Recorded: "7.3.4-1~bpo13+1",
				Note: "linux-source-7.3 7.3.4-1~bpo13+1 is no longer served; using the newest served 7.3.2-1~bpo13+1 (older)"},
		},
		{name: "nothing served", recorded: "7.3.4-1~bpo13+1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Choose(pkg, tc.recorded, tc.served)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Choose (-want +got):\n%s", d)
			}
			if got.Drifted() != (tc.want.Version != tc.recorded) {
				t.Errorf("Drifted() = %v", got.Drifted())
			}
		})
	}
}

// TestLockedExcludesOtherProcesses: while one caller holds the private
// apt state, another open of the lock file (as another process makes)
// cannot take it; afterwards it can.
func TestLockedExcludesOtherProcesses(t *testing.T) {
	a := &Archive{Dir: t.TempDir()}
	try := func() error {
		f, err := os.OpenFile(filepath.Join(a.Dir, "apt.lock"), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			unix.Flock(int(f.Fd()), unix.LOCK_UN)
		}
		return err
	}
	ran := false
	err := a.locked(func() error {
		ran = true
		if err := try(); !errors.Is(err, unix.EWOULDBLOCK) {
			t.Errorf("another lock while held: %v, want EWOULDBLOCK", err)
		}
		return nil
	})
	if err != nil || !ran {
		t.Fatalf("locked: ran %v, err %v", ran, err)
	}
	if err := try(); err != nil {
		t.Errorf("lock after release: %v", err)
	}
}
