package mutagen

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Area is a part of the kernel whose covered functions are mutated, and
// the scenario areas a mutant of it boots with.
type Area struct {
	// Name is what the report groups by ("fs/fuse").
	Name string
	// Files are the kernel files (tree paths) of the area.
	Files []string
	// Scenarios are the catalogue areas a mutant of this area runs.
	Scenarios []string
	// Quota is how many mutants of this area a run samples.
	Quota int
}

// Areas are the mutated parts of the kernel: the FUSE file and io-mode
// code, iomap direct I/O, the page-cache helpers of mm/filemap.c and
// the direct-write paths of ext4 and XFS. A mutant boots with the
// scenarios of the filesystems that run its code, the workloads among
// them.
var Areas = []Area{
	{Name: "fs/fuse", Files: []string{"fs/fuse/file.c", "fs/fuse/iomode.c"}, Scenarios: []string{"fuse"}, Quota: 20},
	{Name: "fs/iomap", Files: []string{"fs/iomap/direct-io.c"}, Scenarios: []string{"ext4", "xfs"}, Quota: 12},
	{Name: "mm/filemap.c", Files: []string{"mm/filemap.c"}, Scenarios: []string{"fuse", "ext4", "xfs"}, Quota: 12},
	{Name: "ext4", Files: []string{"fs/ext4/file.c"}, Scenarios: []string{"ext4"}, Quota: 12},
	{Name: "xfs", Files: []string{"fs/xfs/xfs_file.c", "fs/xfs/xfs_iomap.c"}, Scenarios: []string{"xfs"}, Quota: 12},
}

// AreaOf returns the area a tree file belongs to.
func AreaOf(file string) (Area, bool) {
	for _, a := range Areas {
		if slices.Contains(a.Files, file) {
			return a, true
		}
	}
	return Area{}, false
}

// unreachable names functions of features the guests never use: DAX
// (no persistent memory), zoned XFS (no zoned device) and atomic writes
// (no RWF_ATOMIC caller). Their mutants would be equivalent by
// configuration, so they are no targets.
var unreachable = regexp.MustCompile(`dax|zoned|atomic`)

// ProbeTargets reads the attach points of BPF objects from their
// section names: functions (fentry/, fexit/, kprobe/, kretprobe/,
// fmod_ret/) and tracepoints (tp_btf/, tracepoint/<sys>/).
func ProbeTargets(objects []string) (funcs, tracepoints []string, err error) {
	for _, p := range objects {
		f, err := elf.Open(p)
		if err != nil {
			return nil, nil, fmt.Errorf("mutagen: probe object: %w", err)
		}
		for _, s := range f.Sections {
			kind, name, ok := strings.Cut(s.Name, "/")
			if !ok || name == "" {
				continue
			}
			switch kind {
			case "fentry", "fexit", "kprobe", "kretprobe", "fmod_ret":
				funcs = append(funcs, name)
			case "tp_btf":
				tracepoints = append(tracepoints, name)
			case "tracepoint", "tp":
				if _, ev, ok := strings.Cut(name, "/"); ok {
					tracepoints = append(tracepoints, ev)
				}
			}
		}
		f.Close()
	}
	slices.Sort(funcs)
	slices.Sort(tracepoints)
	return slices.Compact(funcs), slices.Compact(tracepoints), nil
}

var (
	diffFile = regexp.MustCompile(`^\+\+\+ b/(.+)$`)
	diffHunk = regexp.MustCompile(`^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@`)
)

// HunkLines reads a unified diff with no context (git diff -U0) and
// returns, per file, the 1-based lines of the new file that a hunk
// changes (for a pure deletion, the line after it).
func HunkLines(diff string) (map[string][]int, error) {
	out := map[string][]int{}
	file := ""
	sc := bufio.NewScanner(strings.NewReader(diff))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		l := sc.Text()
		if m := diffFile.FindStringSubmatch(l); m != nil {
			file = m[1]
			continue
		}
		m := diffHunk.FindStringSubmatch(l)
		if m == nil || file == "" {
			continue
		}
		start, _ := strconv.Atoi(m[1])
		n := 1
		if m[2] != "" {
			n, _ = strconv.Atoi(m[2])
		}
		if n == 0 {
			out[file] = append(out[file], start+1)
			continue
		}
		for k := 0; k < n; k++ {
			out[file] = append(out[file], start+k)
		}
	}
	return out, sc.Err()
}

// Target is a function the catalogue claims to cover.
type Target struct {
	File, Func string
	// Why: "probe fexit/fuse_direct_io", "tracepoint iomap_dio_complete",
	// "series hunk", "called by fuse_direct_write_iter".
	Why string
}

// source is one file of the tree, split in lines, and its functions.
type source struct {
	lines []string
	funcs []Func
}

func readSource(tree, file string) (source, error) {
	b, err := os.ReadFile(filepath.Join(tree, file))
	if err != nil {
		return source{}, fmt.Errorf("mutagen: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	return source{lines: lines, funcs: Functions(lines)}, nil
}

var callee = regexp.MustCompile(`\b([A-Za-z_][A-Za-z0-9_]*)\s*\(`)

// FindTargets lists the functions of the areas' files that the probes
// attach to (or whose body fires a probed tracepoint), that a series
// hunk changes, and those they call in the same file up to depth
// levels down.
func FindTargets(tree string, areas []Area, probeFuncs, tracepoints []string, hunks map[string][]int, depth int) ([]Target, map[string]source, error) {
	srcs := map[string]source{}
	var out []Target
	seen := map[string]bool{}
	add := func(file, fn, why string) bool {
		k := file + ":" + fn
		if seen[k] || unreachable.MatchString(fn) {
			return false
		}
		seen[k] = true
		out = append(out, Target{File: file, Func: fn, Why: why})
		return true
	}
	for _, a := range areas {
		for _, file := range a.Files {
			s, err := readSource(tree, file)
			if err != nil {
				return nil, nil, err
			}
			srcs[file] = s
			var level []string
			for _, f := range s.funcs {
				why := ""
				if slices.Contains(probeFuncs, f.Name) {
					why = "probe on " + f.Name
				}
				for _, tp := range tracepoints {
					if why == "" && bodyCalls(s.lines, f, "trace_"+tp) {
						why = "tracepoint " + tp
					}
				}
				for _, l := range hunks[file] {
					if why == "" && l-1 > f.Open && l-1 < f.Close {
						why = "series hunk"
					}
				}
				if why != "" && add(file, f.Name, why) {
					level = append(level, f.Name)
				}
			}
			for d := 0; d < depth && len(level) > 0; d++ {
				var next []string
				for _, name := range level {
					f, _ := Named(s.funcs, name)
					for _, m := range callee.FindAllStringSubmatch(strings.Join(s.lines[f.Open+1:f.Close], "\n"), -1) {
						if _, ok := Named(s.funcs, m[1]); ok && add(file, m[1], "called by "+name) {
							next = append(next, m[1])
						}
					}
				}
				level = next
			}
		}
	}
	return out, srcs, nil
}

func bodyCalls(lines []string, f Func, name string) bool {
	for i := f.Open + 1; i < f.Close; i++ {
		if strings.Contains(lines[i], name+"(") {
			return true
		}
	}
	return false
}
