package scenarios

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/bench"
	"dioharness/harness/fuse"
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
		Name:  "harness/bench-fuse-parallel-dio",
		Area:  "harness",
		Setup: "test FUSE server with 10 workers, FOPEN_DIRECT_IO with and without FOPEN_PARALLEL_DIRECT_WRITES, every WRITE held 1 ms or 10 ms at the server, 8 MiB file",
		Checks: fmt.Sprintf("per configuration and 1/2/4/8 writers, %d timed runs of %d non-extending %d KiB O_DIRECT writes per writer; "+
			"logs the median throughput per configuration; the data lands; without the flag the server never sees two WRITEs at once, "+
			"with it and 10 ms latency it does; one recorded pass per flag shows i_rwsem taken shared (flag) or exclusive (no flag) in fuse_direct_write_iter",
			benchRuns, benchWrites, benchChunk>>10),
		Manual:  true,
		Timeout: 10 * time.Minute,
		Run:     benchParallelDIO,
	}}
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
	// The probes load only now: loaded, they tax every rwsem operation
	// (README, probe overhead), which the timed passes must not pay.
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
