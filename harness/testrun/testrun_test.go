package testrun

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/scenario"
)

func TestRunOrder(t *testing.T) {
	cat := scenario.Catalogue{
		{Name: "fuse/a"}, {Name: "fuse/b"}, {Name: "ext4/c"}, {Name: "harness/hang", Manual: true},
	}
	tests := []struct {
		patterns string
		want     []string
	}{
		{"", []string{"fuse/a", "fuse/b", "ext4/c"}},
		{"harness/hang,fuse/a", []string{"harness/hang", "fuse/a"}},
		{"ext4/*,fuse/*", []string{"ext4/c", "fuse/a", "fuse/b"}},
		{"fuse/b,fuse/*", []string{"fuse/b", "fuse/a"}},
	}
	for _, tc := range tests {
		got, err := RunOrder(cat, tc.patterns)
		if err != nil {
			t.Errorf("RunOrder(%q): %v", tc.patterns, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("RunOrder(%q) (-want +got):\n%s", tc.patterns, d)
		}
	}
	if _, err := RunOrder(cat, "fuse/a,nope"); err == nil {
		t.Errorf("runOrder with an unknown scenario succeeded")
	}
}
