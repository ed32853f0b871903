package scenarios

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/bench"
	"dioharness/harness/fuse"
	"dioharness/harness/guestproto"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// The parallel direct-write bench: every writer issues benchWrites
// non-extending O_DIRECT writes of benchChunk bytes to its own range of
// one file, the server holds every WRITE for the configured latency.
const (
	benchChunk  = 64 << 10
	benchWrites = 16
	benchRuns   = 5
)

var (
	benchWriters   = []int{1, 2, 4, 8}
	benchLatencies = []time.Duration{time.Millisecond, 10 * time.Millisecond}
)

func benchScenarios() scenario.Catalogue {
	return scenario.Catalogue{{
		Declaration: guestproto.Declaration{
			Name: "harness/bench-fuse-parallel-dio",
			Area: "harness",
			Setup: "test FUSE server with 10 workers, FOPEN_DIRECT_IO with and without FOPEN_PARALLEL_DIRECT_WRITES, and O_DIRECT opens answered with " +
				"FOPEN_PARALLEL_DIRECT_WRITES alone by a server that replies FUSE_PARALLEL_ODIRECT_WRITES (the pdio RFC's row: the file keeps the page cache); " +
				"every WRITE held 1 ms or 10 ms at the server, 8 MiB file",
			Checks: fmt.Sprintf("per configuration and 1/2/4/8 writers, %d timed runs of %d non-extending %d KiB O_DIRECT writes per writer; "+
				"logs the median throughput per configuration; the data lands; without the flag, and for the pdio row on a kernel that does not offer "+
				"FUSE_PARALLEL_ODIRECT_WRITES, the server never sees two WRITEs at once; otherwise with 10 ms latency it does; one recorded pass per "+
				"configuration shows i_rwsem taken shared (parallel) or exclusive (serial) by the writes",
				benchRuns, benchWrites, benchChunk>>10),
			Manual: true,
		},
		Timeout: 10 * time.Minute,
		Run:     benchParallelDIO,
	}, {
		Declaration: guestproto.Declaration{
			Name: "harness/bench-fio",
			Area: "harness",
			Setup: "Debian's fio in the guest; test FUSE server with FOPEN_DIRECT_IO|FOPEN_PARALLEL_DIRECT_WRITES and no added latency, the ext4 disk, and " +
				"(the pdio RFC's row) the FUSE server passing through to a directory on the ext4 disk, answering O_DIRECT opens with FOPEN_PARALLEL_DIRECT_WRITES " +
				"alone and replying FUSE_PARALLEL_ODIRECT_WRITES; a 16 MiB file on each",
			Checks: fmt.Sprintf("one recorded fio pass per file system reaches fuse_file_write_iter (FUSE) and iomap_dio_rw_begin (ext4); then %d interleaved runs of "+
				"sequential 64 KiB O_DIRECT writes and reads of the whole file, and of 4 jobs writing 64 KiB O_DIRECT blocks at random into the one file "+
				"(numjobs=4), with fio on each; logs each run's throughput for make bench; the in-memory server holds what fio wrote",
				benchRuns),
			Manual: true,
		},
		Timeout: 10 * time.Minute,
		Run:     benchFio,
	}}
}

// benchFioJob writes a file sequentially with 64 KiB O_DIRECT writes, then
// reads it back the same way.
const benchFioJob = `[global]
filename=%s
size=%d
bs=64k
direct=1
ioengine=psync

[write]
rw=write

[read]
stonewall
rw=read
`

// benchFioJobs4 is fio direct=1 numjobs=4 on one file: four jobs write
// 64 KiB blocks at random offsets of the same file, reported as one.
const benchFioJobs4 = `[global]
filename=%s
size=%d
bs=64k
direct=1
ioengine=psync
numjobs=4
group_reporting
randrepeat=0

[randwrite4]
rw=randwrite
`

const benchFioSize = 16 << 20

// benchFio compares fio's throughput on the test FUSE server with ext4,
// for scale: the server keeps data in memory, ext4 writes a virtio disk.
func benchFio(t *scenario.T) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skipf("fio not in the guest image: %v", err)
	}
	ps := t.Probes("fentry/fuse_file_write_iter", "fentry/fuse_direct_write_iter", "tp_btf/iomap_dio_rw_begin")
	m := t.FUSE(fileOf("/fio-bench", benchFioSize, fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true}, fuse.Capabilities{}))
	disk := t.Disk("ext4", "")
	ext4 := filepath.Join(disk, "fio-bench")
	t.Check(os.WriteFile(ext4, make([]byte, benchFioSize), 0o644), "create the ext4 file")
	// The pdio row: the server passing through to a directory (fstests'
	// mode), files keeping the page cache, O_DIRECT writes in parallel on
	// a kernel with the RFC.
	src := filepath.Join(disk, "fio-pdio")
	t.Check(os.MkdirAll(src, 0o755), "mkdir %s", src)
	t.Check(os.WriteFile(filepath.Join(src, "fio-bench"), make([]byte, benchFioSize), 0o644), "create the passed-through file")
	md := t.FUSE(fuse.Config{
		Source: src, Capabilities: fuse.Capabilities{ParallelODirectWrites: true},
		Rules: []fuse.OpenRule{{Glob: "", OpenPolicy: fuse.OpenPolicy{ParallelDirectWrites: true}}},
	})
	files := []struct{ fs, path string }{{"fuse", m.Path("fio-bench")}, {"ext4", ext4}, {"fuse-dir-pdio", md.Path("fio-bench")}}
	job := func(tmpl, path string) string {
		jf := filepath.Join(t.Env().Work, "bench.fio")
		t.Check(os.WriteFile(jf, []byte(fmt.Sprintf(tmpl, path, benchFioSize)), 0o644), "write job file")
		return jf
	}
	for _, f := range files {
		ps.WatchPath(f.path)
		ev := ps.Record(func() { fioBandwidth(t, fio, job(benchFioJob, f.path)) })
		fuseWrites := ev.Of(probe.KindWriteEnter).Where(func(e probe.Event) bool { return e.Func() == probe.FuncFuseFileWriteIter })
		if (f.fs != "ext4" && len(fuseWrites) == 0) || (f.fs == "ext4" && !ev.Has(probe.KindDIOBegin)) {
			t.Fatalf("fio on %s did not take the write path: fuse_file_write_iter %d, iomap_dio_rw_begin %d",
				f.fs, len(fuseWrites), ev.Count(probe.KindDIOBegin))
		}
	}
	for run := 1; run <= benchRuns; run++ {
		for _, f := range files {
			for _, tmpl := range []string{benchFioJob, benchFioJobs4} {
				for j, bw := range fioBandwidth(t, fio, job(tmpl, f.path)) {
					// harness bench turns these lines into results/bench.json.
					t.Logf("%s", bench.FioRun{FS: f.fs, Job: j, Run: run, MiBps: bw}.Line())
				}
			}
		}
	}
	content, err := m.FileContent("/fio-bench")
	t.Check(err, "server content")
	if len(content) != benchFioSize {
		t.Errorf("the server holds %d bytes, fio wrote %d", len(content), benchFioSize)
	}
}

// fioBandwidth runs a job file and returns each job's throughput in MiB/s
// (its write or read bandwidth, whichever it did).
func fioBandwidth(t *scenario.T, fio, jobFile string) map[string]float64 {
	out, err := exec.CommandContext(t.Context(), fio, "--output-format=json", jobFile).Output()
	if err != nil {
		t.Fatalf("fio: %v\n%s", err, tail(string(out), 20))
	}
	bw, err := bench.ParseFioJSON(out)
	t.Check(err, "fio output")
	return bw
}

func benchParallelDIO(t *scenario.T) {
	size := int64(slices.Max(benchWriters) * benchWrites * benchChunk)
	cfg := fileOf("/bench", size, fuse.OpenPolicy{DirectIO: true}, fuse.Capabilities{ParallelODirectWrites: true})
	// One worker per writer and spare ones, so a delayed WRITE holds
	// only its own worker and the server never limits the parallelism.
	cfg.Workers = slices.Max(benchWriters) + 2
	m := t.FUSE(cfg)
	node, err := m.NodeID("/bench")
	t.Check(err, "node id")
	bufs := make([][]byte, slices.Max(benchWriters))
	for w := range bufs {
		bufs[w] = alignedBuf(t, benchChunk, byte(0x10+w))
	}
	info, err := m.Info()
	t.Check(err, "server info")
	// Only a kernel with the pdio RFC offers the flag: elsewhere the pdio
	// row's writes are serial, and measure what the RFC changes.
	pdio := info.Init.Has(fuse.CapParallelODirectWrites)
	for _, c := range benchConfigs {
		parallel := c.parallel && (c.open == bench.OpenDirectIO || pdio)
		t.Check(m.SetRules(fuse.OpenRule{Glob: "/bench", OpenPolicy: c.policy()}), "set rules")
		f := openFile(t, m.Path("bench"), os.O_RDWR|unix.O_DIRECT)
		for _, lat := range benchLatencies {
			t.Check(m.SetFault(fuse.Fault{Name: "latency", Match: fuse.Match{Op: fuse.OpWrite, Glob: "/bench"}, Delay: fuse.Duration(lat)}), "set latency")
			for _, n := range benchWriters {
				var mibs []float64
				maxInFlight := 0
				for range benchRuns {
					t.Check(m.ResetStats(), "reset stats")
					elapsed := benchOnce(t, f, bufs[:n])
					mibs = append(mibs, float64(n*benchWrites*benchChunk)/(1<<20)/elapsed.Seconds())
					st, err := m.Stats()
					t.Check(err, "stats")
					maxInFlight = max(maxInFlight, st.MaxInFlight(node, fuse.OpWrite))
				}
				if !parallel && maxInFlight != 1 {
					t.Errorf("%s: the server saw %d WRITEs at once with %d writers, want 1", c, maxInFlight, n)
				}
				if parallel && n > 1 && lat >= 10*time.Millisecond && maxInFlight < 2 {
					t.Errorf("%s: with %d writers the server never saw two WRITEs at once", c, n)
				}
				benchCheckData(t, m, bufs[:n])
				slices.Sort(mibs)
				// harness bench turns these lines into results/bench.json.
				t.Logf("%s", bench.Sample{
					LatencyMS: int(lat.Milliseconds()), Open: c.open, Parallel: c.parallel, Writers: n, Runs: benchRuns,
					Median: mibs[len(mibs)/2], Min: mibs[0], Max: mibs[len(mibs)-1], MaxInFlight: maxInFlight,
				}.Line())
			}
		}
		t.Check(m.ClearFaults(), "clear faults")
		t.Check(f.Close(), "close")
	}
	// The probes load only now, so the timed passes pay nothing for
	// them (README, probe overhead).
	ps := t.Probes("fentry/fuse_direct_write_iter", "fexit/down_read", "fexit/down_write")
	ps.WatchPath(m.Path("bench"))
	for _, c := range benchConfigs {
		t.Check(m.SetRules(fuse.OpenRule{Glob: "/bench", OpenPolicy: c.policy()}), "set rules")
		f := openFile(t, m.Path("bench"), os.O_RDWR|unix.O_DIRECT)
		benchLockPath(t, ps, f, bufs, c.parallel && (c.open == bench.OpenDirectIO || pdio))
		t.Check(f.Close(), "close")
	}
}

// benchConfig is how the bench's server answers the O_DIRECT open.
type benchConfig struct {
	open     string // bench.OpenDirectIO or bench.OpenODirectCached
	parallel bool   // FOPEN_PARALLEL_DIRECT_WRITES
}

var benchConfigs = []benchConfig{
	{bench.OpenDirectIO, true}, {bench.OpenDirectIO, false}, {bench.OpenODirectCached, true},
}

func (c benchConfig) policy() fuse.OpenPolicy {
	return fuse.OpenPolicy{DirectIO: c.open == bench.OpenDirectIO, ParallelDirectWrites: c.parallel}
}

func (c benchConfig) String() string { return fmt.Sprintf("open %s, parallel=%t", c.open, c.parallel) }

// benchOnce runs one timed pass: every writer its benchWrites writes to
// its own range, all writers started together.
func benchOnce(t *scenario.T, f *os.File, bufs [][]byte) time.Duration {
	var wg sync.WaitGroup
	errs := make([]error, len(bufs))
	start := time.Now()
	for w, b := range bufs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range benchWrites {
				off := int64((w*benchWrites + k) * benchChunk)
				r := <-goPwrite(f, b, off)
				if r.err != nil || r.n != len(b) {
					errs[w] = fmt.Errorf("writer %d at %d: wrote %d of %d bytes: %v", w, off, r.n, len(b), r.err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		t.Check(err, "bench write")
	}
	return elapsed
}

// benchCheckData reads the file back from the server: every writer's
// chunks hold its pattern.
func benchCheckData(t *scenario.T, m *scenario.FUSEMount, bufs [][]byte) {
	content, err := m.FileContent("/bench")
	t.Check(err, "server content")
	for w, b := range bufs {
		for k := range benchWrites {
			off := (w*benchWrites + k) * benchChunk
			sameBytes(t, fmt.Sprintf("writer %d chunk %d on the server", w, k), content[off:off+benchChunk], b)
		}
	}
}

// benchLockPath records one untimed pass of two writers and checks the
// lock mode fuse_direct_write_iter took: shared with the flag,
// exclusive without. Timed passes run unrecorded.
func benchLockPath(t *scenario.T, ps *scenario.Probes, f *os.File, bufs [][]byte, parallel bool) {
	ev := ps.Record(func() { benchOnce(t, f, bufs[:2]) })
	shared, excl := ev.Count(probe.KindLockShared), ev.Count(probe.KindLockExclusive)
	want, other := shared, excl
	mode := "shared"
	if !parallel {
		want, other, mode = excl, shared, "exclusive"
	}
	if want < 2*benchWrites || other != 0 {
		t.Fatalf("parallel=%t: want %d i_rwsem acquisitions %s and none of the other mode, got %d shared and %d exclusive\n%s",
			parallel, 2*benchWrites, mode, shared, excl, ev)
	}
	t.Logf("lock path parallel=%t: %d %s acquisitions for %d writes", parallel, want, mode, 2*benchWrites)
}
