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
			Name:  "harness/bench-fuse-parallel-dio",
			Area:  "harness",
			Setup: "test FUSE server with 10 workers, FOPEN_DIRECT_IO with and without FOPEN_PARALLEL_DIRECT_WRITES, every WRITE held 1 ms or 10 ms at the server, 8 MiB file",
			Checks: fmt.Sprintf("per configuration and 1/2/4/8 writers, %d timed runs of %d non-extending %d KiB O_DIRECT writes per writer; "+
				"logs the median throughput per configuration; the data lands; without the flag the server never sees two WRITEs at once, "+
				"with it and 10 ms latency it does; one recorded pass per flag shows i_rwsem taken shared (flag) or exclusive (no flag) in fuse_direct_write_iter",
				benchRuns, benchWrites, benchChunk>>10),
			Manual: true,
		},
		Timeout: 10 * time.Minute,
		Run:     benchParallelDIO,
	}, {
		Declaration: guestproto.Declaration{
			Name:  "harness/bench-fio",
			Area:  "harness",
			Setup: "Debian's fio in the guest; test FUSE server with FOPEN_DIRECT_IO|FOPEN_PARALLEL_DIRECT_WRITES and no added latency, and the ext4 disk; a 16 MiB file on each",
			Checks: fmt.Sprintf("one recorded fio pass per file system reaches fuse_direct_write_iter (FUSE) and iomap_dio_rw_begin (ext4); then %d interleaved runs of "+
				"sequential 64 KiB O_DIRECT writes and reads of the whole file with fio on each; logs each run's throughput for make bench; the server holds what fio wrote",
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

const benchFioSize = 16 << 20

// benchFio compares fio's throughput on the test FUSE server with ext4,
// for scale: the server keeps data in memory, ext4 writes a virtio disk.
func benchFio(t *scenario.T) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skipf("fio not in the guest image: %v", err)
	}
	ps := t.Probes("fentry/fuse_direct_write_iter", "tp_btf/iomap_dio_rw_begin")
	m := t.FUSE(fileOf("/fio-bench", benchFioSize, fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true}, fuse.Capabilities{}))
	ext4 := filepath.Join(t.Disk("ext4", ""), "fio-bench")
	t.Check(os.WriteFile(ext4, make([]byte, benchFioSize), 0o644), "create the ext4 file")
	files := []struct{ fs, path string }{{"fuse", m.Path("fio-bench")}, {"ext4", ext4}}
	job := func(path string) string {
		jf := filepath.Join(t.Env().Work, "bench.fio")
		t.Check(os.WriteFile(jf, []byte(fmt.Sprintf(benchFioJob, path, benchFioSize)), 0o644), "write job file")
		return jf
	}
	for _, f := range files {
		ps.WatchPath(f.path)
		ev := ps.Record(func() { fioBandwidth(t, fio, job(f.path)) })
		fuseWrites := ev.Of(probe.KindWriteEnter).Where(func(e probe.Event) bool { return e.Func() == probe.FuncFuseDirectWriteIter })
		if (f.fs == "fuse" && len(fuseWrites) == 0) || (f.fs == "ext4" && !ev.Has(probe.KindDIOBegin)) {
			t.Fatalf("fio on %s did not take the direct path: fuse_direct_write_iter %d, iomap_dio_rw_begin %d",
				f.fs, len(fuseWrites), ev.Count(probe.KindDIOBegin))
		}
	}
	for run := 1; run <= benchRuns; run++ {
		for _, f := range files {
			for j, bw := range fioBandwidth(t, fio, job(f.path)) {
				// harness bench turns these lines into results/bench.json.
				t.Logf("%s", bench.FioRun{FS: f.fs, Job: j, Run: run, MiBps: bw}.Line())
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
	cfg := fileOf("/bench", size, fuse.OpenPolicy{DirectIO: true}, fuse.Capabilities{})
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
	for _, parallel := range []bool{true, false} {
		t.Check(m.SetRules(fuse.OpenRule{Glob: "/bench", OpenPolicy: fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: parallel}}), "set rules")
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
					t.Errorf("without FOPEN_PARALLEL_DIRECT_WRITES the server saw %d WRITEs at once with %d writers, want 1", maxInFlight, n)
				}
				if parallel && n > 1 && lat >= 10*time.Millisecond && maxInFlight < 2 {
					t.Errorf("with FOPEN_PARALLEL_DIRECT_WRITES and %d writers the server never saw two WRITEs at once", n)
				}
				benchCheckData(t, m, bufs[:n])
				slices.Sort(mibs)
				// harness bench turns these lines into results/bench.json.
				t.Logf("%s", bench.Sample{
					LatencyMS: int(lat.Milliseconds()), Parallel: parallel, Writers: n, Runs: benchRuns,
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
	for _, parallel := range []bool{true, false} {
		t.Check(m.SetRules(fuse.OpenRule{Glob: "/bench", OpenPolicy: fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: parallel}}), "set rules")
		f := openFile(t, m.Path("bench"), os.O_RDWR|unix.O_DIRECT)
		benchLockPath(t, ps, f, bufs, parallel)
		t.Check(f.Close(), "close")
	}
}

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
	t.Logf("lock path parallel=%t: %d %s acquisitions in fuse_direct_write_iter for %d writes", parallel, want, mode, 2*benchWrites)
}
