package shard

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr bool
	}{
		{in: "", want: Shard{}},
		{in: "1/1", want: Shard{Index: 1, Count: 1}},
		{in: "2/3", want: Shard{Index: 2, Count: 3}},
		{in: "0/2", wantErr: true},
		{in: "3/2", wantErr: true},
		{in: "1/0", wantErr: true},
		{in: "1/1001", wantErr: true},
		{in: "1", wantErr: true},
		{in: "a/2", wantErr: true},
		{in: "1/2/3", wantErr: true},
		{in: "-1/2", wantErr: true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("Parse(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("Parse(%q).String() = %q", tt.in, got.String())
		}
	}
}

// TestSelectPartitions checks that the shards of any selection are
// disjoint, cover it, keep its order, differ in size by at most one,
// and agree with Of.
func TestSelectPartitions(t *testing.T) {
	for _, size := range []int{0, 1, 2, 5, 38} {
		names := make([]string, size)
		for i := range names {
			names[i] = fmt.Sprintf("s%02d", i)
		}
		for n := 1; n <= 6; n++ {
			seen := map[string]Shard{}
			minLen, maxLen := size, 0
			for i := 1; i <= n; i++ {
				sh := Shard{Index: i, Count: n}
				part := sh.Select(names)
				minLen, maxLen = min(minLen, len(part)), max(maxLen, len(part))
				for j, name := range part {
					if prev, dup := seen[name]; dup {
						t.Errorf("size %d: %s in shards %s and %s", size, name, prev, sh)
					}
					seen[name] = sh
					if j > 0 && part[j-1] >= name {
						t.Errorf("size %d shard %s: order broken at %s", size, sh, name)
					}
				}
			}
			if len(seen) != size {
				t.Errorf("size %d in %d shards: %d scenarios covered", size, n, len(seen))
			}
			if size > 0 && maxLen-minLen > 1 {
				t.Errorf("size %d in %d shards: sizes from %d to %d", size, n, minLen, maxLen)
			}
			for p, name := range names {
				if got := Of(p, n); got != seen[name] {
					t.Errorf("Of(%d, %d) = %s, Select put %s in %s", p, n, got, name, seen[name])
				}
			}
		}
	}
}

func TestSelectNoShard(t *testing.T) {
	names := []string{"a", "b"}
	if diff := cmp.Diff(names, Shard{}.Select(names)); diff != "" {
		t.Errorf("no shard changed the selection (-want +got):\n%s", diff)
	}
}
