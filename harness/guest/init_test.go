package guest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		in   string
		want Cmdline
	}{
		{"console=ttyS0 rdinit=/init", Cmdline{Flavour: "custom", Repeat: 1}},
		{"dioharness.run=fuse/a,ext4/* dioharness.flavour=base dioharness.repeat=5", Cmdline{Run: "fuse/a,ext4/*", Flavour: "base", Repeat: 5}},
		{"dioharness.probe=1 dioharness.repeat=0", Cmdline{Flavour: "custom", Probe: true, Repeat: 1}},
	}
	for _, tc := range tests {
		if d := cmp.Diff(tc.want, ParseCmdline(tc.in)); d != "" {
			t.Errorf("ParseCmdline(%q) (-want +got):\n%s", tc.in, d)
		}
	}
}
