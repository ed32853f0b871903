// Package shard splits a scenario selection across runners, so that
// several machines (a CI job matrix, a lab) each run a part of the
// catalogue, and says how to put their results back in order.
//
// The split is round robin over the selection in run order: the
// scenario at position p (counting from 0) runs in shard p mod N + 1.
// Every runner computes the same split from the same catalogue and
// SCENARIO patterns without talking to the others, neighbouring
// scenarios (which tend to share an area and a cost) land in different
// shards, and shard sizes differ by at most one.
package shard

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxCount bounds N: more shards than this is a typo, not a lab.
const MaxCount = 1000

// Shard is shard Index of Count, counting from 1. The zero value is no
// sharding: the whole selection.
type Shard struct {
	Index, Count int
}

// Parse reads "i/N" (1 <= i <= N). The empty string is no sharding.
func Parse(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("bad shard %q: want i/N, e.g. 1/2", s)
	}
	if n < 1 || n > MaxCount || i < 1 || i > n {
		return Shard{}, fmt.Errorf("bad shard %q: want 1 <= i <= N <= %d", s, MaxCount)
	}
	return Shard{Index: i, Count: n}, nil
}

// String is "i/N", or "" for no sharding.
func (s Shard) String() string {
	if s.Count == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Enabled reports whether s splits anything.
func (s Shard) Enabled() bool { return s.Count > 0 }

// Select returns this shard's part of names, in their order. No
// sharding returns names unchanged.
func (s Shard) Select(names []string) []string {
	if !s.Enabled() {
		return names
	}
	var out []string
	for p, n := range names {
		if p%s.Count == s.Index-1 {
			out = append(out, n)
		}
	}
	return out
}

// Of returns the shard that runs the scenario at position p of the
// selection when it is split in count shards.
func Of(p, count int) Shard {
	return Shard{Index: p%count + 1, Count: count}
}
