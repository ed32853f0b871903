package main

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRunOutput: a concurrent run's progress lines go out whole as they
// complete, however the writes split them; its table is kept for the end.
func TestRunOutput(t *testing.T) {
	for _, tc := range []struct {
		name        string
		writes      []string
		live, table string
	}{
		{
			name:   "progress and table",
			writes: []string{"v7.3/base: booting 7.3.4+ under TCG, 2 scenarios\n", "v7.3/base: ok    fuse/a  1.0s\n", "dioharness v7.3/base run\nSCENARIO  AREA\n", "results: r\n"},
			live:   "v7.3/base: booting 7.3.4+ under TCG, 2 scenarios\nv7.3/base: ok    fuse/a  1.0s\n",
			table:  "dioharness v7.3/base run\nSCENARIO  AREA\nresults: r\n",
		},
		{
			name:   "a line split across writes",
			writes: []string{"v7.3/ba", "se: guest agent up", " after 20s\nkernel v7.3/base: from the cache\n"},
			live:   "v7.3/base: guest agent up after 20s\nkernel v7.3/base: from the cache\n",
		},
		{
			name:   "an unfinished line stays back",
			writes: []string{"v7.3/base: ok\nv7.3/base: half"},
			live:   "v7.3/base: ok\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var live, table bytes.Buffer
			r := &runOutput{lines: &lineWriter{dst: &live}, prefix: "v7.3/base: ", table: &table}
			for _, w := range tc.writes {
				if n, err := r.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if diff := cmp.Diff(tc.live, live.String()); diff != "" {
				t.Errorf("live lines (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.table, table.String()); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}
		})
	}
}
