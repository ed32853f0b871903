package scenarios

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/fuse"
	"dioharness/harness/guestproto"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// Patch subjects of the pdio RFC (patches/v7.3/pdio): parallel O_DIRECT
// writes to files that keep the page cache.
const (
	patchPdioAIO = "fuse: hold the uncached io reference of a queued parallel direct write"
	patchPdio    = "fuse: allow parallel O_DIRECT writes to files that keep the page cache"
)

// pdioFailsOnBase is why the parallel part of every pdio scenario fails
// without the RFC.
const pdioFailsOnBase = "FUSE_PARALLEL_ODIRECT_WRITES is not offered: the O_DIRECT open without FOPEN_DIRECT_IO puts the inode in caching io mode " +
	"and FOPEN_PARALLEL_DIRECT_WRITES is cleared, so every O_DIRECT write takes i_rwsem exclusive in fuse_cache_write_iter and " +
	"the second writer never reaches the server while the first is held"

// requirePdio fails at once, with the reason, on a kernel that did not
// offer FUSE_PARALLEL_ODIRECT_WRITES: there the parallel writes these
// scenarios start would only be waited for in vain.
func requirePdio(t *scenario.T, m *scenario.FUSEMount) {
	info, err := m.Info()
	t.Check(err, "server info")
	if !info.Init.Has(fuse.CapParallelODirectWrites) {
		t.Fatalf("the kernel did not offer FUSE_PARALLEL_ODIRECT_WRITES (INIT flags %#x): O_DIRECT writes to files that keep the page cache cannot run in parallel",
			info.Init.Offered)
	}
}

// pdioConfig is a server that asks for parallel O_DIRECT writes to files
// that keep the page cache: FUSE_PARALLEL_ODIRECT_WRITES in the INIT reply
// and FOPEN_PARALLEL_DIRECT_WRITES without FOPEN_DIRECT_IO on every open.
func pdioConfig(path string, size int64, caps fuse.Capabilities) fuse.Config {
	caps.ParallelODirectWrites = true
	return fileOf(path, size, fuse.OpenPolicy{ParallelDirectWrites: true}, caps)
}

func fusePdioScenarios() scenario.Catalogue {
	return scenario.Catalogue{
		{
			Declaration: guestproto.Declaration{
				Name: "fuse/pdio-parallel-writers",
				Area: "fuse",
				Setup: "FUSE_PARALLEL_ODIRECT_WRITES, FOPEN_PARALLEL_DIRECT_WRITES without FOPEN_DIRECT_IO, 1 MiB file; two O_DIRECT opens, " +
					"three writers (two through the first open, one through the second), WRITE gate",
				Checks: "the O_DIRECT opens leave the inode out of caching io mode (no fuse_file_cached_io_open); all three WRITEs are held at the server " +
					"at once (max in flight 3), each writer took i_rwsem shared in fuse_direct_write_iter and none exclusive (fuse_dio_write_lock: " +
					"shared/PARALLEL where the tracepoint exists); the data lands and a buffered read through a third, cached open returns it",
				Patch:       patchPdio,
				FailsOnBase: pdioFailsOnBase,
			},
			Run: pdioParallelWriters,
		},
		{
			Declaration: guestproto.Declaration{
				Name: "fuse/pdio-aio-parallel-writers",
				Area: "fuse",
				Setup: "as fuse/pdio-parallel-writers with FUSE_ASYNC_DIO; two io_submit() O_DIRECT writes held at the gate; then one the server " +
					"fails with EIO; then a cached open by a child process",
				Checks: "both queued writes are held at once and took i_rwsem shared in fuse_direct_write_iter; each holds an uncached io reference " +
					"until it completes (iocachectr stays below 0 after io_submit returned); the failed write returns EIO; afterwards iocachectr is " +
					"back to 0 and the child's cached open returns at once: no reference leaks, on success or error",
				Patch:       patchPdio,
				FailsOnBase: pdioFailsOnBase,
			},
			Run: pdioAIOParallelWriters,
		},
		{
			Declaration: guestproto.Declaration{
				Name: "fuse/aio-parallel-write-holds-uncached-ref",
				Area: "fuse",
				Setup: "FUSE_ASYNC_DIO, FOPEN_DIRECT_IO|FOPEN_PARALLEL_DIRECT_WRITES (no pdio flag); an io_submit() write through an O_DIRECT open " +
					"(6.12 queues it only with O_DIRECT, 7.3 for any open of the FOPEN_DIRECT_IO file) held at the server gate; then a child " +
					"opens the file cached",
				Checks: "the queued write keeps an uncached io reference after io_submit() returned (iocachectr -1), so the child's cached open " +
					"waits in fuse_file_cached_io_open and its OPEN is answered but the open does not return while the WRITE is held; after " +
					"release the reference is dropped (fuse_inode_uncached_io_end) before the open returns, with iocachectr 1",
				Patch: patchPdioAIO,
				FailsOnBase: "fuse_dio_unlock() drops the writer's uncached io reference when fuse_direct_IO() returns -EIOCBQUEUED: the cached " +
					"open returns while the queued WRITE is still with the server",
			},
			Run: aioParallelWriteHoldsUncachedRef,
		},
		{
			Declaration: guestproto.Declaration{
				Name: "fuse/pdio-fcntl-buffered-write-waits",
				Area: "fuse",
				Setup: "pdio server; two O_DIRECT writers through one open held at the gate; a second O_DIRECT open whose O_DIRECT fcntl(F_SETFL) " +
					"clears, then a buffered write of newer bytes over the first writer's range through it",
				Checks: "the two direct writes are at the server at once; the buffered write enters caching io mode (fuse_file_cached_io_open " +
					"from fuse_cache_write_iter, fuse_iomode cached_deferred where traced) and waits there: it neither returns nor sends its WRITE " +
					"while the direct writes are held, and returns only after the last one dropped its uncached io reference; afterwards a " +
					"buffered read and the server hold the buffered write's bytes (the newest) and a further O_DIRECT write takes i_rwsem exclusive",
				Patch:       patchPdio,
				FailsOnBase: pdioFailsOnBase,
			},
			Run: pdioFcntlBufferedWriteWaits,
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "fuse/pdio-mmap-waits",
				Area:  "fuse",
				Setup: "pdio server; two O_DIRECT writers held at the gate; a MAP_SHARED mmap of the file through a second O_DIRECT open",
				Checks: "the writers are at the server at once; mmap() enters caching io mode through fuse_file_mmap and does not return while " +
					"they are held; after release it returns, the mapping shows the bytes of both writes, and the next O_DIRECT write takes " +
					"i_rwsem exclusive (caching io mode)",
				Patch:       patchPdio,
				FailsOnBase: pdioFailsOnBase,
			},
			Run: pdioMmapWaits,
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "fuse/pdio-fadvise-waits",
				Area:  "fuse",
				Setup: "pdio server; two O_DIRECT writers held at the gate; posix_fadvise(POSIX_FADV_WILLNEED) through a second O_DIRECT open",
				Checks: "the writers are at the server at once; fadvise enters caching io mode (fuse_file_cached_io_open) and waits: no READ " +
					"reaches the server and fadvise does not return while the writes are held; after release it returns, and a buffered read " +
					"then returns the written bytes",
				Patch:       patchPdio,
				FailsOnBase: pdioFailsOnBase,
			},
			Run: pdioFadviseWaits,
		},
		{
			Declaration: guestproto.Declaration{
				Name: "fuse/pdio-eof-append-exclusive",
				Area: "fuse",
				Setup: "pdio server, 64 KiB file, WRITE gate; pairs of O_DIRECT writes: both ending exactly at EOF, one straddling EOF, one " +
					"past EOF, one through an O_APPEND open",
				Checks: "two writes that end at EOF are at the server at once (shared); a write straddling EOF, one past EOF and an O_APPEND " +
					"write each take i_rwsem exclusive and keep a second writer out of the server while held (max in flight 1; " +
					"fuse_dio_write_lock extending/append where traced); the file grows to the end of the last write",
				Patch:       patchPdio,
				FailsOnBase: pdioFailsOnBase,
			},
			Run: pdioEOFAppendExclusive,
		},
		{
			Declaration: guestproto.Declaration{
				Name: "fuse/pdio-passthrough-excludes-cached",
				Area: "fuse",
				Setup: "FUSE_PASSTHROUGH and FUSE_PARALLEL_ODIRECT_WRITES; an O_DIRECT open answered without FOPEN_PASSTHROUGH (deferring caching " +
					"io mode), then (rules switched) a passthrough open of the same file",
				Checks: "the passthrough open succeeds (uncached io start 0 -> -1) beside the deferred open; through the latter, after fcntl() " +
					"cleared O_DIRECT, a buffered read fails with ETXTBSY (fuse_file_cached_io_open refused) and mmap with ENODEV, and a new " +
					"O_DIRECT open of the inode fails with EIO; the page cache is never used while the inode is in passthrough mode",
				Patch:       patchPdio,
				FailsOnBase: "the O_DIRECT open puts the inode in caching io mode, so the passthrough open beside it fails with EIO",
			},
			Run: pdioPassthroughExcludesCached,
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "fuse/pdio-truncate-waits",
				Area:  "fuse",
				Setup: "pdio server, 1 MiB file; two O_DIRECT writers held at the gate; ftruncate() to 256 KiB through another O_DIRECT open",
				Checks: "the writers are at the server at once; ftruncate waits for them (it takes i_rwsem exclusive; its SETATTR reaches the " +
					"server only after both WRITEs were answered and overlaps no WRITE of the file; a WRITE a signal interrupted and that is " +
					"written again may follow it) and returns after release; the file is 256 KiB on the server and through stat, " +
					"the writes below it landed, and a buffered read past the new EOF returns nothing",
				Patch:       patchPdio,
				FailsOnBase: pdioFailsOnBase,
			},
			Run: pdioTruncateWaits,
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "fuse/pdio-remove-privs",
				Area:  "fuse",
				Setup: "pdio server; a setuid file; O_DIRECT writes by a thread without CAP_FSETID, the first one held at the gate",
				Checks: "the first write must remove the setuid bit, so it takes i_rwsem exclusive (fuse_dio_write_lock remove_privs where " +
					"traced) and its SETATTR clears the bit on the server before the WRITE; two later writes, with nothing left to remove, " +
					"are at the server at once under the shared lock",
				Patch:       patchPdio,
				FailsOnBase: pdioFailsOnBase,
			},
			Run: pdioRemovePrivs,
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "fuse/pdio-writeback-cache",
				Area:  "fuse",
				Setup: "pdio server with FUSE_WRITEBACK_CACHE (the kernel keeps size and times); two O_DIRECT writers held at the gate",
				Checks: "both direct writes are at the server at once under the shared lock (kiocb_modified() updates the times without " +
					"blocking); afterwards the server holds their bytes and stat shows a later mtime",
				Patch:       patchPdio,
				FailsOnBase: pdioFailsOnBase,
			},
			Run: pdioWritebackCache,
		},
		{
			Declaration: guestproto.Declaration{
				Name: "fuse/pdio-not-asked",
				Area: "fuse",
				Setup: "a server that answers O_DIRECT opens with FOPEN_PARALLEL_DIRECT_WRITES but without FOPEN_DIRECT_IO and does not reply " +
					"with FUSE_PARALLEL_ODIRECT_WRITES (as libfuse's passthrough examples do); WRITE gate",
				Checks: "today's behaviour on every kernel: the O_DIRECT open enters caching io mode (fuse_file_cached_io_open, iocachectr 0 -> 1) " +
					"and the second O_DIRECT writer never reaches the server while the first is held: max in flight 1, i_rwsem exclusive in " +
					"fuse_cache_write_iter for both",
			},
			Run: pdioNotAsked,
		},
	}
}

// heldWriters starts one O_DIRECT pwrite (or io_submit write) per
// offset through files (round robin) and waits until all are held at
// gate "w" together.
func heldWriters(t *scenario.T, m *scenario.FUSEMount, files []*os.File, offs []int64, seed byte, aio bool) ([]<-chan ioResult, [][]byte) {
	var res []<-chan ioResult
	var bufs [][]byte
	for i, off := range offs {
		b := alignedBuf(t, page, seed+byte(i))
		bufs = append(bufs, b)
		f := files[i%len(files)]
		if aio {
			res = append(res, aioPwrite(f, b, off))
		} else {
			res = append(res, goPwrite(f, b, off))
		}
	}
	if held, err := m.WaitHeld("w", len(offs), holdWait); err != nil {
		t.Fatalf("want the %d O_DIRECT WRITEs held at the server together, %d were: %v", len(offs), held, err)
	}
	return res, bufs
}

// waitAll waits for each write and wants it complete.
func waitAll(t *scenario.T, what string, res []<-chan ioResult) {
	for i, ch := range res {
		if r := waitIO(t, fmt.Sprintf("%s %d", what, i), ch); r.err != nil || r.n != page {
			t.Fatalf("%s %d returned %d, %v; want %d", what, i, r.n, r.err, page)
		}
	}
}

// sharedByWriters wants every i_rwsem acquisition of the write path
// shared, in fuse_direct_write_iter, once per write and, for writes that
// wait in the system call, by a thread each.
func sharedByWriters(t *scenario.T, ev probe.Events, writers int) { sharedWrites(t, ev, writers, true) }

func sharedWrites(t *scenario.T, ev probe.Events, writers int, threadEach bool) {
	shared := ev.Of(probe.KindLockShared).Where(func(e probe.Event) bool { return e.Within.Has(probe.FuncFuseDirectWriteIter) })
	tids := map[uint32]bool{}
	for _, e := range shared {
		tids[e.TID] = true
	}
	// A signal to a writer whose WRITE is held at the gate (the Go
	// runtime's, on a loaded host) makes the kernel send FUSE_INTERRUPT;
	// the test server answers the WRITE with EINTR and goPwrite writes
	// again, which takes the lock once more (on whichever thread the
	// goroutine then runs).
	retried := len(ev.Of(probe.KindWriteExit).Where(func(e probe.Event) bool {
		return e.Within.Has(probe.FuncFuseFileWriteIter) && e.Errno() == unix.EINTR
	}))
	if len(shared) != writers+retried || (threadEach && (len(tids) < writers || len(tids) > writers+retried)) {
		t.Fatalf("want i_rwsem taken shared in fuse_direct_write_iter once by each of %d writer threads (%d writes retried after EINTR), got %d acquisitions by %d threads (%s)\n%s",
			writers, retried, len(shared), len(tids), lockTrace(ev), ev)
	}
	if n := len(ev.Of(probe.KindLockExclusive).Where(func(e probe.Event) bool { return e.Within.Has(probe.FuncFuseFileWriteIter) })); n != 0 {
		t.Fatalf("an O_DIRECT write took i_rwsem exclusive (%d times): %s\n%s", n, lockTrace(ev), ev)
	}
}

// traced checks the fuse_dio_write_lock events of ev where the kernel
// has the tracepoint (the fuse series adds it): want lists the expected
// (exclusive, reason) of each direct write, in order.
func traced(t *scenario.T, ps *scenario.Probes, ev probe.Events, want ...lockDecision) {
	if ps.MustAttach("tp_btf/fuse_dio_write_lock") != nil {
		t.Logf("no fuse_dio_write_lock tracepoint on this kernel: lock decisions checked through i_rwsem only")
		return
	}
	var got []lockDecision
	for _, e := range ev.Of(probe.KindTraceDIOWriteLock) {
		got = append(got, lockDecision{e.Flags&probe.FlagExclusive != 0, probe.DIOLockReason(e.Aux)})
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("fuse_dio_write_lock: %v, want %v\n%s", got, want, ev)
	}
}

// lockDecision is one fuse_dio_write_lock event: the lock and why.
type lockDecision struct {
	Exclusive bool
	Reason    probe.DIOLockReason
}

func (d lockDecision) String() string {
	if d.Exclusive {
		return "exclusive/" + d.Reason.String()
	}
	return "shared/" + d.Reason.String()
}

var sharedParallel = lockDecision{false, probe.DIOLockParallel}

// cachedPath reports whether e happened in fuse_cache_write_iter: inside
// fuse_file_write_iter and not inside fuse_direct_write_iter.
func cachedPath(e probe.Event) bool {
	return e.Within.Has(probe.FuncFuseFileWriteIter) && !e.Within.Has(probe.FuncFuseDirectWriteIter)
}

// pdioProbes loads what every pdio scenario observes: the context of the
// write paths, i_rwsem, the io-mode transitions and, where the kernel
// has them, the fuse series' tracepoints. fuse_cache_write_iter is
// inlined into fuse_file_write_iter: a write inside the latter but not
// inside fuse_direct_write_iter took the cached path (cachedPath).
func pdioProbes(t *scenario.T, more ...string) *scenario.Probes {
	need := append([]string{"fentry/fuse_file_write_iter", "fentry/fuse_direct_write_iter", "fexit/down_read", "fexit/down_write", "fentry/fuse_file_cached_io_open", "fexit/fuse_file_cached_io_open"}, more...)
	ps := t.Probes(need...)
	ps.MustAttach("tp_btf/fuse_iomode", "tp_btf/fuse_dio_write_lock")
	return ps
}

func pdioParallelWriters(t *scenario.T) {
	ps := pdioProbes(t)
	m := t.FUSE(pdioConfig("/pw", 1<<20, fuse.Capabilities{}))
	requirePdio(t, m)
	node, err := m.NodeID("/pw")
	t.Check(err, "node id")
	path := m.Path("pw")
	ps.WatchPath(path)
	var a, b *os.File
	opens := ps.Record(func() {
		a = openFile(t, path, os.O_RDWR|unix.O_DIRECT)
		b = openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	})
	if n := opens.Count(probe.KindCachedIOOpenEnter); n != 0 {
		t.Fatalf("an O_DIRECT open entered caching io mode (%d calls to fuse_file_cached_io_open)\n%s", n, opens)
	}
	t.Check(m.ArmGate("w", fuse.OpWrite, "/pw"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	var bufs [][]byte
	offs := []int64{0, 128 << 10, 512 << 10}
	ev := ps.Record(func() {
		var res []<-chan ioResult
		res, bufs = heldWriters(t, m, []*os.File{a, a, b}, offs, 0x31, false)
		st, err := m.Stats()
		t.Check(err, "stats")
		if got := st.MaxInFlight(node, fuse.OpWrite); got != 3 {
			t.Errorf("server saw max %d WRITEs in flight, want 3", got)
		}
		_, err = m.ReleaseAll("w")
		t.Check(err, "release")
		waitAll(t, "O_DIRECT write", res)
	})
	sharedByWriters(t, ev, 3)
	traced(t, ps, ev, sharedParallel, sharedParallel, sharedParallel)
	content, err := m.FileContent("/pw")
	t.Check(err, "server content")
	c := openFile(t, path, os.O_RDONLY)
	for i, off := range offs {
		sameBytes(t, fmt.Sprintf("writer %d's page on the server", i), content[off:off+page], bufs[i])
		sameBytes(t, fmt.Sprintf("writer %d's page read through the page cache", i), preadFull(t, c, make([]byte, page), off), bufs[i])
	}
}

func pdioAIOParallelWriters(t *scenario.T) {
	ps := pdioProbes(t, "fexit/fuse_inode_uncached_io_end")
	m := t.FUSE(pdioConfig("/aw", 1<<20, fuse.Capabilities{AsyncDIO: true}))
	requirePdio(t, m)
	node, err := m.NodeID("/aw")
	t.Check(err, "node id")
	path := m.Path("aw")
	// The child for the cached open at the end, started before this
	// process opens the file (see cachedOpenKillable).
	child, in, exited := startOpener(t, path)
	f := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	ps.Watch(f)
	t.Check(m.ArmGate("w", fuse.OpWrite, "/aw"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	var bufs [][]byte
	ev := ps.Record(func() {
		var res []<-chan ioResult
		res, bufs = heldWriters(t, m, []*os.File{f}, []int64{0, 256 << 10}, 0x41, true)
		st, err := m.Stats()
		t.Check(err, "stats")
		if got := st.MaxInFlight(node, fuse.OpWrite); got != 2 {
			t.Errorf("server saw max %d WRITEs in flight, want 2", got)
		}
		_, err = m.ReleaseAll("w")
		t.Check(err, "release")
		waitAll(t, "io_submit write", res)
		// One the server fails: its reference must be dropped too.
		m.DisarmGate("w")
		t.Check(m.SetFault(fuse.Fault{Name: "eio", Match: fuse.Match{Op: fuse.OpWrite, Glob: "/aw", Count: 1}, Errno: fuse.Errno(syscall.EIO)}), "fault")
		if r := <-aioPwrite(f, alignedBuf(t, page, 0x43), 512<<10); !errors.Is(r.err, unix.EIO) {
			t.Fatalf("io_submit write the server fails: %d, %v; want EIO", r.n, r.err)
		}
		t.Check(m.ClearFaults(), "clear faults")
	})
	// io_submit() returns once the write is queued, so one thread may
	// submit several.
	sharedWrites(t, ev, 3, false)
	if last, ok := ev.Last(probe.KindUncachedIOEndExit); !ok || last.CtrAfter != 0 {
		t.Fatalf("after the queued writes completed, iocachectr is not back to 0: %v\n%s", last, ev)
	}
	// The writes completed after io_submit() returned: their references
	// were dropped by their completions, after the writers unlocked.
	ends := ev.Of(probe.KindUncachedIOEndExit)
	if len(ends) != 6 {
		t.Errorf("want 6 uncached io ends (a writer's and its queued write's, for 3 writes), got %d\n%s", len(ends), ev)
	}
	content, err := m.FileContent("/aw")
	t.Check(err, "server content")
	sameBytes(t, "first queued write on the server", content[:page], bufs[0])
	sameBytes(t, "second queued write on the server", content[256<<10:256<<10+page], bufs[1])
	// A cached open now returns at once: no reference is left.
	_, err = in.Write([]byte("go\n"))
	t.Check(err, "tell the child to open")
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("cached open after the queued writes: %v", err)
		}
	case <-time.After(holdWait):
		child.Process.Kill()
		t.Fatalf("a cached open after the queued writes did not return within %v: an uncached io reference leaked", holdWait)
	}
}

// startOpener starts "open-file PATH" in a child process: it opens PATH
// read-write (cached, unless the rules say otherwise) when told to, and
// exits 0 once the open returned.
func startOpener(t *scenario.T, path string) (*exec.Cmd, interface{ Write([]byte) (int, error) }, <-chan error) {
	child := exec.Command(t.Env().Exe, "open-file", path)
	in, err := child.StdinPipe()
	t.Check(err, "pipe")
	out, err := child.StdoutPipe()
	t.Check(err, "pipe")
	t.Check(child.Start(), "start child")
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	t.Cleanup(func() { child.Process.Kill() })
	lines := bufio.NewReader(out)
	if l, err := lines.ReadString('\n'); err != nil || l != "ready\n" {
		t.Fatalf("child did not start: %q, %v", l, err)
	}
	return child, in, exited
}

func aioParallelWriteHoldsUncachedRef(t *scenario.T) {
	ps := t.Probes("fentry/fuse_file_cached_io_open", "fexit/fuse_file_cached_io_open", "fentry/fuse_inode_uncached_io_end", "fexit/fuse_inode_uncached_io_start")
	m := t.FUSE(fileOf("/ar", 64<<10, fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true}, fuse.Capabilities{AsyncDIO: true}))
	path := m.Path("ar")
	child, in, exited := startOpener(t, path)
	t.Check(ps.WatchTask(child.Process.Pid), "watch child")
	t.Cleanup(func() { ps.UnwatchTask(child.Process.Pid) })
	// O_DIRECT: without it 6.12's fuse_direct_write_iter() sends an
	// io_submit() write synchronously, and io_submit() returns only when
	// the WRITE is answered.
	f := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	ps.Watch(f)
	t.Check(m.ArmGate("w", fuse.OpWrite, "/ar"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	ev := ps.Record(func() {
		res := aioPwrite(f, alignedBuf(t, page, 0x51), 0)
		if _, err := m.WaitHeld("w", 1, holdWait); err != nil {
			t.Fatalf("the queued WRITE never reached the server: %v", err)
		}
		t.Check(m.SetRules(), "rules: cached")
		st, err := m.Stats()
		t.Check(err, "stats")
		_, err = in.Write([]byte("go\n"))
		t.Check(err, "tell the child to open")
		if _, err := m.WaitCount(fuse.OpOpen, st.Count(fuse.OpOpen)+1, holdWait); err != nil {
			t.Fatalf("the child's OPEN never reached the server: %v", err)
		}
		select {
		case err := <-exited:
			m.DisarmGate("w")
			t.Fatalf("the cached open returned (%v) while the queued parallel write was held", err)
		case <-time.After(absentWait):
		}
		m.DisarmGate("w")
		if r := waitIO(t, "queued write", res); r.err != nil || r.n != page {
			t.Fatalf("queued write: %d, %v", r.n, r.err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("cached open: %v", err)
			}
		case <-time.After(holdWait):
			t.Fatalf("the cached open did not return after the queued write completed")
		}
	})
	start, ok := ev.First(probe.KindUncachedIOStartExit)
	if !ok || start.Ret != 0 {
		t.Fatalf("no uncached io start for the parallel write\n%s", ev)
	}
	if err := ev.CheckOrder(probe.KindCachedIOOpenEnter, probe.KindUncachedIOEndEnter, probe.KindCachedIOOpenExit); err != nil {
		t.Fatalf("the cached open did not wait for the queued write's reference: %v\n%s", err, ev)
	}
	open, _ := ev.Last(probe.KindCachedIOOpenExit)
	if open.Ret != 0 || open.CtrAfter != 1 {
		t.Fatalf("cached open: ret %d, iocachectr %d; want 0, 1\n%s", open.Ret, open.CtrAfter, ev)
	}
}

func pdioFcntlBufferedWriteWaits(t *scenario.T) {
	ps := pdioProbes(t, "fentry/fuse_inode_uncached_io_end")
	m := t.FUSE(pdioConfig("/fc", 1<<20, fuse.Capabilities{}))
	requirePdio(t, m)
	path := m.Path("fc")
	a := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	b := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	ps.Watch(a)
	flags, err := unix.FcntlInt(b.Fd(), unix.F_GETFL, 0)
	t.Check(err, "F_GETFL")
	_, err = unix.FcntlInt(b.Fd(), unix.F_SETFL, flags&^unix.O_DIRECT)
	t.Check(err, "F_SETFL without O_DIRECT")
	t.Check(m.ArmGate("w", fuse.OpWrite, "/fc"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	newer := pattern(page, 0x6e)
	var bufs [][]byte
	ev := ps.Record(func() {
		var res []<-chan ioResult
		res, bufs = heldWriters(t, m, []*os.File{a}, []int64{0, 64 << 10}, 0x61, false)
		buffered := goPwrite(b, newer, 0)
		select {
		case r := <-buffered:
			t.Errorf("the buffered write returned (%d, %v) while parallel direct writes were held", r.n, r.err)
		case <-time.After(absentWait):
		}
		if held, _ := m.WaitHeld("w", 3, 0); held > 2 {
			t.Errorf("the buffered write's WRITE reached the server while the direct writes were held")
		}
		m.DisarmGate("w")
		waitAll(t, "O_DIRECT write", res)
		if r := waitIO(t, "buffered write", buffered); r.err != nil || r.n != page {
			t.Fatalf("buffered write: %d, %v", r.n, r.err)
		}
		// Caching io mode now: a direct write takes i_rwsem exclusive.
		pwriteFull(t, a, alignedBuf(t, page, 0x63), 128<<10)
	})
	sameBytes(t, "buffered read after the writes (the buffered write is the newest)", preadFull(t, b, make([]byte, page), 0), newer)
	content, err := m.FileContent("/fc")
	t.Check(err, "server content")
	sameBytes(t, "server bytes at 0", content[:page], newer)
	sameBytes(t, "server bytes of the second direct write", content[64<<10:64<<10+page], bufs[1])
	enter, ok := ev.First(probe.KindCachedIOOpenEnter)
	if !ok || !cachedPath(enter) {
		t.Fatalf("the buffered write did not enter caching io mode from fuse_cache_write_iter\n%s", ev)
	}
	if err := ev.CheckOrder(probe.KindCachedIOOpenEnter, probe.KindUncachedIOEndEnter, probe.KindUncachedIOEndEnter, probe.KindCachedIOOpenExit); err != nil {
		t.Fatalf("the buffered write did not wait for both direct writes: %v\n%s", err, ev)
	}
	if open, _ := ev.Last(probe.KindCachedIOOpenExit); open.Ret != 0 || open.CtrAfter != 1 {
		t.Fatalf("caching io mode: ret %d, iocachectr %d; want 0, 1\n%s", open.Ret, open.CtrAfter, ev)
	}
	excl := ev.Of(probe.KindLockExclusive).Where(func(e probe.Event) bool { return e.Within.Has(probe.FuncFuseDirectWriteIter) })
	if len(excl) != 1 {
		t.Fatalf("the O_DIRECT write after the buffered one did not take i_rwsem exclusive (%s)\n%s", lockTrace(ev), ev)
	}
	if ps.MustAttach("tp_btf/fuse_iomode") == nil {
		deferred := ev.Of(probe.KindTraceIOMode).Where(func(e probe.Event) bool { return probe.IOModeEvent(e.Aux) == probe.IOModeCachedDeferred })
		if len(deferred) != 1 {
			t.Fatalf("fuse_iomode: want one cached_deferred transition\n%s", ev)
		}
	}
	traced(t, ps, ev, sharedParallel, sharedParallel, lockDecision{true, probe.DIOLockCachedIOMode})
}

func pdioMmapWaits(t *scenario.T) {
	ps := pdioProbes(t, "fentry/fuse_inode_uncached_io_end", "fentry/fuse_file_mmap", "fexit/fuse_file_mmap")
	m := t.FUSE(pdioConfig("/mm", 256<<10, fuse.Capabilities{}))
	requirePdio(t, m)
	path := m.Path("mm")
	a := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	b := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	ps.Watch(a)
	t.Check(m.ArmGate("w", fuse.OpWrite, "/mm"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	var bufs [][]byte
	var mp mmapResult
	ev := ps.Record(func() {
		var res []<-chan ioResult
		res, bufs = heldWriters(t, m, []*os.File{a}, []int64{0, 2 * page}, 0x71, false)
		done := make(chan mmapResult, 1)
		go func() {
			b, err := unix.Mmap(int(b.Fd()), 0, 4*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
			done <- mmapResult{b, err}
		}()
		select {
		case r := <-done:
			if r.err == nil {
				unix.Munmap(r.b)
			}
			t.Fatalf("mmap returned (%v) while parallel direct writes were held", r.err)
		case <-time.After(absentWait):
		}
		m.DisarmGate("w")
		waitAll(t, "O_DIRECT write", res)
		select {
		case mp = <-done:
		case <-t.Context().Done():
			t.Fatalf("mmap never returned after the direct writes drained")
		}
		t.Check(mp.err, "mmap")
		t.Cleanup(func() { unix.Munmap(mp.b) })
		sameBytes(t, "mapping of the first direct write", mp.b[:page], bufs[0])
		sameBytes(t, "mapping of the second direct write", mp.b[2*page:3*page], bufs[1])
		pwriteFull(t, a, alignedBuf(t, page, 0x73), 3*page)
	})
	if err := ev.CheckOrder(probe.KindCachedIOOpenEnter, probe.KindUncachedIOEndEnter, probe.KindUncachedIOEndEnter, probe.KindCachedIOOpenExit, probe.KindFuseMmapExit); err != nil {
		t.Fatalf("mmap did not wait in fuse_file_mmap for both direct writes: %v\n%s", err, ev)
	}
	if enter, _ := ev.First(probe.KindCachedIOOpenEnter); !enter.Within.Has(probe.FuncFuseFileMmap) {
		t.Fatalf("caching io mode was not entered from fuse_file_mmap: %v\n%s", enter, ev)
	}
	sameBytes(t, "mapping after the exclusive direct write", mp.b[3*page:4*page], pattern(page, 0x73))
	if excl := ev.Of(probe.KindLockExclusive).Where(func(e probe.Event) bool { return e.Within.Has(probe.FuncFuseDirectWriteIter) }); len(excl) != 1 {
		t.Fatalf("the O_DIRECT write after the mmap did not take i_rwsem exclusive (%s)\n%s", lockTrace(ev), ev)
	}
}

func pdioFadviseWaits(t *scenario.T) {
	ps := pdioProbes(t, "fentry/fuse_inode_uncached_io_end")
	m := t.FUSE(pdioConfig("/fa", 256<<10, fuse.Capabilities{}))
	requirePdio(t, m)
	path := m.Path("fa")
	a := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	b := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	ps.Watch(a)
	t.Check(m.ArmGate("w", fuse.OpWrite, "/fa"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	var bufs [][]byte
	ev := ps.Record(func() {
		var res []<-chan ioResult
		res, bufs = heldWriters(t, m, []*os.File{a}, []int64{0, page}, 0x81, false)
		st, err := m.Stats()
		t.Check(err, "stats")
		reads := st.Count(fuse.OpRead)
		done := make(chan error, 1)
		go func() { done <- unix.Fadvise(int(b.Fd()), 0, 4*page, unix.FADV_WILLNEED) }()
		select {
		case err := <-done:
			t.Errorf("posix_fadvise(WILLNEED) returned (%v) while parallel direct writes were held", err)
		case <-time.After(absentWait):
		}
		if st, _ := m.Stats(); st.Count(fuse.OpRead) != reads {
			t.Errorf("readahead sent %d READs while parallel direct writes were held", st.Count(fuse.OpRead)-reads)
		}
		m.DisarmGate("w")
		waitAll(t, "O_DIRECT write", res)
		select {
		case err := <-done:
			t.Check(err, "posix_fadvise(WILLNEED)")
		case <-time.After(holdWait):
			t.Fatalf("posix_fadvise(WILLNEED) never returned after the direct writes drained")
		}
	})
	if enter, ok := ev.First(probe.KindCachedIOOpenEnter); !ok {
		t.Fatalf("fadvise did not enter caching io mode\n%s", ev)
	} else if err := ev.CheckOrder(probe.KindCachedIOOpenEnter, probe.KindUncachedIOEndEnter, probe.KindUncachedIOEndEnter, probe.KindCachedIOOpenExit); err != nil {
		t.Fatalf("fadvise did not wait for both direct writes (%v): %v\n%s", enter, err, ev)
	}
	// What the readahead put in the page cache is what the writes stored.
	flags, err := unix.FcntlInt(b.Fd(), unix.F_GETFL, 0)
	t.Check(err, "F_GETFL")
	_, err = unix.FcntlInt(b.Fd(), unix.F_SETFL, flags&^unix.O_DIRECT)
	t.Check(err, "F_SETFL")
	got := preadFull(t, b, make([]byte, 2*page), 0)
	sameBytes(t, "read of the first direct write", got[:page], bufs[0])
	sameBytes(t, "read of the second direct write", got[page:], bufs[1])
}

func pdioEOFAppendExclusive(t *scenario.T) {
	ps := pdioProbes(t)
	const size = 64 << 10
	m := t.FUSE(pdioConfig("/eo", size, fuse.Capabilities{}))
	requirePdio(t, m)
	path := m.Path("eo")
	f := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	ap := openFile(t, path, os.O_RDWR|unix.O_DIRECT|unix.O_APPEND)
	ps.Watch(f)
	t.Check(m.ArmGate("w", fuse.OpWrite, "/eo"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	// Two writes that end at EOF run in parallel.
	ev := ps.Record(func() {
		res, _ := heldWriters(t, m, []*os.File{f}, []int64{size - 2*page, size - page}, 0x91, false)
		m.ReleaseAll("w")
		waitAll(t, "write ending at EOF", res)
	})
	sharedByWriters(t, ev, 2)
	traced(t, ps, ev, sharedParallel, sharedParallel)
	// Each of these must keep a second writer out while held.
	end := int64(size)
	for _, c := range []struct {
		what   string
		file   *os.File
		off    int64
		reason probe.DIOLockReason
	}{
		{"a write straddling EOF", f, end - page/2, probe.DIOLockExtending},
		{"a write past EOF", f, end + page, probe.DIOLockExtending},
		{"an O_APPEND write", ap, 0, probe.DIOLockAppend},
	} {
		ev := ps.Record(func() {
			first := goPwrite(c.file, alignedBuf(t, page, 0x95), c.off)
			if _, err := m.WaitHeld("w", 1, holdWait); err != nil {
				t.Fatalf("%s never reached the server: %v", c.what, err)
			}
			second := goPwrite(f, alignedBuf(t, page, 0x96), 0)
			if held, err := m.WaitHeld("w", 2, absentWait); err == nil || !errors.Is(err, fuse.ErrWaitTimeout) {
				t.Fatalf("a second writer reached the server while %s was held (%d held)", c.what, held)
			}
			m.DisarmGate("w")
			waitAll(t, c.what, []<-chan ioResult{first, second})
			t.Check(m.ArmGate("w", fuse.OpWrite, "/eo"), "arm gate")
		})
		firstExcl, ok := ev.First(probe.KindLockExclusive)
		if !ok || !firstExcl.Within.Has(probe.FuncFuseDirectWriteIter) {
			t.Fatalf("%s did not take i_rwsem exclusive in fuse_direct_write_iter (%s)\n%s", c.what, lockTrace(ev), ev)
		}
		traced(t, ps, ev, lockDecision{true, c.reason}, sharedParallel)
		st, err := os.Stat(path)
		t.Check(err, "stat")
		if c.off+page > end || c.file == ap {
			end = max(end, c.off+page)
			if c.file == ap {
				end += page
			}
		}
		if st.Size() != end {
			t.Fatalf("after %s the file is %d bytes, want %d", c.what, st.Size(), end)
		}
	}
}

func pdioPassthroughExcludesCached(t *scenario.T) {
	ps := t.Probes("fexit/fuse_inode_uncached_io_start", "fexit/fuse_file_io_open", "fexit/fuse_file_cached_io_open", "fexit/fuse_file_mmap")
	cfg, _ := passthroughConfig(t, pattern(4*page, 0x22))
	cfg.Capabilities.ParallelODirectWrites = true
	deferred := []fuse.OpenRule{{Glob: "/pt", OpenPolicy: fuse.OpenPolicy{ParallelDirectWrites: true}}}
	passthrough := []fuse.OpenRule{{Glob: "/pt", OpenPolicy: fuse.OpenPolicy{Passthrough: true}}}
	cfg.Rules = deferred
	m := t.FUSE(cfg)
	path := m.Path("pt")
	ps.WatchPath(path)
	ev := ps.Record(func() {
		d := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
		t.Check(m.SetRules(passthrough...), "rules: passthrough")
		p := openFile(t, path, os.O_RDWR)
		flags, err := unix.FcntlInt(d.Fd(), unix.F_GETFL, 0)
		t.Check(err, "F_GETFL")
		_, err = unix.FcntlInt(d.Fd(), unix.F_SETFL, flags&^unix.O_DIRECT)
		t.Check(err, "F_SETFL")
		if _, err := unix.Pread(int(d.Fd()), make([]byte, page), 0); !errors.Is(err, unix.ETXTBSY) {
			t.Errorf("buffered read through the deferred open of a passthrough inode: %v, want ETXTBSY", err)
		}
		if b, err := unix.Mmap(int(d.Fd()), 0, page, unix.PROT_READ, unix.MAP_SHARED); err == nil {
			unix.Munmap(b)
			t.Errorf("mmap through the deferred open of a passthrough inode succeeded")
		} else if !errors.Is(err, unix.ENODEV) {
			t.Errorf("mmap through the deferred open of a passthrough inode: %v, want ENODEV", err)
		}
		t.Check(m.SetRules(deferred...), "rules: deferred")
		if f, err := os.OpenFile(path, os.O_RDWR|unix.O_DIRECT, 0); err == nil {
			f.Close()
			t.Errorf("an O_DIRECT open of an inode in passthrough mode succeeded")
		} else if !errors.Is(err, unix.EIO) {
			t.Errorf("an O_DIRECT open of an inode in passthrough mode: %v, want EIO", err)
		}
		t.Check(p.Close(), "close passthrough file")
		t.Check(d.Close(), "close deferred file")
	})
	start, ok := ev.First(probe.KindUncachedIOStartExit)
	if !ok || start.Ret != 0 || start.CtrBefore != 0 || start.CtrAfter != -1 {
		t.Fatalf("the passthrough open beside the deferred one: want uncached io start 0 -> -1 returning 0\n%s", ev)
	}
	refused := ev.Of(probe.KindCachedIOOpenExit).Where(func(e probe.Event) bool { return e.Ret == -int64(unix.ETXTBSY) })
	if len(refused) != 1 {
		t.Fatalf("want the deferred open's caching io mode refused once with -ETXTBSY\n%s", ev)
	}
	if ok := ev.Of(probe.KindCachedIOOpenExit).Where(func(e probe.Event) bool { return e.Ret == 0 }); len(ok) != 0 {
		t.Fatalf("the inode entered caching io mode while in passthrough mode\n%s", ev)
	}
}

func pdioTruncateWaits(t *scenario.T) {
	ps := pdioProbes(t)
	m := t.FUSE(pdioConfig("/tr", 1<<20, fuse.Capabilities{}))
	requirePdio(t, m)
	path := m.Path("tr")
	a := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	tr := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	ps.Watch(a)
	node, err := m.NodeID("/tr")
	t.Check(err, "node id")
	t.Check(m.ArmGate("w", fuse.OpWrite, "/tr"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	var bufs [][]byte
	ev := ps.Record(func() {
		var res []<-chan ioResult
		res, bufs = heldWriters(t, m, []*os.File{a}, []int64{0, 128 << 10}, 0xa1, false)
		done := make(chan error, 1)
		go func() { done <- unix.Ftruncate(int(tr.Fd()), 256<<10) }()
		select {
		case err := <-done:
			t.Errorf("ftruncate returned (%v) while parallel direct writes were held", err)
		case <-time.After(absentWait):
		}
		m.DisarmGate("w")
		waitAll(t, "O_DIRECT write", res)
		select {
		case err := <-done:
			t.Check(err, "ftruncate")
		case <-time.After(holdWait):
			t.Fatalf("ftruncate never returned after the direct writes drained")
		}
	})
	sharedByWriters(t, ev, 2)
	log, err := m.Log()
	t.Check(err, "server log")
	// The truncating SETATTR reaches the server with no WRITE of the
	// file in flight. A WRITE that a signal interrupted (the Go
	// runtime's, on a loaded host: FUSE_INTERRUPT, answered EINTR) is
	// written again and may then follow the truncate: that retry waits
	// for the truncate's exclusive lock, so it starts after the SETATTR
	// was answered.
	var writes []fuse.Record
	var setattr fuse.Record
	for _, r := range log {
		switch {
		case r.NodeID != node:
		case r.Op == fuse.OpWrite:
			writes = append(writes, r)
		case r.Op == fuse.OpSetattr && setattr.Start.IsZero():
			setattr = r
		}
	}
	if setattr.Start.IsZero() || setattr.End.IsZero() {
		t.Fatalf("no truncating SETATTR answered at the server")
	}
	for _, w := range writes {
		if !w.End.Before(setattr.Start) && !w.Start.After(setattr.End) {
			t.Fatalf("the truncating SETATTR (%v - %v) overlapped a WRITE in flight (%v - %v, errno %d)", setattr.Start, setattr.End, w.Start, w.End, w.Errno)
		}
	}
	content, err := m.FileContent("/tr")
	t.Check(err, "server content")
	if len(content) != 256<<10 {
		t.Fatalf("server file is %d bytes, want %d", len(content), 256<<10)
	}
	sameBytes(t, "first write", content[:page], bufs[0])
	sameBytes(t, "second write", content[128<<10:128<<10+page], bufs[1])
	st, err := os.Stat(path)
	t.Check(err, "stat")
	if st.Size() != 256<<10 {
		t.Fatalf("stat size %d, want %d", st.Size(), 256<<10)
	}
	r := openFile(t, path, os.O_RDONLY)
	if n, err := unix.Pread(int(r.Fd()), make([]byte, page), 768<<10); n != 0 || err != nil {
		t.Fatalf("buffered read past the new EOF: %d, %v; want 0 bytes", n, err)
	}
}

func pdioRemovePrivs(t *scenario.T) {
	ps := pdioProbes(t)
	cfg := pdioConfig("/su", 256<<10, fuse.Capabilities{})
	cfg.Files[0].Mode = 0o4755
	m := t.FUSE(cfg)
	requirePdio(t, m)
	path := m.Path("su")
	f := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	ps.Watch(f)
	node, err := m.NodeID("/su")
	t.Check(err, "node id")
	t.Check(m.ArmGate("w", fuse.OpWrite, "/su"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	first := ps.Record(func() {
		res := pwriteWithoutFSETID(f, alignedBuf(t, page, 0xb1), 0)
		if _, err := m.WaitHeld("w", 1, holdWait); err != nil {
			t.Fatalf("the first WRITE never reached the server: %v", err)
		}
		m.DisarmGate("w")
		waitAll(t, "write that removes setuid", []<-chan ioResult{res})
	})
	// The RFC first takes the lock shared, finds privileges to remove
	// and takes it exclusive; the WRITE goes out under the latter.
	excl, ok := first.Last(probe.KindLockExclusive)
	if !ok || !excl.Within.Has(probe.FuncFuseFileWriteIter) {
		t.Fatalf("the write that must remove setuid did not take i_rwsem exclusive (%s)\n%s", lockTrace(first), first)
	}
	traced(t, ps, first, lockDecision{true, probe.DIOLockRemovePrivs})
	log, err := m.Log()
	t.Check(err, "server log")
	var setattr, write time.Time
	for _, r := range log {
		if r.NodeID != node {
			continue
		}
		switch {
		case r.Op == fuse.OpSetattr && setattr.IsZero():
			setattr = r.Start
		case r.Op == fuse.OpWrite && write.IsZero():
			write = r.Start
		}
	}
	if setattr.IsZero() || !setattr.Before(write) {
		t.Fatalf("no SETATTR before the WRITE (setattr %v, write %v): the setuid bit was not removed by the kernel first", setattr, write)
	}
	var st unix.Stat_t
	t.Check(unix.Stat(path, &st), "stat")
	if st.Mode&unix.S_ISUID != 0 {
		t.Fatalf("mode %o after the write: the setuid bit is still set", st.Mode)
	}
	t.Check(m.ArmGate("w", fuse.OpWrite, "/su"), "arm gate")
	ev := ps.Record(func() {
		res := []<-chan ioResult{pwriteWithoutFSETID(f, alignedBuf(t, page, 0xb2), 64<<10), pwriteWithoutFSETID(f, alignedBuf(t, page, 0xb3), 128<<10)}
		if held, err := m.WaitHeld("w", 2, holdWait); err != nil {
			t.Fatalf("with nothing left to remove, two writes were not at the server together (%d held): %v", held, err)
		}
		m.DisarmGate("w")
		waitAll(t, "write without privileges to remove", res)
	})
	sharedByWriters(t, ev, 2)
	traced(t, ps, ev, sharedParallel, sharedParallel)
}

// pwriteWithoutFSETID runs a pwrite on a thread of its own that dropped
// CAP_FSETID from its effective capabilities (capabilities are per
// thread), so that the write must remove the setuid bit. The thread
// exits with its goroutine.
func pwriteWithoutFSETID(f *os.File, b []byte, off int64) <-chan ioResult {
	ch := make(chan ioResult, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			ch <- ioResult{0, fmt.Errorf("capget: %w", err)}
			return
		}
		data[unix.CAP_FSETID/32].Effective &^= 1 << (unix.CAP_FSETID % 32)
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			ch <- ioResult{0, fmt.Errorf("capset: %w", err)}
			return
		}
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

func pdioWritebackCache(t *scenario.T) {
	ps := pdioProbes(t)
	m := t.FUSE(pdioConfig("/wb", 256<<10, fuse.Capabilities{WritebackCache: true}))
	requirePdio(t, m)
	path := m.Path("wb")
	node, err := m.NodeID("/wb")
	t.Check(err, "node id")
	before, err := os.Stat(path)
	t.Check(err, "stat")
	a := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	ps.Watch(a)
	t.Check(m.ArmGate("w", fuse.OpWrite, "/wb"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	var bufs [][]byte
	ev := ps.Record(func() {
		var res []<-chan ioResult
		res, bufs = heldWriters(t, m, []*os.File{a}, []int64{0, 64 << 10}, 0xc1, false)
		st, err := m.Stats()
		t.Check(err, "stats")
		if got := st.MaxInFlight(node, fuse.OpWrite); got != 2 {
			t.Errorf("server saw max %d WRITEs in flight, want 2", got)
		}
		m.DisarmGate("w")
		waitAll(t, "O_DIRECT write", res)
	})
	sharedByWriters(t, ev, 2)
	traced(t, ps, ev, sharedParallel, sharedParallel)
	content, err := m.FileContent("/wb")
	t.Check(err, "server content")
	sameBytes(t, "first direct write on the server", content[:page], bufs[0])
	sameBytes(t, "second direct write on the server", content[64<<10:64<<10+page], bufs[1])
	after, err := os.Stat(path)
	t.Check(err, "stat")
	if !after.ModTime().After(before.ModTime()) {
		t.Errorf("mtime %v did not move past %v with the writeback cache", after.ModTime(), before.ModTime())
	}
}

func pdioNotAsked(t *scenario.T) {
	ps := pdioProbes(t)
	m := t.FUSE(fileOf("/na", 64<<10, fuse.OpenPolicy{ParallelDirectWrites: true}, fuse.Capabilities{}))
	path := m.Path("na")
	ps.WatchPath(path)
	node, err := m.NodeID("/na")
	t.Check(err, "node id")
	var f *os.File
	opens := ps.Record(func() { f = openFile(t, path, os.O_RDWR|unix.O_DIRECT) })
	open, ok := opens.Last(probe.KindCachedIOOpenExit)
	if !ok || open.Ret != 0 || open.CtrAfter != 1 {
		t.Fatalf("the O_DIRECT open did not enter caching io mode (iocachectr 0 -> 1)\n%s", opens)
	}
	t.Check(m.ArmGate("w", fuse.OpWrite, "/na"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	ev := ps.Record(func() {
		first := goPwrite(f, alignedBuf(t, page, 0xd1), 0)
		if _, err := m.WaitHeld("w", 1, holdWait); err != nil {
			t.Fatalf("the first WRITE never reached the server: %v", err)
		}
		second := goPwrite(f, alignedBuf(t, page, 0xd2), 2*page)
		if held, err := m.WaitHeld("w", 2, absentWait); err == nil || !errors.Is(err, fuse.ErrWaitTimeout) {
			t.Fatalf("the second O_DIRECT write reached the server while the first was held (%d held)", held)
		}
		m.DisarmGate("w")
		waitAll(t, "O_DIRECT write", []<-chan ioResult{first, second})
	})
	st, err := m.Stats()
	t.Check(err, "stats")
	if got := st.MaxInFlight(node, fuse.OpWrite); got != 1 {
		t.Errorf("server saw max %d WRITEs in flight, want 1", got)
	}
	excl := ev.Of(probe.KindLockExclusive).Where(cachedPath)
	if len(excl) != 2 || ev.Count(probe.KindLockShared) != 0 {
		t.Fatalf("want i_rwsem exclusive in fuse_cache_write_iter for both writes and never shared (%s)\n%s", lockTrace(ev), ev)
	}
}
