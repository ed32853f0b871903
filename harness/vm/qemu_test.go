package vm

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAccelArg(t *testing.T) {
	for _, tc := range []struct {
		accel string
		cpus  int
		want  string
	}{
		// Multi-threaded TCG runs stale INT3s after text patching.
		{"tcg", 2, "tcg,thread=single"},
		{"tcg", 8, "tcg,thread=single"},
		// One vCPU has no other thread to race with.
		{"tcg", 1, "tcg"},
		{"kvm", 2, "kvm"},
	} {
		c := Config{Accel: tc.accel, CPUs: tc.cpus}
		a := c.args("con", "agent")
		i := slices.Index(a, "-accel")
		if i < 0 || i+1 >= len(a) {
			t.Fatalf("%s/%d: no -accel in %q", tc.accel, tc.cpus, a)
		}
		if diff := cmp.Diff(tc.want, a[i+1]); diff != "" {
			t.Errorf("%s with %d CPUs: -accel (-want +got):\n%s", tc.accel, tc.cpus, diff)
		}
	}
}
