package scenarios

import (
	"testing"

	"dioharness/harness/probe"
)

func TestLockTrace(t *testing.T) {
	ev := func(k probe.Kind, f probe.Flags) probe.Event { return probe.Event{Kind: k, Flags: f} }
	tests := []struct {
		name string
		ev   probe.Events
		want string
	}{
		{"no events", nil, ""},
		{"aligned overwrite", probe.Events{
			ev(probe.KindWriteEnter, 0), ev(probe.KindLockShared, 0), ev(probe.KindDIOBegin, 0),
			ev(probe.KindUnlockShared, 0), ev(probe.KindWriteExit, 0),
		}, "S s"},
		{"ext4 restart upgrades", probe.Events{
			ev(probe.KindLockShared, 0), ev(probe.KindUnlockShared, 0), ev(probe.KindLockExclusive, probe.FlagUpgraded),
			ev(probe.KindLockUpgraded, 0), ev(probe.KindUnlockExclusive, 0),
		}, "S s X ^ x"},
		{"RWF_NOWAIT trylocks", probe.Events{
			ev(probe.KindLockShared, probe.FlagTrylock), ev(probe.KindUnlockShared, 0),
			ev(probe.KindLockTryFailed, probe.FlagTrylock|probe.FlagFailed),
		}, "St s !t"},
		{"XFS demotion", probe.Events{
			ev(probe.KindLockExclusive, 0), ev(probe.KindLockDowngrade, 0), ev(probe.KindUnlockShared, 0),
		}, "X v s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := lockTrace(tc.ev); got != tc.want {
				t.Errorf("lockTrace = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestKib(t *testing.T) {
	for n, want := range map[int64]string{0: "0 KiB", 4096: "4 KiB", 1 << 20: "1024 KiB", 512: "512 B", 4097: "4097 B"} {
		if got := kib(n); got != want {
			t.Errorf("kib(%d) = %q, want %q", n, got, want)
		}
	}
}
