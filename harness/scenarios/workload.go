package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/fuse"
	"dioharness/harness/guestproto"
	"dioharness/harness/invariant"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
	"dioharness/harness/workload"
)

// Seeded workloads (harness/workload): random operation sequences on one
// file checked against a model after every operation, with the kernel
// rules held on the probe trace of each run. The catalogue has fixed
// seeds per setup (make workloads; manual, so not in make test);
// mixed/fuzz runs as many as the plan asks (make fuzz).

// workloadSeeds are the seeds every catalogue run replays, and
// workloadOps the length of each sequence.
var workloadSeeds = []uint64{1, 2, 3}

const workloadOps = 60

// shrinkBudget bounds the reruns that shorten a failing sequence.
const shrinkBudget = 40

// setup is one filesystem configuration a workload runs on.
type setup struct {
	name string
	// area is the catalogue area its scenario belongs to.
	area  string
	about string
	mount func(t *scenario.T) workload.Target
}

// fuseSetup is the test server with every workload file under /w* opened
// with pol; FUSE_ASYNC_DIO lets libaio writes complete asynchronously.
func fuseSetup(name, about string, pol fuse.OpenPolicy, caps fuse.Capabilities) setup {
	return setup{name: name, area: "fuse", about: about, mount: func(t *scenario.T) workload.Target {
		caps.AsyncDIO = true
		m := t.FUSE(fuse.Config{Capabilities: caps, Rules: []fuse.OpenRule{{Glob: "/w*", OpenPolicy: pol}}})
		return workload.Target{
			Name: name, Dir: m.Dir, Exe: t.Env().Exe,
			Profile: workload.Profile{DIOAlign: 1, Block: page, MaxSize: 192 << 10,
				SharedMmap: !pol.DirectIO || caps.DirectIOAllowMmap},
			Stored:     func(f string) ([]byte, error) { return m.FileContent("/" + f) },
			DropCaches: dropCaches,
		}
	}}
}

// diskSetup is a block filesystem of the plan, fresh for the scenario.
func diskSetup(disk string) setup {
	return setup{name: disk, area: disk, about: disk + " on its own disk", mount: func(t *scenario.T) workload.Target {
		mnt := t.Disk(disk, "")
		var st unix.Statfs_t
		t.Check(unix.Statfs(mnt, &st), "statfs %s", mnt)
		return workload.Target{
			Name: disk, Dir: mnt, Exe: t.Env().Exe,
			Profile: workload.Profile{DIOAlign: 512, Block: int64(st.Bsize), MaxSize: 192 << 10,
				SharedMmap: true, BadDirect: 5},
			DropCaches: dropCaches,
		}
	}}
}

var (
	fuseCached = fuseSetup("fuse-cached", "the test server with the page cache (no FOPEN flags)", fuse.OpenPolicy{}, fuse.Capabilities{})
	fuseDirect = fuseSetup("fuse-direct", "the test server with FOPEN_DIRECT_IO|FOPEN_PARALLEL_DIRECT_WRITES and FUSE_DIRECT_IO_ALLOW_MMAP",
		fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true}, fuse.Capabilities{DirectIOAllowMmap: true})
	fuseWriteback = fuseSetup("fuse-writeback", "the test server with FUSE_WRITEBACK_CACHE", fuse.OpenPolicy{}, fuse.Capabilities{WritebackCache: true})
	// fuzzSetups are the setups mixed/fuzz cycles through.
	fuzzSetups = []setup{fuseCached, fuseDirect, fuseWriteback, diskSetup("ext4"), diskSetup("xfs")}
)

func dropCaches() error {
	unix.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0)
}

const workloadChecks = "after every operation a fresh buffered descriptor, a fresh O_DIRECT one and the long-lived shared mapping read the whole file and agree with the model, and so do the size, the bytes after closing, fsync and dropped caches, and the server's bytes on FUSE; " +
	"the kernel rules (harness/invariant) hold on the probe trace of the whole run; a failure prints the seed and the shortest failing sequence"

func workloadScenarios() scenario.Catalogue {
	var c scenario.Catalogue
	for _, s := range []setup{fuseCached, fuseDirect, diskSetup("ext4"), diskSetup("xfs")} {
		c = append(c, scenario.Scenario{
			Declaration: guestproto.Declaration{
				Name: s.area + "/workload-seeded",
				Area: s.area,
				Setup: fmt.Sprintf("%s; seeds %v, %d operations each: several descriptors (O_DIRECT and buffered, O_DIRECT toggled by fcntl), pwrite and libaio, shared, private and read-only mappings, truncate, fallocate, fsync, dropped caches, an opener killed after writing; offsets at EOF, block, page and folio boundaries",
					s.about, workloadSeeds, workloadOps),
				Checks: workloadChecks,
				// Not in make test: their time on the four kernels
				// has not been measured on an idle host (make
				// workloads runs them).
				Manual: true,
			},
			// A FUSE sequence took 2.5 min at nice 19 on a loaded
			// host (ext4 and XFS: 20 s).
			Timeout: 10 * time.Minute,
			Run:     func(t *scenario.T) { runWorkloads(t, []setup{s}, workloadSeeds, workloadOps) },
		})
		if s.area == "fuse" {
			c[len(c)-1].Name = "fuse/workload-seeded-" + strings.TrimPrefix(s.name, "fuse-")
		}
	}
	c = append(c, scenario.Scenario{
		Declaration: guestproto.Declaration{
			Name:   "mixed/fuzz",
			Area:   "mixed",
			Setup:  "the plan's fuzz request (make fuzz SEED= N=): N sequences from SEED on, sequence i on the setups in turn (FUSE cached, FUSE direct-io, FUSE writeback cache, ext4, XFS)",
			Checks: workloadChecks,
			Manual: true,
		},
		Timeout: 4 * time.Hour,
		Run: func(t *scenario.T) {
			fz := t.Env().Fuzz
			if fz == nil {
				fz = &guestproto.Fuzz{Seed: 1, Count: len(fuzzSetups)}
			}
			ops := fz.Ops
			if ops == 0 {
				ops = workloadOps
			}
			var seeds []uint64
			for i := range fz.Count {
				seeds = append(seeds, fz.Seed+uint64(i))
			}
			setups := fuzzSetups
			if fz.Setup != "" {
				i := slices.IndexFunc(fuzzSetups, func(s setup) bool { return s.name == fz.Setup })
				if i < 0 {
					t.Fatalf("no workload setup %q (have fuse-cached, fuse-direct, fuse-writeback, ext4, xfs)", fz.Setup)
				}
				setups = fuzzSetups[i : i+1]
			}
			runWorkloads(t, setups, seeds, ops)
		},
	})
	return c
}

// runWorkloads runs each seed on setups[seed % len(setups)], mounting
// each setup once.
func runWorkloads(t *scenario.T, setups []setup, seeds []uint64, ops int) {
	ps := t.Probes()
	ps.RecordPageCache()
	targets := make([]*workload.Target, len(setups))
	start := time.Now()
	failed := 0
	for _, seed := range seeds {
		i := int(seed % uint64(len(setups)))
		if len(setups) == 1 {
			i = 0
		}
		if targets[i] == nil {
			tg := setups[i].mount(t)
			targets[i] = &tg
		}
		if !runSeed(t, ps, *targets[i], seed, ops) {
			failed++
		}
		t.Kmsg("workload seed %d done", seed)
	}
	t.Logf("%d sequences of %d operations in %s, %d failed", len(seeds), ops, time.Since(start).Round(time.Millisecond), failed)
}

// outcome is one run of a sequence: the model's verdict and the rules'.
type outcome struct {
	fail  *workload.Failure
	rules []invariant.Violation
}

func (o outcome) failed() bool { return o.fail != nil || len(o.rules) > 0 }

func (o outcome) String() string {
	var parts []string
	if o.fail != nil {
		parts = append(parts, o.fail.Error())
	}
	for _, v := range o.rules {
		parts = append(parts, v.String())
	}
	return strings.Join(parts, "\n")
}

// headline is the outcome's first line: a broken rule first, since it
// names what the kernel did wrong.
func (o outcome) headline() string {
	if len(o.rules) > 0 {
		return fmt.Sprintf("invariant %s: %s", o.rules[0].Rule, o.rules[0].What)
	}
	return o.fail.Error()
}

// runSeed runs one sequence and, when it fails, shrinks it and reports
// the seed and the shortest failing sequence. It reports whether the
// sequence passed.
func runSeed(t *scenario.T, ps *scenario.Probes, tg workload.Target, seed uint64, n int) bool {
	ops := workload.Generate(seed, n, tg.Profile)
	attempt := 0
	try := func(seq []workload.Op) outcome {
		attempt++
		return runRecorded(t, ps, tg, fmt.Sprintf("w%d-%d", seed, attempt), seq)
	}
	first := try(ops)
	if !first.failed() {
		return true
	}
	step := 0
	if first.fail != nil {
		step = first.fail.Step
	}
	var last outcome
	short, runs := workload.Shrink(ops, step, func(seq []workload.Op) (int, bool) {
		o := try(seq)
		if !o.failed() {
			return 0, false
		}
		last = o
		if o.fail != nil && len(o.rules) == 0 {
			return o.fail.Step, true
		}
		return 0, true
	}, shrinkBudget)
	if len(short) == len(ops) || !last.failed() {
		last = first
	}
	t.Errorf("workload %s seed %d: %s\nreplay: make fuzz SEED=%d N=1 SETUP=%s OPS=%d; shortest failing sequence, %d of %d operations after %d shrinking runs:\n%s%s",
		tg.Name, seed, last.headline(), seed, tg.Name, n, len(short), len(ops), runs, workload.Format(short), last)
	return false
}

// runRecorded runs a sequence on a fresh file while recording the
// probes, and judges the model and the kernel rules.
func runRecorded(t *scenario.T, ps *scenario.Probes, tg workload.Target, name string, ops []workload.Op) outcome {
	path := filepath.Join(tg.Dir, name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	t.Check(err, "create %s", path)
	f.Close()
	id, err := probe.InodeOfPath(path)
	t.Check(err, "inode of %s", path)
	t.Check(ps.WatchInode(id), "watch %s", path)
	defer ps.UnwatchInode(id)
	var fail *workload.Failure
	var runErr error
	ev, err := ps.Capture(func() { fail, runErr = workload.Run(t.Context(), tg, name, ops) })
	t.Check(err, "record %s", name)
	t.Check(runErr, "run %s", name)
	os.Remove(path)
	return outcome{fail: fail, rules: ps.Judge(ev).Violations}
}
