package probe

// Integration tests: load the real objects into the running kernel, run a
// workload that must trigger a family and one that must not. Families
// whose programs are not attached here (the 6.18 host refuses fentry/fexit
// and has no kprobes; the 6.12 guest has everything) are asserted only
// where they run, and each test logs which families it checked.

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// alignedBuf returns a page-aligned buffer for O_DIRECT.
func alignedBuf(t *testing.T, n int) []byte {
	t.Helper()
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	if uintptr(unsafe.Pointer(&b[0]))%4096 != 0 {
		t.Fatal("buffer not aligned")
	}
	t.Cleanup(func() { unix.Munmap(b) })
	for i := range b {
		b[i] = 0xa5
	}
	return b
}

// makeFile creates path with size bytes of data, fsynced, so later
// overwrites hit allocated blocks.
func makeFile(t *testing.T, path string, size int) {
	t.Helper()
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

func openFile(t *testing.T, path string, flags int) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func pwrite(t *testing.T, f *os.File, b []byte, off int64) int {
	t.Helper()
	n, err := unix.Pwrite(int(f.Fd()), b, off)
	if err != nil {
		t.Fatalf("pwrite %s @%d: %v", f.Name(), off, err)
	}
	return n
}

// record runs fn between Start and Stop.
func record(t *testing.T, s *Set, fn func()) Events {
	t.Helper()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	fn()
	ev, err := s.Stop()
	if err != nil {
		t.Fatalf("Stop: %v\n%s", err, ev)
	}
	return ev
}

// expect fails with the event listing when ok is false.
func expect(t *testing.T, ev Events, ok bool, what string) {
	t.Helper()
	if !ok {
		t.Errorf("%s; events:\n%s", what, ev)
	}
}

func expectOrder(t *testing.T, ev Events, kinds ...Kind) {
	t.Helper()
	if err := ev.CheckOrder(kinds...); err != nil {
		t.Error(err)
	}
}

func firstOf(t *testing.T, ev Events, k Kind) Event {
	t.Helper()
	e, ok := ev.First(k)
	if !ok {
		t.Fatalf("no %s; events:\n%s", k, ev)
	}
	return e
}

func TestLoadAttachesOrExplains(t *testing.T) {
	s := loadSet(t)
	t.Logf("attach status on this kernel:\n%s", s.StatusTable())
	total := 0
	for _, o := range objects {
		spec, err := o.load()
		if err != nil {
			t.Fatal(err)
		}
		total += len(spec.Programs)
	}
	st := s.Status()
	if len(st) != total {
		t.Errorf("status has %d programs, objects have %d", len(st), total)
	}
	for _, a := range st {
		if a.State == Failed {
			t.Errorf("%s failed: %s", a.Probe, a.Reason)
		}
		if a.State != Attached && a.Reason == "" {
			t.Errorf("%s %s without a reason", a.Probe, a.State)
		}
	}
	if err := s.Require("raw_tp/probe_marker"); err != nil {
		t.Error(err)
	}
	if err := s.Require("fentry/no_such_function"); err == nil || IsSkip(err) {
		t.Errorf("Require(unknown) = %v, want a plain error", err)
	}
	// An empty window is empty, and windows can be repeated.
	for range 2 {
		if ev := record(t, s, func() {}); len(ev) != 0 {
			t.Errorf("empty window recorded:\n%s", ev)
		}
	}
	if _, err := s.Stop(); !errors.Is(err, ErrNotRecording) {
		t.Errorf("Stop without Start = %v", err)
	}
}

func TestExt4DirectWrite(t *testing.T) {
	s := loadSet(t)
	dir := mountFS(t, "ext4")
	lock := has(s, "fentry/ext4_file_write_iter", "fexit/ext4_file_write_iter", "fexit/down_read", "fexit/down_write", "fentry/up_read", "fentry/up_write")
	inval := has(s, "fentry/kiocb_invalidate_pages", "fentry/invalidate_inode_pages2_range", "fentry/__iomap_dio_rw", "fexit/__iomap_dio_rw")
	dio := has(s, "tp_btf/iomap_dio_rw_begin", "tp_btf/iomap_dio_complete")
	t.Logf("asserting: lock=%v invalidate=%v dio-tracepoints=%v", lock, inval, dio)
	buf := alignedBuf(t, 4096)

	path := filepath.Join(dir, "f")
	makeFile(t, path, 1<<20)
	if err := s.WatchPath(path); err != nil {
		t.Fatal(err)
	}
	id, _ := InodeOfPath(path)
	df := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	bf := openFile(t, path, os.O_RDWR)

	t.Run("overwrite-shared", func(t *testing.T) {
		ev := record(t, s, func() { pwrite(t, df, buf, 0) })
		if len(ev.ForInode(id)) != len(ev) {
			t.Errorf("events about other inodes:\n%s", ev)
		}
		if dio {
			expectOrder(t, ev, KindDIOBegin, KindDIOComplete)
			expect(t, ev, firstOf(t, ev, KindDIOComplete).Ret == 4096, "DIOComplete ret 4096")
		}
		if lock {
			expectOrder(t, ev, KindWriteEnter, KindLockShared, KindUnlockShared, KindWriteExit)
			expect(t, ev, !ev.Has(KindLockExclusive), "no exclusive lock for an aligned overwrite")
			we := firstOf(t, ev, KindWriteExit)
			expect(t, ev, we.Ret == 4096 && we.Func() == FuncExt4FileWriteIter, "WriteExit ext4 ret 4096")
			expect(t, ev, we.Flags.Has(FlagSharedSeen|FlagDIOSeen) && !we.Flags.Has(FlagExclSeen), "WriteExit summary shared+dio")
		}
		if inval {
			ki := firstOf(t, ev, KindKiocbInvalidateEnter)
			expect(t, ev, ki.Path == FuncIomapDioRwInner && ki.Within.Has(FuncExt4FileWriteIter), "kiocb_invalidate_pages inside __iomap_dio_rw inside ext4_file_write_iter")
		}
	})

	t.Run("extending-exclusive", func(t *testing.T) {
		if !lock {
			t.Skip("lock family not attached")
		}
		ev := record(t, s, func() { pwrite(t, df, buf, 1<<20) })
		expectOrder(t, ev, KindWriteEnter, KindLockExclusive, KindUnlockExclusive, KindWriteExit)
		expect(t, ev, !ev.Has(KindLockShared), "an extending write never takes i_rwsem shared")
	})

	t.Run("hole-fill-upgrades", func(t *testing.T) {
		if !lock {
			t.Skip("lock family not attached")
		}
		hole := filepath.Join(dir, "hole")
		if err := os.WriteFile(hole, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(hole, 1<<20); err != nil {
			t.Fatal(err)
		}
		if err := s.WatchPath(hole); err != nil {
			t.Fatal(err)
		}
		hf := openFile(t, hole, os.O_RDWR|unix.O_DIRECT)
		ev := record(t, s, func() { pwrite(t, hf, buf, 64<<10) })
		expectOrder(t, ev, KindLockShared, KindUnlockShared, KindLockExclusive, KindLockUpgraded, KindUnlockExclusive, KindWriteExit)
		expect(t, ev, firstOf(t, ev, KindWriteExit).Flags.Has(FlagUpgraded), "WriteExit has upgraded")
	})

	t.Run("buffered", func(t *testing.T) {
		ev := record(t, s, func() { pwrite(t, bf, buf, 8192) })
		if has(s, "tp_btf/ext4_da_write_begin") {
			expect(t, ev, ev.Count(KindExt4WriteBegin) == 1, "one ext4 write_begin per write call")
		}
		expect(t, ev, !ev.Has(KindDIOBegin), "no direct I/O for a buffered write")
		if has(s, "fentry/generic_perform_write") {
			bw := firstOf(t, ev, KindBufferedWrite)
			expect(t, ev, bw.Func() == FuncGenericPerformWrite && bw.A0 == 8192, "generic_perform_write at 8192")
		}
	})

	t.Run("cached-page-invalidated", func(t *testing.T) {
		if !inval {
			t.Skip("invalidate family not attached")
		}
		rb := make([]byte, 4096)
		if _, err := bf.ReadAt(rb, 0); err != nil {
			t.Fatal(err)
		}
		ev := record(t, s, func() { pwrite(t, df, buf, 0) })
		inv := firstOf(t, ev, KindInvalidateEnter)
		expect(t, ev, inv.Path == FuncKiocbInvalidatePages && inv.A0 == 0, "invalidate_inode_pages2_range from kiocb_invalidate_pages at page 0")
		expect(t, ev, firstOf(t, ev, KindInvalidateExit).Ret == 0, "invalidation succeeded")
	})
}

func TestUnwatchedIsSilent(t *testing.T) {
	s := loadSet(t)
	dir := mountFS(t, "ext4")
	watched, other := filepath.Join(dir, "watched"), filepath.Join(dir, "other")
	makeFile(t, watched, 1<<20)
	makeFile(t, other, 1<<20)
	if err := s.WatchPath(watched); err != nil { // opens the global gate
		t.Fatal(err)
	}
	buf := alignedBuf(t, 4096)
	df := openFile(t, other, os.O_RDWR|unix.O_DIRECT)
	bf := openFile(t, other, os.O_RDWR)
	ev := record(t, s, func() {
		pwrite(t, df, buf, 0)
		pwrite(t, df, buf, 1<<20)
		pwrite(t, bf, buf, 4096)
		if err := bf.Sync(); err != nil {
			t.Fatal(err)
		}
	})
	if len(ev) != 0 {
		t.Errorf("unwatched file produced events:\n%s", ev)
	}
}

func TestExt4FallbackToBuffered(t *testing.T) {
	s := loadSet(t)
	dir := mountFS(t, "ext4-noextent")
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := s.WatchPath(path); err != nil {
		t.Fatal(err)
	}
	buf := alignedBuf(t, 4096)
	df := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	// A hole inside EOF of a block-mapped (non-extent) inode cannot be
	// filled by direct I/O: iomap gets -ENOTBLK and ext4 writes buffered.
	var n int
	ev := record(t, s, func() { n = pwrite(t, df, buf, 64<<10) })
	if n != 4096 {
		t.Errorf("pwrite = %d, want 4096", n)
	}
	if has(s, "tp_btf/iomap_dio_rw_begin", "tp_btf/ext4_write_begin") {
		expectOrder(t, ev, KindDIOBegin, KindExt4WriteBegin)
	}
	if has(s, "fentry/ext4_file_write_iter", "fexit/ext4_file_write_iter", "fentry/generic_perform_write") {
		bw := firstOf(t, ev, KindBufferedWrite)
		expect(t, ev, bw.Within.Has(FuncExt4FileWriteIter), "buffered write inside the direct write call")
		we := firstOf(t, ev, KindWriteExit)
		expect(t, ev, we.Flags.Has(FlagDIOSeen|FlagBufferedSeen) && we.Ret == 4096, "WriteExit: dio then buffered, ret 4096")
	}
}

func TestXFSDirectWrite(t *testing.T) {
	s := loadSet(t)
	dir := mountFS(t, "xfs")
	path := filepath.Join(dir, "f")
	makeFile(t, path, 1<<20)
	if err := s.WatchPath(path); err != nil {
		t.Fatal(err)
	}
	buf := alignedBuf(t, 4096)
	df := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
	bf := openFile(t, path, os.O_RDWR)
	ev := record(t, s, func() {
		pwrite(t, df, buf, 0)
		pwrite(t, bf, buf, 8192) // buffered: iomap validity checks, never stale here
	})
	if has(s, "tp_btf/iomap_dio_rw_begin") {
		expectOrder(t, ev, KindDIOBegin, KindDIOComplete)
	}
	if has(s, "fentry/xfs_file_write_iter", "fexit/xfs_file_write_iter") {
		expectOrder(t, ev, KindWriteEnter, KindLockShared, KindWriteExit, KindWriteEnter, KindLockExclusive, KindWriteExit)
	}
	if has(s, "fentry/iomap_file_buffered_write") {
		expect(t, ev, firstOf(t, ev, KindBufferedWrite).Func() == FuncIomapFileBufferedWrite, "xfs buffered write goes through iomap")
	}
	expect(t, ev, !ev.Has(KindXFSIomapInvalid) && !ev.Has(KindXFSIomapValidFalse), "no stale iomap without a racing writer")
}

func TestFUSE(t *testing.T) {
	s := loadSet(t)
	dir := mountTestFUSE(t)
	iomode := has(s, "fentry/fuse_file_io_open", "fexit/fuse_file_io_open", "fexit/fuse_file_cached_io_open",
		"fexit/fuse_file_io_release", "fexit/fuse_inode_uncached_io_start", "fexit/fuse_inode_uncached_io_end")
	lock := has(s, "fentry/fuse_file_write_iter", "fexit/fuse_file_write_iter", "fexit/down_read", "fexit/down_write")
	inval := has(s, "fentry/fuse_direct_io", "fentry/invalidate_inode_pages2_range", "fentry/filemap_write_and_wait_range", "fentry/fuse_file_mmap")
	reqs := has(s, "tp_btf/fuse_request_send", "tp_btf/fuse_request_end")
	t.Logf("asserting: iomode=%v lock=%v invalidate=%v requests=%v", iomode, lock, inval, reqs)
	for _, name := range []string{"cached", "direct", "serial"} {
		if err := s.WatchPath(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	buf := alignedBuf(t, 4096)

	t.Run("cached-open-close", func(t *testing.T) {
		if !iomode {
			t.Skip("iomode family not attached")
		}
		ev := record(t, s, func() {
			f, err := os.OpenFile(filepath.Join(dir, "cached"), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
		})
		expectOrder(t, ev, KindFileIOOpenEnter, KindCachedIOOpenEnter, KindCachedIOOpenExit, KindFileIOOpenExit, KindFileIOReleaseEnter, KindFileIOReleaseExit)
		co := firstOf(t, ev, KindCachedIOOpenExit)
		expect(t, ev, co.Flags.Has(FlagCtrValid|FlagCacheIOAfter) && co.CtrBefore == 0 && co.CtrAfter == 1 && co.Ret == 0, "cached open: iocachectr 0 -> 1, cache io mode set")
		rel := firstOf(t, ev, KindFileIOReleaseExit)
		expect(t, ev, rel.CtrBefore == 1 && rel.CtrAfter == 0 && !rel.Flags.Has(FlagCacheIOAfter), "release: iocachectr 1 -> 0, cache io mode cleared")
		if reqs {
			// The first OPEN precedes the first probe that learns the
			// inode's nodeid; FLUSH (synchronous) comes after it, RELEASE is
			// sent in the background and may be answered after Stop.
			op := func(k Kind, op uint32) Events {
				return ev.Of(k).Where(func(e Event) bool { return e.Opcode() == op })
			}
			fl := op(KindFuseRequestEnd, FuseOpFlush)
			expect(t, ev, len(fl) == 1 && fl[0].Ret == 0, "FLUSH request answered")
			expect(t, ev, len(op(KindFuseRequestSend, FuseOpRelease)) == 1, "RELEASE request sent")
		}
	})

	t.Run("direct-parallel-write", func(t *testing.T) {
		f := openFile(t, filepath.Join(dir, "direct"), os.O_RDWR)
		ev := record(t, s, func() { pwrite(t, f, buf, 0) })
		if lock && iomode && inval {
			expectOrder(t, ev, KindWriteEnter, KindLockShared, KindUncachedIOStartExit, KindFuseDirectIOEnter,
				KindWriteAndWaitEnter, KindInvalidateEnter, KindFuseRequestSend, KindFuseRequestEnd,
				KindFuseDirectIOExit, KindUncachedIOEndExit, KindUnlockShared, KindWriteExit)
			us := firstOf(t, ev, KindUncachedIOStartExit)
			expect(t, ev, us.Ret == 0 && us.CtrBefore == 0 && us.CtrAfter == -1, "uncached io start: 0 -> -1")
			expect(t, ev, firstOf(t, ev, KindInvalidateEnter).Path == FuncFuseDirectIO, "invalidation called from fuse_direct_io")
			expect(t, ev, !ev.Has(KindLockExclusive), "parallel direct write stays shared")
		}
		if reqs && (lock || iomode) {
			w := ev.Of(KindFuseRequestSend, KindFuseRequestEnd).Where(func(e Event) bool { return e.Opcode() == FuseOpWrite })
			expect(t, ev, len(w) == 2 && w[0].A2 == w[1].A2 && w[1].Ret == 0, "one WRITE request sent and answered")
		}
	})

	t.Run("direct-extending-write", func(t *testing.T) {
		if !lock {
			t.Skip("lock family not attached")
		}
		f := openFile(t, filepath.Join(dir, "direct"), os.O_RDWR)
		ev := record(t, s, func() { pwrite(t, f, buf, 4<<20) })
		expectOrder(t, ev, KindWriteEnter, KindLockExclusive, KindUnlockExclusive, KindWriteExit)
		expect(t, ev, !ev.Has(KindLockShared) && !ev.Has(KindUncachedIOStartEnter), "extending write: exclusive, no uncached io")
	})

	t.Run("no-parallel-flag-exclusive", func(t *testing.T) {
		if !lock {
			t.Skip("lock family not attached")
		}
		f := openFile(t, filepath.Join(dir, "serial"), os.O_RDWR)
		ev := record(t, s, func() { pwrite(t, f, buf, 0) })
		expect(t, ev, ev.Has(KindLockExclusive) && !ev.Has(KindLockShared), "without FOPEN_PARALLEL_DIRECT_WRITES: exclusive")
	})

	t.Run("mmap-enters-cached-mode", func(t *testing.T) {
		if !iomode || !lock || !inval {
			t.Skip("iomode, lock or invalidate family not attached")
		}
		f := openFile(t, filepath.Join(dir, "direct"), os.O_RDWR)
		ev := record(t, s, func() {
			m, err := unix.Mmap(int(f.Fd()), 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
			if err != nil {
				t.Fatalf("mmap: %v", err)
			}
			pwrite(t, f, buf, 0) // inode now in cached io mode
			unix.Munmap(m)
			f.Close()
		})
		expectOrder(t, ev, KindFuseMmapEnter, KindInvalidateEnter, KindCachedIOOpenExit, KindFuseMmapExit,
			KindWriteEnter, KindLockExclusive, KindWriteExit, KindFileIOReleaseExit)
		expect(t, ev, firstOf(t, ev, KindFuseMmapEnter).Flags.Has(FlagSharedMap), "shared mapping")
		expect(t, ev, firstOf(t, ev, KindInvalidateEnter).Path == FuncFuseFileMmap, "invalidation called from fuse_file_mmap")
		co := firstOf(t, ev, KindCachedIOOpenExit)
		expect(t, ev, co.CtrBefore == 0 && co.CtrAfter == 1 && co.Path == FuncFuseFileMmap, "first mmap: iocachectr 0 -> 1 inside fuse_file_mmap")
		expect(t, ev, !ev.Has(KindLockShared), "cached io mode forces exclusive direct writes")
		rel := firstOf(t, ev, KindFileIOReleaseExit)
		expect(t, ev, rel.CtrBefore == 1 && rel.CtrAfter == 0, "release leaves cached io mode")
	})

	t.Run("unwatched-silent", func(t *testing.T) {
		ev := record(t, s, func() {
			f := openFile(t, filepath.Join(dir, "other"), os.O_RDWR)
			pwrite(t, f, buf, 0)
			pwrite(t, f, buf, 8<<20)
			f.Close()
		})
		if len(ev) != 0 {
			t.Errorf("unwatched FUSE file produced events:\n%s", ev)
		}
	})

	t.Run("requests-by-task", func(t *testing.T) {
		if !reqs {
			t.Skip("request family not attached")
		}
		if err := s.WatchTask(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		defer s.UnwatchTask(os.Getpid())
		ev := record(t, s, func() {
			f := openFile(t, filepath.Join(dir, "other"), os.O_RDWR)
			pwrite(t, f, buf, 0)
		})
		w := ev.Of(KindFuseRequestSend, KindFuseRequestEnd).Where(func(e Event) bool { return e.Opcode() == FuseOpWrite })
		expect(t, ev, len(w) == 2 && w[0].Kind == KindFuseRequestSend && w[1].Kind == KindFuseRequestEnd && w[0].A2 == w[1].A2, "WRITE send then end, same request")
		expect(t, ev, len(w) == 2 && int(w[0].PID) == os.Getpid() && w[1].Ret == 0, "sent by this process, answered without error")
	})
}

func TestFaultInjection(t *testing.T) {
	s := loadSet(t)
	buf := alignedBuf(t, 4096)

	t.Run("failslab-in-fuse-direct-io", func(t *testing.T) {
		spec := FaultSpec{Site: "should_failslab", Within: "fuse_direct_io", PID: os.Getpid(), Count: 1}
		if err := s.ArmFault(spec); IsSkip(err) {
			t.Skip(err)
		} else if err != nil {
			t.Fatal(err)
		}
		dir := mountTestFUSE(t)
		path := filepath.Join(dir, "direct")
		if err := s.WatchPath(path); err != nil {
			t.Fatal(err)
		}
		f := openFile(t, path, os.O_RDWR)
		var err error
		ev := record(t, s, func() { _, err = unix.Pwrite(int(f.Fd()), buf, 0) })
		fired, derr := s.DisarmFault(spec.Site)
		if derr != nil {
			t.Fatal(derr)
		}
		if !errors.Is(err, syscall.ENOMEM) || fired != 1 {
			t.Errorf("pwrite err = %v, fired = %d; want ENOMEM, 1", err, fired)
		}
		fi := firstOf(t, ev, KindFaultInjected)
		expect(t, ev, fi.Path == FuncFuseDirectIO && Site(fi.Aux) == SiteFailslab && fi.Errno() == syscall.ENOMEM, "fault inside fuse_direct_io")
		expect(t, ev, firstOf(t, ev, KindFuseDirectIOExit).Errno() == syscall.ENOMEM, "fuse_direct_io returned -ENOMEM")
		expect(t, ev, firstOf(t, ev, KindWriteExit).Flags.Has(FlagFaultSeen), "write call saw the fault")
	})

	t.Run("bio-eio-hidden-by-ext4-fallback", func(t *testing.T) {
		spec := FaultSpec{Site: "should_fail_bio", Within: "filemap_write_and_wait_range", PID: os.Getpid(), Count: 1}
		if err := s.Require("kprobe/should_fail_bio"); err != nil {
			t.Skip(err)
		}
		dir := mountFS(t, "ext4")
		if os.Getenv("PROBE_EXT4_DEV") == "" {
			t.Skip("bio faults need a device the test thread submits to directly (guest virtio disk), not a loop device")
		}
		path := filepath.Join(dir, "f")
		makeFile(t, path, 1<<20)
		if err := s.WatchPath(path); err != nil {
			t.Fatal(err)
		}
		bf := openFile(t, path, os.O_RDWR)
		df := openFile(t, path, os.O_RDWR|unix.O_DIRECT)
		pwrite(t, bf, buf, 0) // dirty page 0
		if err := s.ArmFault(spec); err != nil {
			t.Fatal(err)
		}
		var n int
		ev := record(t, s, func() { n = pwrite(t, df, buf, 0) })
		fired, derr := s.DisarmFault(spec.Site)
		if derr != nil {
			t.Fatal(derr)
		}
		if n != 4096 || fired != 1 {
			t.Errorf("pwrite = %d, fired = %d; want 4096 (the fallback hides the error), 1", n, fired)
		}
		expectOrder(t, ev, KindWriteEnter, KindFaultInjected, KindDIOInvalidateFail, KindIomapDIORwInner, KindBufferedWrite, KindWriteExit)
		inner := firstOf(t, ev, KindIomapDIORwInner)
		expect(t, ev, inner.Flags.Has(FlagErrPtr) && inner.Errno() == syscall.ENOTBLK, "__iomap_dio_rw returned ERR_PTR(-ENOTBLK)")
		we := firstOf(t, ev, KindWriteExit)
		expect(t, ev, we.Flags.Has(FlagFaultSeen|FlagENOTBLKSeen|FlagBufferedSeen|FlagInvalFailSeen), "WriteExit: fault, invalidation failure, ENOTBLK, buffered")
		if err := bf.Sync(); !errors.Is(err, syscall.EIO) {
			t.Logf("fsync after hidden flush error = %v (EIO expected on 6.12)", err)
		}
	})
}

func TestBenchDirectWrite(t *testing.T) {
	requireRoot(t)
	dir := mountFS(t, "ext4")
	// Lock events need the rwsem programs and the write-path entry that
	// scopes them; a kernel that refuses fentry/fexit (the host) has
	// neither, and then only the timings are checked.
	s, err := Load(Options{RingBufferSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	lockErr := s.Require("fexit/down_write", "fexit/down_read", "fentry/ext4_file_write_iter")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if lockErr != nil {
		t.Logf("lock events not checked: %v", lockErr)
	}
	r, err := BenchDirectWrite(BenchOptions{Path: filepath.Join(dir, "bench"), Iterations: 200, Rounds: 2, Probe: Options{RingBufferSize: 4 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rounds) != 2 {
		t.Fatalf("%d rounds, want 2", len(r.Rounds))
	}
	for i, rd := range r.Rounds {
		t.Logf("round %d: %+v", i+1, rd)
		if rd.Bare <= 0 || rd.Idle <= 0 || rd.Recording <= 0 {
			t.Errorf("round %d: a loop took no time: %+v", i+1, rd)
		}
		// Every overwrite takes the file's i_rwsem: the programs
		// attached only while recording saw each one.
		if lockErr == nil && rd.LockEvents < r.Iterations {
			t.Errorf("round %d: %d i_rwsem acquisitions recorded for %d writes", i+1, rd.LockEvents, r.Iterations)
		}
	}
}

// The page-cache events are recorded only by a recording that asks for
// them (RecordOptions.PageCache), and Recorded says which.
func TestPageCacheOnRequest(t *testing.T) {
	s := loadSet(t)
	const add = "tp_btf/mm_filemap_add_to_page_cache"
	if err := s.Require(add); err != nil {
		t.Skip(err)
	}
	dir := mountFS(t, "ext4")
	path := filepath.Join(dir, "cached")
	makeFile(t, path, 64<<10)
	if err := s.WatchPath(path); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, path, os.O_RDWR)
	buf := make([]byte, 4096)
	// Each window writes a page of its own, so each adds a folio.
	write := func(off int64) func() {
		return func() {
			if _, err := unix.Pwrite(int(f.Fd()), buf, off); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Drop what makeFile left cached, so the writes add folios.
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	if ev := record(t, s, write(0)); ev.Has(KindCacheAdd) || ev.Has(KindCacheDelete) {
		t.Errorf("a recording that did not ask has page-cache events:\n%s", ev)
	}
	if err := s.StartWith(RecordOptions{PageCache: true}); err != nil {
		t.Fatal(err)
	}
	write(8192)()
	ev, err := s.Stop()
	if err != nil {
		t.Fatalf("Stop: %v\n%s", err, ev)
	}
	if e, ok := ev.First(KindCacheAdd); !ok || e.A0 != 2 {
		t.Errorf("a recording that asked: want a CacheAdd of page 2; events:\n%s", ev)
	}
	if err := s.Recorded(add, RecordOptions{}); !IsSkip(err) {
		t.Errorf("Recorded(%s, zero options) = %v, want a SkipError", add, err)
	}
	if err := s.Recorded(add, RecordOptions{PageCache: true}); err != nil {
		t.Errorf("Recorded(%s, PageCache) = %v", add, err)
	}
	if err := s.Recorded("fexit/down_read", RecordOptions{}); err != nil && !IsSkip(err) {
		t.Errorf("Recorded(fexit/down_read) = %v", err)
	}
}
