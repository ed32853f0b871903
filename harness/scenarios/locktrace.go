package scenarios

import (
	"strings"

	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// The i_rwsem trace of one write call, in the compact notation the
// scenario declarations use ("S s X ^ x").

// lockKinds are the i_rwsem events.
var lockKinds = []probe.Kind{
	probe.KindLockShared, probe.KindLockExclusive, probe.KindLockTryFailed,
	probe.KindLockUpgraded, probe.KindUnlockShared, probe.KindUnlockExclusive,
	probe.KindLockDowngrade,
}

// lockTrace renders the i_rwsem events compactly: S=shared, X=exclusive,
// ^=upgraded (exclusive after shared in one call), v=downgrade,
// s/x=unlock shared/exclusive, a "t" suffix for trylocks and "!" for a
// failed trylock.
func lockTrace(ev probe.Events) string {
	var parts []string
	for _, e := range ev.Of(lockKinds...) {
		var s string
		switch e.Kind {
		case probe.KindLockShared:
			s = "S"
		case probe.KindLockExclusive:
			s = "X"
		case probe.KindLockTryFailed:
			s = "!"
		case probe.KindLockUpgraded:
			s = "^"
		case probe.KindUnlockShared:
			s = "s"
		case probe.KindUnlockExclusive:
			s = "x"
		case probe.KindLockDowngrade:
			s = "v"
		}
		if e.Flags.Has(probe.FlagTrylock) {
			s += "t"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// wantLocks fails unless the lock trace of ev is exactly want.
func wantLocks(t *scenario.T, what string, ev probe.Events, want string) {
	if got := lockTrace(ev); got != want {
		t.Fatalf("%s: i_rwsem trace %q, want %q\n%s", what, got, want, ev)
	}
}
