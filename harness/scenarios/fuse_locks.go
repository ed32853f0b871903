package scenarios

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/fuse"
	"dioharness/harness/guestproto"
	"dioharness/harness/kstack"
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
		{
			Declaration: guestproto.Declaration{
				Name: "fuse/dio-lock-recheck-upgrades",
				Area: "fuse",
				Setup: "FOPEN_DIRECT_IO|FOPEN_PARALLEL_DIRECT_WRITES, 64 KiB file; an ftruncate to 16 KiB held at a SETATTR server gate (it holds i_rwsem exclusive); " +
					"meanwhile an O_DIRECT write of 4 KiB at 32 KiB, inside the old EOF, sleeps on i_rwsem (state D with fuse_direct_write_iter on its /proc/<tid>/stack)",
				Checks: "fuse_dio_lock's unlocked check saw the write inside EOF (parallel), the re-check under the shared lock sees it past the new EOF: " +
					"once the truncate is released the writer takes i_rwsem shared, drops it and takes it exclusive (down_read, up_read, down_write upgrade, up_write: " +
					"never up_read for the exclusive hold), and, where the series' fuse_dio_write_lock tracepoint exists, it reports exclusive/EXTENDING. " +
					"The truncate returns 0, the write 4096; the server holds the old 16 KiB, zeros to 32 KiB and the new 4 KiB (size 36 KiB)",
			},
			Run: dioLockRecheckUpgrades,
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

// dioLockRecheckUpgrades makes fuse_dio_lock's two checks disagree: the
// write passes the unlocked one while a truncate, held at the server,
// owns i_rwsem; by the time the write gets the shared lock the file is
// shorter and the write extends it, so it must upgrade to exclusive.
func dioLockRecheckUpgrades(t *scenario.T) {
	ps := t.Probes("fentry/fuse_direct_write_iter", "fexit/fuse_direct_write_iter",
		"fexit/down_read", "fexit/down_write", "fentry/up_read", "fentry/up_write")
	traced := true
	if err := ps.Set.Require("tp_btf/fuse_dio_write_lock"); err != nil {
		if !probe.IsSkip(err) {
			t.Fatalf("probes: %v", err)
		}
		traced = false
		t.Logf("fuse_dio_write_lock is not on this kernel (the series adds it); the i_rwsem trace alone shows the upgrade: %v", err)
	}
	const size, short, off = 64 << 10, 16 << 10, 32 << 10
	old := pattern(size, 0x31)
	m := t.FUSE(fuse.Config{
		Files: []fuse.FileSpec{{Path: "/rc", Data: old}},
		Rules: []fuse.OpenRule{{Glob: "/rc", OpenPolicy: fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true}}},
	})
	f := openFile(t, m.Path("rc"), os.O_RDWR|unix.O_DIRECT)
	tr := openFile(t, m.Path("rc"), os.O_RDWR)
	ps.Watch(f)
	t.Check(m.ArmGate("s", fuse.OpSetattr, "/rc"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("s") })
	buf := alignedBuf(t, page, 0x5d)
	var w *lockedWriter
	ev := ps.Record(func() {
		truncated := make(chan error, 1)
		go func() { truncated <- unix.Ftruncate(int(tr.Fd()), short) }()
		if _, err := m.WaitHeld("s", 1, holdWait); err != nil {
			t.Fatalf("the truncate's SETATTR never reached the server: %v", err)
		}
		w = startLockedPwrite(f, buf, off)
		// While the SETATTR is held the truncate owns i_rwsem, so a
		// writer asleep inside fuse_direct_write_iter sleeps in
		// fuse_dio_lock's inode_lock_shared(): its WRITE is not gated,
		// and nothing before the lock sleeps.
		if err := w.waitSleepingIn(t, holdWait, "fuse_direct_write_iter"); err != nil {
			t.Fatalf("the direct write never slept in fuse_direct_write_iter behind the held truncate: %v", err)
		}
		_, err := m.ReleaseAll("s")
		t.Check(err, "release the truncate")
		select {
		case err := <-truncated:
			t.Check(err, "ftruncate to %d", short)
		case <-t.Context().Done():
			t.Fatalf("ftruncate did not return before the scenario timeout")
		}
		if r := waitIO(t, "direct write", w.done); r.err != nil || r.n != page {
			t.Fatalf("direct write behind the truncate returned %d, %v; want %d", r.n, r.err, page)
		}
	})
	const what = "4 KiB direct write at 32 KiB behind a truncate to 16 KiB"
	wantLocks(t, what, ev.Where(func(e probe.Event) bool { return e.TID == uint32(w.tid) }), "S s X ^ x")
	if traced {
		locks := ev.Of(probe.KindTraceDIOWriteLock)
		if len(locks) != 1 || !locks[0].Flags.Has(probe.FlagExclusive) || probe.DIOLockReason(locks[0].Aux) != probe.DIOLockExtending {
			t.Fatalf("%s: fuse_dio_write_lock should say exclusive/EXTENDING once\n%s", what, ev)
		}
	}
	t.Logf("%s: writer %d i_rwsem %q", what, w.tid, lockTrace(ev))
	want := append(append(append([]byte{}, old[:short]...), make([]byte, off-short)...), buf...)
	content, err := m.FileContent("/rc")
	t.Check(err, "server content")
	if len(content) != len(want) {
		t.Fatalf("%s: the server's file is %d bytes, want %d", what, len(content), len(want))
	}
	sameBytes(t, what+": server content", content, want)
}

// lockedWriter is one pwrite on its own locked OS thread, whose kernel
// stack can be read while it sleeps.
type lockedWriter struct {
	tid  int
	done chan ioResult
}

func startLockedPwrite(f *os.File, b []byte, off int64) *lockedWriter {
	w := &lockedWriter{done: make(chan ioResult, 1)}
	tid := make(chan int)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid <- unix.Gettid()
		n, err := unix.Pwrite(int(f.Fd()), b, off)
		w.done <- ioResult{n, err}
	}()
	w.tid = <-tid
	return w
}

// waitSleepingIn waits until the writer sleeps uninterruptibly (state
// D in /proc/self/task/<tid>/stat) with fn on its kernel stack
// (/proc/self/task/<tid>/stack): a state the kernel shows, so nothing
// here waits for time to pass; d only bounds a kernel that never gets
// there. The stack names the function the sleep is under, not the lock
// primitive: with fexit/down_read attached, down_read runs behind a BPF
// trampoline and its own frames are not on the stack.
func (w *lockedWriter) waitSleepingIn(t *scenario.T, d time.Duration, fn string) error {
	dir := fmt.Sprintf("/proc/self/task/%d", w.tid)
	deadline := time.Now().Add(d)
	var last []string
	var state string
	for {
		stat, err := os.ReadFile(dir + "/stat")
		if err != nil {
			return fmt.Errorf("read %s/stat: %w", dir, err)
		}
		// "<tid> (<comm>) <state> ...": the comm may hold spaces.
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
			state = string(stat[i+2])
		}
		b, err := os.ReadFile(dir + "/stack")
		if err != nil {
			return fmt.Errorf("read %s/stack: %w", dir, err)
		}
		last = kstack.Frames(strings.Split(string(b), "\n"))
		if state == "D" && slices.Contains(last, fn) {
			return nil
		}
		select {
		case r := <-w.done:
			w.done <- r
			return fmt.Errorf("the write returned (%d, %v) instead", r.n, r.err)
		case <-t.Context().Done():
			return fmt.Errorf("scenario timeout; state %s, stack %v", state, last)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s; state %s, stack %v", d, state, last)
		}
		runtime.Gosched()
	}
}
