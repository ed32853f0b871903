package scenarios

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/fuse"
	"dioharness/harness/guestproto"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// Patch subjects of the v2 fuse series (patches/v7.3/fuse), exactly as
// the patches name them.
const (
	patchLaunder  = "fuse: keep the folio dirty when the launder request cannot be allocated"
	patchKillable = "fuse: make the wait for parallel dio writes killable"
	patchReport   = "fuse: report stale page cache after direct writes"
	patchTrace    = "fuse: add tracepoints for inode io modes and direct write locking"
)

func fusePatchScenarios() scenario.Catalogue {
	return scenario.Catalogue{
		{
			Declaration: guestproto.Declaration{
				Name:        "fuse/trace-iomode-and-lock",
				Area:        "fuse",
				Setup:       "test server; a cached open/close, a parallel direct write and an O_APPEND direct write on FOPEN_DIRECT_IO|PARALLEL_DIRECT_WRITES files",
				Checks:      "the fuse_iomode tracepoint reports CACHED_OPEN (iocachectr 0 -> 1) and CACHED_CLOSE (-> 0); fuse_dio_write_lock reports shared/PARALLEL and exclusive/APPEND, agreeing with the i_rwsem probes",
				FailsOnBase: "the base kernel has no io-mode or lock-decision tracepoints: those decisions cannot be observed",
				Patch:       patchTrace,
			},
			Run: traceIOModeAndLock,
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "fuse/launder-failure-keeps-data",
				Area:  "fuse",
				Setup: "FOPEN_DIRECT_IO + FUSE_DIRECT_IO_ALLOW_MMAP; page 0 dirtied through a shared mapping; one slab failure injected inside fuse_launder_folio; a second mmap() invalidates the cache",
				Checks: "the launder fails once (fuse_launder_folio returns -ENOMEM, injected), yet after munmap, fsync and drop_caches the server holds the stored bytes, " +
					"and fsync succeeds: the folio stayed dirty and no writeback error was recorded",
				FailsOnBase: "fuse_launder_folio clears the dirty bit before the WRITE request is allocated and records the allocation failure as a writeback error: " +
					"the stored bytes never reach the server",
				Patch: patchLaunder,
			},
			Run: launderFailureKeepsData,
		},
		{
			Declaration: guestproto.Declaration{
				Name: "fuse/dio-prewrite-launder-failure-keeps-data",
				Area: "fuse",
				Setup: "FOPEN_DIRECT_IO + ALLOW_MMAP; page 0 dirty in a shared mapping; the pre-write flush's WRITE held at the server gate while page 1 is dirtied " +
					"through the mapping; one slab failure injected inside fuse_launder_folio",
				Checks: "the 8 KiB direct write whose pre-write invalidation failed returns the launder's ENOMEM and sends no WRITE of its own (a failure to write back " +
					"the cache is the writer's error; no fallback to fuse_perform_write); page 1 stays dirty: after munmap, fsync (which succeeds) and drop_caches the " +
					"server holds the bytes stored through the mapping in pages 0 and 1, and pages 2-3 are untouched",
				FailsOnBase: "the failed launder cleared page 1's dirty bit and recorded a writeback error: the bytes stored through the mapping never reach the server",
				Patch:       patchLaunder,
			},
			Run: dioPrewriteLaunderFailure,
		},
		{
			Declaration: guestproto.Declaration{
				Name:        "fuse/dio-postwrite-invalidate-reported",
				Area:        "fuse",
				Setup:       "a direct write held at the server gate while a shared mapping (cached open) re-dirties the page; one slab failure injected inside fuse_launder_folio during the post-write invalidation",
				Checks:      "pwrite() returns the full count; the failed post-write invalidation (inside fuse_direct_write_iter) is reported as the generic DIO path does: dio_warn_stale_pagecache runs and the next fsync() returns EIO",
				FailsOnBase: "fuse_direct_io ignores the post-write invalidation result: the stale page cache goes unreported",
				Patch:       patchReport,
			},
			Run: dioPostwriteInvalidateReported,
		},
		{
			Declaration: guestproto.Declaration{
				Name: "fuse/aio-postwrite-invalidate-reported",
				Area: "fuse",
				Setup: "FUSE_ASYNC_DIO; an io_submit() direct write to a FOPEN_DIRECT_IO file held at the server gate while a shared mapping (cached open) " +
					"re-dirties the page; one slab failure injected inside fuse_launder_folio for any task",
				Checks: "the asynchronous write completes with the full count; its post-write invalidation fails in fuse_aio_invalidate_worker (a kernel worker, " +
					"not the writer) and is reported as the generic DIO path does: dio_warn_stale_pagecache runs in that task and the next fsync() returns EIO",
				FailsOnBase: "fuse_aio_invalidate_worker ignores the result of its invalidation: the stale page cache goes unreported",
				Patch:       patchReport,
			},
			Run: aioPostwriteInvalidateReported,
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "fuse/cached-open-killable",
				Area:  "fuse",
				Setup: "a parallel direct write held at the server gate (inode in uncached io mode); a child process opens the file cached and waits for the direct write to drain; the child gets SIGKILL",
				Checks: "the child exits on SIGKILL while the direct write is still held (fuse_file_cached_io_open entered by the child); the killed waiter does not leave " +
					"FUSE_I_CACHE_IO_MODE set: a second direct write reaches the server while the first is held, and no write took i_rwsem exclusive; after release both complete",
				FailsOnBase: "the wait in fuse_file_cached_io_open is uninterruptible: the killed child stays until the server answers",
				Patch:       patchKillable,
			},
			Run: cachedOpenKillable,
		},
	}
}

func traceIOModeAndLock(t *scenario.T) {
	ps := t.Probes("fexit/down_read", "fexit/down_write")
	if err := ps.MustAttach("tp_btf/fuse_iomode", "tp_btf/fuse_dio_write_lock"); err != nil {
		t.Fatalf("io-mode and direct-write lock decisions are not observable: %v", err)
	}
	cfg := fuse.Config{
		Files: []fuse.FileSpec{{Path: "/c", Size: 8 << 10}, {Path: "/p", Size: 64 << 10}},
		Rules: []fuse.OpenRule{{Glob: "/p", OpenPolicy: fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true}}},
	}
	m := t.FUSE(cfg)
	ps.WatchPath(m.Path("c"), m.Path("p"))
	buf := alignedBuf(t, page, 0x61)
	ev := ps.Record(func() {
		c := openFile(t, m.Path("c"), os.O_RDWR)
		t.Check(c.Close(), "close cached file")
		p := openFile(t, m.Path("p"), os.O_RDWR)
		pwriteFull(t, p, buf, 0)
		a := openFile(t, m.Path("p"), os.O_RDWR|unix.O_APPEND)
		n, err := unix.Write(int(a.Fd()), buf)
		if err != nil || n != page {
			t.Fatalf("O_APPEND direct write: %d, %v", n, err)
		}
	})
	modes := ev.Of(probe.KindTraceIOMode)
	var open, close bool
	for _, e := range modes {
		switch probe.IOModeEvent(e.Aux) {
		case probe.IOModeCachedOpen:
			open = e.CtrBefore == 0 && e.CtrAfter == 1 && e.Ret == 0
		case probe.IOModeCachedClose:
			close = e.CtrBefore == 1 && e.CtrAfter == 0
		}
	}
	if !open || !close {
		t.Fatalf("fuse_iomode: want CACHED_OPEN 0->1 and CACHED_CLOSE 1->0\n%s", ev)
	}
	locks := ev.Of(probe.KindTraceDIOWriteLock)
	if len(locks) != 2 {
		t.Fatalf("fuse_dio_write_lock fired %d times for two direct writes\n%s", len(locks), ev)
	}
	if locks[0].Flags&probe.FlagExclusive != 0 || probe.DIOLockReason(locks[0].Aux) != probe.DIOLockParallel {
		t.Errorf("parallel write: tracepoint says %s, want shared/PARALLEL", locks[0])
	}
	if locks[1].Flags&probe.FlagExclusive == 0 || probe.DIOLockReason(locks[1].Aux) != probe.DIOLockAppend {
		t.Errorf("O_APPEND write: tracepoint says %s, want exclusive/APPEND", locks[1])
	}
	// The decision is traced once the lock is held.
	if err := ev.CheckOrder(probe.KindLockShared, probe.KindTraceDIOWriteLock, probe.KindLockExclusive, probe.KindTraceDIOWriteLock); err != nil {
		t.Errorf("tracepoints disagree with the i_rwsem probes: %v", err)
	}
}

// dioMmapConfig is a FOPEN_DIRECT_IO file whose shared mmap is allowed.
func dioMmapConfig(path string, size int64) fuse.Config {
	return fuse.Config{
		Capabilities: fuse.Capabilities{DirectIOAllowMmap: true},
		Files:        []fuse.FileSpec{{Path: path, Data: pattern(int(size), 0x01)}},
		Rules:        []fuse.OpenRule{{Glob: path, OpenPolicy: fuse.OpenPolicy{DirectIO: true}}},
	}
}

func launderFailureKeepsData(t *scenario.T) {
	ps := t.Probes("fexit/fuse_launder_folio", "kprobe/should_failslab")
	m := t.FUSE(dioMmapConfig("/lf", 4*page))
	f := openFile(t, m.Path("lf"), os.O_RDWR)
	ps.Watch(f)
	mapping := mapShared(t, f, page)
	var (
		ev       probe.Events
		fired    uint64
		attempts int
		stored   []byte
	)
	// Background writeback may clean the page before the second mmap
	// invalidates it (the FUSE bdi has a small dirty limit); then there
	// is nothing to launder and the attempt is repeated, with new bytes
	// so that an earlier attempt's writeback cannot pass for this one.
	for attempts = 1; attempts <= maxWindowAttempts && fired == 0; attempts++ {
		stored = pattern(page, 0x7e+byte(attempts))
		copy(mapping, stored)
		ps.ArmFault(probe.FaultSpec{Site: "should_failslab", Within: "fuse_launder_folio", Count: 1})
		ev = ps.Record(func() {
			// fuse_file_mmap invalidates a direct_io file's cache
			// without flushing it first: a dirty folio is laundered.
			second, err := unix.Mmap(int(f.Fd()), 0, page, unix.PROT_READ, unix.MAP_SHARED)
			t.Check(err, "second mmap")
			unix.Munmap(second)
		})
		var err error
		fired, err = ps.FaultFired("should_failslab")
		t.Check(err, "fault count")
	}
	t.SetAttempts(attempts - 1)
	launders := ev.Of(probe.KindLaunderExit)
	if fired != 1 || len(launders) == 0 || launders[0].Ret != -int64(unix.ENOMEM) {
		t.Fatalf("the injected launder failure did not happen in %d attempts (fired %d)\n%s", maxWindowAttempts, fired, ev)
	}
	t.Check(unix.Munmap(mapping), "munmap")
	fsyncErr := f.Sync()
	t.Logf("fsync after the failed launder: %s", errName(fsyncErr))
	t.DropCaches()
	content, err := m.FileContent("/lf")
	t.Check(err, "server content")
	sameBytes(t, "page 0 on the server after a failed launder, fsync and drop_caches", content[:page], stored)
	if fsyncErr != nil {
		t.Fatalf("fsync after the failed launder: %v (the data was not lost, nothing should be reported)", fsyncErr)
	}
}

// maxWindowAttempts bounds the tries at a race window: an attempt
// misses it when background writeback cleaned the page first, so there
// was nothing to hold or launder.
const maxWindowAttempts = 5

// dioPrewriteLaunderFailure: the pre-write invalidation of a
// FOPEN_DIRECT_IO write cannot launder a folio dirtied after the flush.
// Under the invalidation-error policy that is a writeback error and the
// write returns it; the folio must keep its data.
func dioPrewriteLaunderFailure(t *scenario.T) {
	ps := t.Probes("fexit/fuse_launder_folio", "kprobe/should_failslab", "fentry/fuse_direct_write_iter", "fentry/fuse_perform_write")
	m := t.FUSE(dioMmapConfig("/fb", 4*page))
	f := openFile(t, m.Path("fb"), os.O_RDWR)
	ps.Watch(f)
	buf := alignedBuf(t, 2*page, 0x3d)
	mapping := mapShared(t, f, 2*page)
	var (
		r            ioResult
		ev           probe.Events
		attempts     int
		hit          bool
		page0, page1 []byte
	)
	for attempts = 1; attempts <= maxWindowAttempts && !hit; attempts++ {
		// Fresh bytes per attempt, so that an earlier attempt's
		// writeback cannot pass for this one.
		page0 = pattern(page, 0x70+byte(attempts))
		page1 = pattern(page, 0x50+byte(attempts))
		copy(mapping[:page], page0)
		// The pre-write flush writes page 0 back; its WRITE is held
		// at the server, so the direct writer waits in the flush. A
		// store to page 1 then leaves a dirty folio that only the
		// invalidation can launder.
		t.Check(m.ArmGateSpec(fuse.GateSpec{Name: "wb", Match: fuse.Match{Op: fuse.OpWrite, Glob: "/fb", Count: 1}}), "arm gate")
		ps.ArmFault(probe.FaultSpec{Site: "should_failslab", Within: "fuse_launder_folio", Count: 1})
		ev = ps.Record(func() {
			res := goPwrite(f, buf, 0)
			if _, err := m.WaitHeld("wb", 1, holdWait); err != nil {
				t.Fatalf("no WRITE reached the server: %v", err)
			}
			copy(mapping[page:2*page], page1)
			_, err := m.DisarmGate("wb")
			t.Check(err, "release")
			r = waitIO(t, "direct write", res)
		})
		fired, err := ps.FaultFired("should_failslab")
		t.Check(err, "fault count")
		hit = fired == 1 && prewriteInvalidationFailed(ev)
		if !hit {
			// Consume a stale-cache error the missed attempt may
			// have recorded, then try again.
			f.Sync()
			ps.DisarmFault("should_failslab")
		}
	}
	attempts--
	t.SetAttempts(attempts)
	if !hit {
		t.Fatalf("the injected launder failure never hit the pre-write invalidation in %d attempts\n%s", maxWindowAttempts, ev)
	}
	// Kernel path: the launder failed with the injected ENOMEM, and
	// the writer neither sent a WRITE of its own nor fell back.
	launders := ev.Of(probe.KindLaunderExit)
	if len(launders) == 0 || launders[len(launders)-1].Ret != -int64(unix.ENOMEM) {
		t.Fatalf("want fuse_launder_folio to return -ENOMEM\n%s", ev)
	}
	direct := ev.Of(probe.KindFuseRequestSend).Where(func(e probe.Event) bool {
		return e.Opcode() == uint32(fuse.OpWrite) && e.Path == probe.FuncFuseDirectIO
	})
	fallback := ev.Of(probe.KindBufferedWrite).Where(func(e probe.Event) bool {
		return e.Func() == probe.FuncFusePerformWrite
	})
	if len(direct) != 0 || len(fallback) != 0 {
		t.Fatalf("a direct write whose invalidation failed sent %d WRITEs and fell back %d times, want none\n%s", len(direct), len(fallback), ev)
	}
	// What user space sees: the write failed with the launder's error.
	if r.err != unix.ENOMEM {
		t.Fatalf("direct write over a folio that could not be laundered: %d, %s; want ENOMEM", r.n, errnoOf(r.err))
	}
	t.Check(unix.Munmap(mapping), "munmap")
	fsyncErr := f.Sync()
	t.DropCaches()
	content, err := m.FileContent("/fb")
	t.Check(err, "server content")
	sameBytes(t, "page 0 on the server (written by the pre-write flush)", content[:page], page0)
	sameBytes(t, "page 1 on the server (dirty when the launder failed) after fsync and drop_caches", content[page:2*page], page1)
	sameBytes(t, "pages 2-3 on the server (untouched)", content[2*page:4*page], pattern(4*page, 0x01)[2*page:])
	if fsyncErr != nil {
		t.Fatalf("fsync after the failed launder: %v (nothing was lost, nothing should be reported)", fsyncErr)
	}
}

// prewriteInvalidationFailed reports whether an invalidation inside
// fuse_direct_io failed before the direct WRITE was sent.
func prewriteInvalidationFailed(ev probe.Events) bool {
	sent := false
	for _, e := range ev {
		switch {
		// The direct WRITE is sent by fuse_direct_io itself; the
		// pre-write flush's WRITE comes from inside
		// filemap_write_and_wait_range.
		case e.Kind == probe.KindFuseRequestSend && e.Opcode() == uint32(fuse.OpWrite) && e.Path == probe.FuncFuseDirectIO:
			sent = true
		case e.Kind == probe.KindInvalidateExit && e.Ret < 0 && e.Within.Has(probe.FuncFuseDirectIO):
			return !sent
		}
	}
	return false
}

func dioPostwriteInvalidateReported(t *scenario.T) { postwriteInvalidateReported(t, false) }

func aioPostwriteInvalidateReported(t *scenario.T) { postwriteInvalidateReported(t, true) }

// postwriteInvalidateReported: a folio dirtied through a shared mapping
// while a direct write is in flight cannot be laundered by the
// post-write invalidation; that stale page cache must be reported as
// the generic direct I/O path reports it. With aio the write is
// submitted with io_submit and completed asynchronously, so the
// post-write invalidation runs in fuse_aio_invalidate_worker, in a
// kernel worker: the fault is armed for any task inside
// fuse_launder_folio of the watched inode.
func postwriteInvalidateReported(t *scenario.T, aio bool) {
	ps := t.Probes("fexit/fuse_launder_folio", "kprobe/should_failslab", "fentry/dio_warn_stale_pagecache")
	cfg := fuse.Config{
		Capabilities: fuse.Capabilities{AsyncDIO: aio},
		Files:        []fuse.FileSpec{{Path: "/pw", Data: pattern(4*page, 0x03)}},
	}
	m := t.FUSE(cfg)
	cached := openFile(t, m.Path("pw"), os.O_RDWR)
	ps.Watch(cached)
	mapping := mapShared(t, cached, page)
	t.Check(m.SetRules(fuse.OpenRule{Glob: "/pw", OpenPolicy: fuse.OpenPolicy{DirectIO: true}}), "rules")
	// O_DIRECT as well as FOPEN_DIRECT_IO: 6.12 sends an io_submit write
	// through fuse_direct_IO (asynchronously) only with IOCB_DIRECT.
	flags := os.O_RDWR
	if aio {
		flags |= unix.O_DIRECT
	}
	direct := openFile(t, m.Path("pw"), flags)
	written := alignedBuf(t, page, 0x4b)
	var (
		ev       probe.Events
		failed   probe.Events
		attempts int
	)
	// Background writeback may clean the re-dirtied page before the
	// post-write invalidation; then nothing is laundered and the
	// attempt is repeated.
	for attempts = 1; attempts <= maxWindowAttempts && len(failed) == 0; attempts++ {
		// A missed attempt leaves page 0 dirty. Write it back before
		// the gate is armed: otherwise the gate would hold the
		// pre-write flush's WRITE, and the store below would wait in
		// page_mkwrite for that writeback, holding up the release.
		// (An error here is the report of a missed attempt.)
		cached.Sync()
		t.Check(m.ArmGate("w", fuse.OpWrite, "/pw"), "arm gate")
		ev = ps.Record(func() {
			var res <-chan ioResult
			if aio {
				res = aioPwrite(direct, written, 0)
			} else {
				res = goPwrite(direct, written, 0)
			}
			if _, err := m.WaitHeld("w", 1, holdWait); err != nil {
				t.Fatalf("direct WRITE never reached the server: %v", err)
			}
			// The pre-write invalidation dropped page 0; this store
			// reads it back in and dirties it while the WRITE is in
			// flight.
			mapping[0] = 0xee
			ps.ArmFault(probe.FaultSpec{Site: "should_failslab", Within: "fuse_launder_folio", Count: 1, AnyTask: aio})
			_, err := m.DisarmGate("w")
			t.Check(err, "release")
			r := waitIO(t, "direct write", res)
			if r.err != nil || r.n != page {
				t.Fatalf("direct write: %d, %v; want %d", r.n, r.err, page)
			}
		})
		failed = ev.Of(probe.KindInvalidateExit).Where(func(e probe.Event) bool { return e.Ret < 0 })
		ps.DisarmFault("should_failslab")
	}
	t.SetAttempts(attempts - 1)
	if len(failed) == 0 {
		t.Fatalf("the post-write invalidation never failed as planned in %d attempts\n%s", maxWindowAttempts, ev)
	}
	// Kernel path: the failed invalidation is the post-write one, in
	// fuse_direct_write_iter for a synchronous write, in the worker
	// (another task, outside any write call) for an asynchronous one.
	inWriter := failed[0].Within.Has(probe.FuncFuseDirectWriteIter)
	if inWriter == aio || (aio && failed[0].PID == uint32(os.Getpid())) {
		t.Fatalf("the failed invalidation ran in the wrong place (pid %d, within %s; aio %v)\n%s", failed[0].PID, failed[0].Within, aio, ev)
	}
	warned := ev.Of(probe.KindDIOWarnStale)
	if len(warned) == 0 {
		t.Fatalf("post-write invalidation failed (%d) and nothing reported it: no dio_warn_stale_pagecache\n%s", failed[0].Ret, ev)
	}
	if warned[0].TID != failed[0].TID {
		t.Fatalf("dio_warn_stale_pagecache ran in task %d, the failed invalidation in %d\n%s", warned[0].TID, failed[0].TID, ev)
	}
	if err := direct.Sync(); err == nil || !strings.Contains(err.Error(), "input/output error") {
		t.Fatalf("fsync after the stale-cache report returned %v, want EIO", err)
	}
}

func cachedOpenKillable(t *scenario.T) {
	ps := t.Probes("fentry/fuse_file_cached_io_open", "fexit/down_read", "fexit/down_write")
	m := t.FUSE(fileOf("/k", 64<<10, fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true}, fuse.Capabilities{}))
	// Start the opener before this process opens the file: a child
	// flushes every inherited FUSE file when it execs, and a flush waits
	// for the inode lock the held direct write owns.
	child := exec.Command(t.Env().Exe, "open-file", m.Path("k"))
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
	t.Check(ps.WatchTask(child.Process.Pid), "watch child")
	t.Cleanup(func() { ps.UnwatchTask(child.Process.Pid) })
	f := openFile(t, m.Path("k"), os.O_RDWR)
	ps.Watch(f)
	t.Check(m.ArmGate("w", fuse.OpWrite, "/k"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	ev := ps.Record(func() {
		res := goPwrite(f, alignedBuf(t, page, 0x19), 0)
		if _, err := m.WaitHeld("w", 1, holdWait); err != nil {
			t.Fatalf("direct WRITE never reached the server: %v", err)
		}
		// The child's open is a cached one: it must wait for the
		// parallel direct write to drain.
		t.Check(m.SetRules(), "rules")
		st, err := m.Stats()
		t.Check(err, "stats")
		opens := st.Count(fuse.OpOpen)
		_, err = in.Write([]byte("go\n"))
		t.Check(err, "tell child to open")
		// Once the server answered the child's OPEN, the child is in
		// (or about to enter) the wait for the direct write.
		if _, err := m.WaitCount(fuse.OpOpen, opens+1, holdWait); err != nil {
			t.Fatalf("child's OPEN never reached the server: %v", err)
		}
		t.Check(child.Process.Signal(syscall.SIGKILL), "kill child")
		killed := false
		select {
		case err := <-exited:
			killed = true
			t.Logf("child exited on SIGKILL with the write still held: %v", err)
		case <-time.After(absentWait):
			m.DisarmGate("w")
			<-exited
			t.Errorf("child ignored SIGKILL for %v while waiting for the held direct write", absentWait)
		}
		if killed {
			// The killed waiter must not leave FUSE_I_CACHE_IO_MODE
			// set: a second direct write then runs in parallel
			// and is held too. (A retry of the first write after
			// an interruption replaces it at the gate, it does
			// not add to it: two held means two writers at once.)
			res2 := goPwrite(f, alignedBuf(t, page, 0x1a), page)
			if _, err := m.WaitHeld("w", 2, holdWait); err != nil {
				t.Errorf("a direct write after the killed open did not reach the server while the first was held: %v", err)
			}
			m.DisarmGate("w")
			if r := waitIO(t, "second direct write", res2); r.err != nil || r.n != page {
				t.Errorf("second direct write after release: %d, %v", r.n, r.err)
			}
		}
		// Disarm rather than release: a write interrupted by the
		// child's SIGCHLD is retried and must not be held again.
		m.DisarmGate("w")
		if r := waitIO(t, "direct write", res); r.err != nil || r.n != page {
			t.Fatalf("direct write after release: %d, %v", r.n, r.err)
		}
	})
	if ev.Count(probe.KindCachedIOOpenEnter) == 0 {
		t.Fatalf("the child never entered fuse_file_cached_io_open: it was killed somewhere else\n%s", ev)
	}
	// Every direct write ran under the shared i_rwsem: none had to
	// wait for the exclusive lock a leftover FUSE_I_CACHE_IO_MODE
	// would force.
	if n := ev.Count(probe.KindLockExclusive); n != 0 || ev.Count(probe.KindLockShared) == 0 {
		t.Errorf("i_rwsem %q: want only shared acquisitions by the direct writes\n%s", lockTrace(ev), ev)
	}
}
