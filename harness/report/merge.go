package report

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"dioharness/harness/kbase"
	"dioharness/harness/shard"
)

// Merge joins runs that each hold part of one selection (the shards of
// harness qemu-test -shard, or runs of disjoint scenario sets) into one
// run per kernel, in the order the kernels first appear.
//
// order is the selection in run order (the order one whole run would
// have used); merged scenarios follow it, the k-th occurrence of every
// scenario after all (k-1)-th ones, so a REPEAT run merges back to the
// order it ran in. Scenarios not in order follow in input order.
//
// Runs of one kernel must agree on the kernel they booted, must not
// share a scenario, and when sharded must be every shard of one split
// exactly once: a merged run never hides a runner that did not report.
// The merged run starts with the earliest shard and lasts until the
// last one ended; infrastructure errors are kept, each naming its shard.
func Merge(order []string, runs ...Run) ([]Run, error) {
	var variants []kbase.Variant
	groups := map[kbase.Variant][]Run{}
	for _, r := range runs {
		if _, ok := groups[r.Variant]; !ok {
			variants = append(variants, r.Variant)
		}
		groups[r.Variant] = append(groups[r.Variant], r)
	}
	pos := map[string]int{}
	for i, n := range order {
		if _, ok := pos[n]; !ok {
			pos[n] = i
		}
	}
	var out []Run
	for _, v := range variants {
		m, err := mergeKernel(pos, groups[v])
		if err != nil {
			return nil, fmt.Errorf("merge %s: %w", v, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// mergeKernel merges the runs of one kernel.
func mergeKernel(pos map[string]int, runs []Run) (Run, error) {
	if err := checkShards(runs); err != nil {
		return Run{}, err
	}
	m := Run{Variant: runs[0].Variant}
	owner := map[string]string{}
	var end time.Time
	var infra []string
	type placed struct {
		s          Scenario
		rep, pos   int
		input, seq int
	}
	var all []placed
	for i, r := range runs {
		who := runName(r, i)
		for _, f := range []struct {
			dst  *string
			src  string
			what string
		}{{&m.Kernel, r.Kernel, "kernel"}, {&m.Source, r.Source, "source"}, {&m.Note, r.Note, "note"}} {
			switch {
			case f.src == "":
			case *f.dst == "":
				*f.dst = f.src
			case *f.dst != f.src:
				return Run{}, fmt.Errorf("%s has %s %q, another run %q: runs of different builds do not merge", who, f.what, f.src, *f.dst)
			}
		}
		if m.Started.IsZero() || r.Started.Before(m.Started) {
			m.Started = r.Started
		}
		if e := r.Started.Add(r.Duration); e.After(end) {
			end = e
		}
		if r.Infra != "" {
			infra = append(infra, r.Infra)
			if len(runs) > 1 {
				infra[len(infra)-1] = who + ": " + r.Infra
			}
		}
		m.KernelReports = append(m.KernelReports, r.KernelReports...)
		reps := map[string]int{}
		for j, s := range r.Scenarios {
			if prev, ok := owner[s.Name]; ok && prev != who {
				return Run{}, fmt.Errorf("scenario %s is in %s and in %s: the runs overlap", s.Name, prev, who)
			}
			owner[s.Name] = who
			p, known := pos[s.Name]
			if !known {
				p = len(pos)
			}
			all = append(all, placed{s: s, rep: reps[s.Name], pos: p, input: i, seq: j})
			reps[s.Name]++
		}
	}
	m.Duration = end.Sub(m.Started)
	m.Infra = strings.Join(infra, "\n")
	slices.SortStableFunc(all, func(a, b placed) int {
		return cmp.Or(cmp.Compare(a.rep, b.rep), cmp.Compare(a.pos, b.pos), cmp.Compare(a.input, b.input), cmp.Compare(a.seq, b.seq))
	})
	for _, p := range all {
		m.Scenarios = append(m.Scenarios, p.s)
	}
	return m, nil
}

// checkShards insists that sharded runs of one kernel are every shard
// of one split, each once, and are not mixed with whole runs.
func checkShards(runs []Run) error {
	count := 0
	have := map[int]bool{}
	for _, r := range runs {
		if r.Shard == "" {
			continue
		}
		s, err := shard.Parse(r.Shard)
		if err != nil {
			return err
		}
		if !s.Enabled() {
			continue
		}
		if count != 0 && s.Count != count {
			return fmt.Errorf("shards of different splits: %s and %d shards", s, count)
		}
		count = s.Count
		if have[s.Index] {
			return fmt.Errorf("shard %s given twice", s)
		}
		have[s.Index] = true
	}
	if count == 0 {
		return nil
	}
	if len(have) != len(runs) {
		return errors.New("sharded and whole runs mixed: merge the shards of one split")
	}
	var missing []string
	for i := 1; i <= count; i++ {
		if !have[i] {
			missing = append(missing, shard.Shard{Index: i, Count: count}.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("shard %s missing: every runner's results are needed", strings.Join(missing, ", "))
	}
	return nil
}

// runName names a run in merge errors: its shard, or its position.
func runName(r Run, i int) string {
	if r.Shard != "" {
		return "shard " + r.Shard
	}
	return fmt.Sprintf("run %d", i+1)
}
