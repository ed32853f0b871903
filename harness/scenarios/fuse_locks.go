package scenarios

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/fuse"
	"dioharness/harness/guestproto"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// holdWait bounds how long a scenario waits for requests to reach a
// server gate. Reaching it is event-driven (the server signals); the
// bound only turns a kernel that never sends the request into a failure.
const holdWait = 20 * time.Second

// absentWait bounds the proof of a negative: that a request does NOT
// reach the server while another is held. Nothing can signal an absence,
// so this is the one place a scenario waits for time to pass; it never
// orders events.
const absentWait = 2 * time.Second

type ioResult struct {
	n   int
	err error
}

// goPwrite starts a pwrite on its own OS thread and returns its result
// channel. A FUSE request interrupted by a signal (SIGCHLD of a child a
// scenario killed) is answered EINTR by the server before it was
// handled, so the write is retried: the scenario asked for one write.
func goPwrite(f *os.File, b []byte, off int64) <-chan ioResult {
	ch := make(chan ioResult, 1)
	go func() {
		for {
			n, err := unix.Pwrite(int(f.Fd()), b, off)
			if err != unix.EINTR {
				ch <- ioResult{n, err}
				return
			}
		}
	}()
	return ch
}

func waitIO(t *scenario.T, what string, ch <-chan ioResult) ioResult {
	select {
	case r := <-ch:
		return r
	case <-t.Context().Done():
		t.Fatalf("%s did not return before the scenario timeout", what)
	}
	return ioResult{}
}

func fuseLockScenarios() scenario.Catalogue {
	return scenario.Catalogue{
		{
			Declaration: guestproto.Declaration{
				Name:   "fuse/parallel-dio-shared",
				Area:   "fuse",
				Setup:  "FOPEN_DIRECT_IO|FOPEN_PARALLEL_DIRECT_WRITES, 1 MiB file, WRITE held at a server gate",
				Checks: "two non-extending O_DIRECT writers on one inode are both in flight at the server at once (max in-flight 2) and each took i_rwsem shared in fuse_direct_write_iter (no exclusive acquisition); data lands",
			},
			Run: parallelDIOShared,
		},
		{
			Declaration: guestproto.Declaration{
				Name:   "fuse/dio-exclusive-no-parallel-flag",
				Area:   "fuse",
				Setup:  "FOPEN_DIRECT_IO without FOPEN_PARALLEL_DIRECT_WRITES, WRITE gate",
				Checks: "the second writer never reaches the server while the first is held (max in-flight 1) and both took i_rwsem exclusive",
			},
			Run: func(t *scenario.T) { exclusiveDIO(t, false, 0, 4096) },
		},
		{
			Declaration: guestproto.Declaration{
				Name:   "fuse/dio-exclusive-append",
				Area:   "fuse",
				Setup:  "FOPEN_DIRECT_IO|FOPEN_PARALLEL_DIRECT_WRITES, file opened O_APPEND, WRITE gate",
				Checks: "O_APPEND direct writes serialise: max in-flight 1, i_rwsem exclusive for both",
			},
			Run: func(t *scenario.T) { exclusiveDIO(t, true, unix.O_APPEND, 4096) },
		},
		{
			Declaration: guestproto.Declaration{
				Name:   "fuse/dio-exclusive-extending",
				Area:   "fuse",
				Setup:  "FOPEN_DIRECT_IO|FOPEN_PARALLEL_DIRECT_WRITES, writes past EOF, WRITE gate",
				Checks: "direct writes extending the file serialise: max in-flight 1, i_rwsem exclusive for both",
			},
			Run: func(t *scenario.T) { exclusiveDIO(t, true, 0, 1<<20) },
		},
	}
}

func parallelDIOShared(t *scenario.T) {
	ps := t.Probes("fentry/fuse_direct_write_iter", "fexit/down_read")
	m := t.FUSE(fileOf("/par", 1<<20, fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true}, fuse.Capabilities{}))
	f := openFile(t, m.Path("par"), os.O_RDWR|unix.O_DIRECT)
	ps.Watch(f)
	node, err := m.NodeID("/par")
	t.Check(err, "node id")
	t.Check(m.ArmGate("w", fuse.OpWrite, "/par"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	a, b := alignedBuf(t, page, 0x11), alignedBuf(t, page, 0x22)
	var ra, rb <-chan ioResult
	ev := ps.Record(func() {
		ra = goPwrite(f, a, 0)
		rb = goPwrite(f, b, 64<<10)
		if held, err := m.WaitHeld("w", 2, holdWait); err != nil {
			t.Fatalf("both WRITEs should be held at the server together, %d were: %v", held, err)
		}
		st, err := m.Stats()
		t.Check(err, "stats")
		if got := st.MaxInFlight(node, fuse.OpWrite); got != 2 {
			t.Errorf("server saw max %d WRITEs in flight on the inode, want 2", got)
		}
		_, err = m.ReleaseAll("w")
		t.Check(err, "release")
		for _, r := range []ioResult{waitIO(t, "writer A", ra), waitIO(t, "writer B", rb)} {
			if r.err != nil || r.n != page {
				t.Fatalf("parallel direct write returned %d, %v; want %d", r.n, r.err, page)
			}
		}
	})
	content, err := m.FileContent("/par")
	t.Check(err, "server content")
	sameBytes(t, "writer A's page on the server", content[:page], a)
	sameBytes(t, "writer B's page on the server", content[64<<10:64<<10+page], b)
	shared := ev.Of(probe.KindLockShared)
	if len(shared) != 2 || shared[0].TID == shared[1].TID {
		t.Fatalf("want i_rwsem taken shared once by each writer thread, got %d shared acquisitions\n%s", len(shared), ev)
	}
	if n := ev.Count(probe.KindLockExclusive); n != 0 {
		t.Fatalf("a parallel direct write took i_rwsem exclusive (%d times)\n%s", n, ev)
	}
	t.Logf("shared acquisitions: %s | %s", shared[0], shared[1])
}

// exclusiveDIO proves that a direct write that must not run in parallel
// keeps the second writer out of the server while the first is held.
func exclusiveDIO(t *scenario.T, parallelFlag bool, openFlags int, off int64) {
	ps := t.Probes("fentry/fuse_direct_write_iter", "fexit/down_write")
	m := t.FUSE(fileOf("/ex", 64<<10, fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: parallelFlag}, fuse.Capabilities{}))
	f := openFile(t, m.Path("ex"), os.O_RDWR|unix.O_DIRECT|openFlags)
	ps.Watch(f)
	node, err := m.NodeID("/ex")
	t.Check(err, "node id")
	t.Check(m.ArmGate("w", fuse.OpWrite, "/ex"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	a, b := alignedBuf(t, page, 0x33), alignedBuf(t, page, 0x44)
	ev := ps.Record(func() {
		ra := goPwrite(f, a, off)
		if _, err := m.WaitHeld("w", 1, holdWait); err != nil {
			t.Fatalf("first WRITE never reached the server: %v", err)
		}
		rb := goPwrite(f, b, off+2*page)
		held, err := m.WaitHeld("w", 2, absentWait)
		if err == nil || !errors.Is(err, fuse.ErrWaitTimeout) {
			t.Fatalf("second WRITE reached the server while the first was held (%d held): the writes ran in parallel", held)
		}
		_, err = m.ReleaseAll("w")
		t.Check(err, "release")
		// The second write reaches the gate only now; let it through.
		if _, err := m.WaitHeld("w", 1, holdWait); err != nil {
			t.Fatalf("second WRITE never reached the server: %v", err)
		}
		m.ReleaseAll("w")
		for _, r := range []ioResult{waitIO(t, "first writer", ra), waitIO(t, "second writer", rb)} {
			if r.err != nil || r.n != page {
				t.Fatalf("direct write returned %d, %v; want %d", r.n, r.err, page)
			}
		}
	})
	st, err := m.Stats()
	t.Check(err, "stats")
	if got := st.MaxInFlight(node, fuse.OpWrite); got != 1 {
		t.Errorf("server saw max %d WRITEs in flight, want 1", got)
	}
	excl := ev.Of(probe.KindLockExclusive)
	if len(excl) != 2 || ev.Count(probe.KindLockShared) != 0 {
		t.Fatalf("want i_rwsem exclusive for both writes and never shared, got %d exclusive, %d shared\n%s",
			len(excl), ev.Count(probe.KindLockShared), ev)
	}
}
