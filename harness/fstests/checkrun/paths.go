package checkrun

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"dioharness/harness/fstests"
)

const (
	tracefs   = "/sys/kernel/tracing"
	pathGroup = "dioharness_fstests"
	pathInst  = "dioharness-fstests"
	// eventPrefix starts the name of each event: kprobe_profile names
	// an event without its group, so the prefix tells ours apart.
	eventPrefix = "dioh_"
	neverMatch  = "common_pid < 0"
)

// pathCounter counts every call to the Watched functions, system-wide,
// with tracefs kprobe events: a kprobe counts its hits in kprobe_profile
// before the event's filter runs, so a filter that matches nothing
// counts calls without writing a trace buffer.
type pathCounter struct {
	funcs []string
	// missing says why a function is not counted.
	missing map[string]string
}

// newPathCounter defines and arms the events; a function the kernel
// cannot probe is reported, not fatal.
func newPathCounter() *pathCounter {
	c := &pathCounter{missing: map[string]string{}}
	inst := filepath.Join(tracefs, "instances", pathInst)
	if err := os.Mkdir(inst, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		for _, fn := range fstests.Watched {
			c.missing[fn] = "no tracing instance: " + err.Error()
		}
		return c
	}
	for _, fn := range fstests.Watched {
		if err := appendTracefs(filepath.Join(tracefs, "kprobe_events"), fmt.Sprintf("p:%s/%s%s %s", pathGroup, eventPrefix, fn, fn)); err != nil && !errors.Is(err, unix.EEXIST) && !errors.Is(err, unix.EBUSY) {
			c.missing[fn] = err.Error()
			continue
		}
		ev := filepath.Join(inst, "events", pathGroup, eventPrefix+fn)
		if err := os.WriteFile(filepath.Join(ev, "filter"), []byte(neverMatch), 0); err != nil {
			c.missing[fn] = "filter: " + err.Error()
			continue
		}
		if err := os.WriteFile(filepath.Join(ev, "enable"), []byte("1"), 0); err != nil {
			c.missing[fn] = "enable: " + err.Error()
			continue
		}
		c.funcs = append(c.funcs, fn)
	}
	return c
}

// snapshot reads the hit counts of the armed functions.
func (c *pathCounter) snapshot() (map[string]uint64, error) {
	b, err := os.ReadFile(filepath.Join(tracefs, "kprobe_profile"))
	if err != nil {
		return nil, err
	}
	return parseProfile(string(b)), nil
}

// parseProfile reads kprobe_profile lines "  EVENT  HITS  MISSED" of our
// events (the kernel prints an event's name without its group; a
// GROUP/ prefix is accepted and must be ours), keyed by function.
func parseProfile(s string) map[string]uint64 {
	m := map[string]uint64{}
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			if name[:i] != pathGroup {
				continue
			}
			name = name[i+1:]
		}
		fn, ok := strings.CutPrefix(name, eventPrefix)
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			m[fn] = n
		}
	}
	return m
}

// diag is the KTAP diagnostic of the calls between two snapshots, and
// the functions that could not be counted, with why.
func (c *pathCounter) diag(before, after map[string]uint64) []string {
	var parts []string
	missing := maps.Clone(c.missing)
	for _, fn := range c.funcs {
		b, okb := before[fn]
		a, oka := after[fn]
		if !okb || !oka {
			// An armed event kprobe_profile does not list counted
			// nothing: never a zero.
			missing[fn] = "no line in kprobe_profile"
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%d", fn, a-b))
	}
	out := []string{fstests.PathPrefix + strings.Join(parts, " ")}
	var miss []string
	for fn := range missing {
		miss = append(miss, fn)
	}
	sort.Strings(miss)
	for _, fn := range miss {
		out = append(out, fmt.Sprintf("kernel path: %s not counted: %s", fn, missing[fn]))
	}
	return out
}

func appendTracefs(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
