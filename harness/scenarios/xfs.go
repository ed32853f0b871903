package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"dioharness/harness/guestproto"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// XFS direct I/O on 6.12 (fs/xfs/xfs_file.c): the IOLOCK is the VFS
// i_rwsem, taken with down_{read,write}_nested under lockdep. Aligned
// direct writes run shared (xfs_file_dio_write_aligned demotes an
// exclusive lock taken for file_remove_privs); sub-block writes first try
// shared with IOMAP_DIO_OVERWRITE_ONLY and retry exclusive when iomap
// answers -EAGAIN (allocation or sub-block zeroing needed), or go
// exclusive at once near EOF. The 320 MiB image has 4 KiB blocks.

func xfsScenarios() scenario.Catalogue {
	return scenario.Catalogue{
		{
			Declaration: guestproto.Declaration{
				Name:  "xfs/lock-aligned-overwrite-shared",
				Area:  "xfs",
				Setup: "XFS (4 KiB blocks, CONFIG_XFS_DEBUG); a fresh file",
				Checks: "every write is O_DIRECT, 4 KiB aligned, and returns its count: the first write to the fresh inode (16 KiB at 0) is already shared only " +
					"(xfs_setup_inode sets S_NOSEC on an inode without an attr fork, unlike ext4), a 4 KiB overwrite at 4 KiB is shared only with dio_flags 0, and, " +
					"unlike ext4 case F, a 4 KiB append at EOF is shared too (no EOF zeroing; the size is updated at completion). After chmod 04644 (no S_NOSEC; root keeps " +
					"the bit) each overwrite takes i_rwsem shared, drops it, takes it exclusive for file_remove_privs and demotes it: down_read_nested, up_read, " +
					"down_write_nested (upgrade), downgrade_write, up_read: the IOLOCK demotion of xfs_file_dio_write_aligned. Data right after drop_caches",
			},
			Run: xfsAlignedShared,
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "xfs/lock-unaligned-overwrite-shared",
				Area:  "xfs",
				Setup: "XFS; a 16 KiB file written with O_DIRECT",
				Checks: "a 512 B O_DIRECT overwrite of a written block well inside EOF (at 4.5 KiB) returns 512 under i_rwsem shared only: " +
					"xfs_file_dio_write_unaligned's optimistic pass with IOMAP_DIO_OVERWRITE_ONLY succeeds (one iomap dio, dio_flags 0x2); " +
					"so a sub-block write alone does not make XFS go exclusive; data right after drop_caches",
			},
			Run: func(t *scenario.T) {
				dioCase{fs: xfsFS, file: "uo", size: testFile, off: 4<<10 + 512, n: 512,
					mapBefore: "written", mapAfter: "written",
					locks: "S s", dios: []dioStep{{dioOverwriteOnly, 512}}}.run(t)
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "xfs/lock-unaligned-exclusive",
				Area:  "xfs",
				Setup: "XFS; a 16 KiB file with [4 KiB, 8 KiB) punched out, and a 16 KiB file written with O_DIRECT",
				Checks: "a 512 B O_DIRECT write into the hole returns 512: shared pass with IOMAP_DIO_OVERWRITE_ONLY, iomap_dio_complete -EAGAIN " +
					"(xfs_direct_write_iomap_begin must allocate), then retry exclusive (down_write_nested upgrade) with IOMAP_DIO_FORCE_WAIT after one inode_dio_wait call (tracefs kprobe); " +
					"a 512 B write at EOF is exclusive from the start (pos + count >= i_size) with FORCE_WAIT and one inode_dio_wait; FIEMAP hole before, written after; zeros around the 512 B after drop_caches",
			},
			Run: func(t *scenario.T) {
				mnt := t.Disk(xfsFS.disk, "")
				dioCase{fs: xfsFS, file: "uh", size: testFile,
					prepare: func(t *scenario.T, bf *blockFile, want []byte) []byte {
						bf.punch(t, 4<<10, 4<<10)
						clear(want[4<<10 : 8<<10])
						return want
					},
					off: 4<<10 + 512, n: 512, mapBefore: "hole", mapAfter: "written",
					locks: "S s X ^ x", dios: []dioStep{{dioOverwriteOnly, -11}, {dioForceWait, 512}}, waits: 1}.runIn(t, mnt)
				dioCase{fs: xfsFS, file: "ue", size: testFile, off: testFile, n: 512,
					mapBefore: "hole", mapAfter: "written",
					locks: "X x", dios: []dioStep{{dioForceWait, 512}}, waits: 1}.runIn(t, mnt)
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "xfs/lock-unaligned-eof-end-exclusive",
				Area:  "xfs",
				Setup: "XFS; a 16 KiB file written with O_DIRECT (its last block written)",
				Checks: "a 512 B O_DIRECT overwrite of [i_size - 512, i_size), a written block that ends exactly at EOF, returns 512 and changes no size: " +
					"exclusive from the start (pos + count >= i_size in xfs_file_dio_write_unaligned, because iomap_dio_bio_iter zeroes the tail of a sub-block " +
					"write that reaches i_size, past EOF, which a concurrent shared writer must not race) with IOMAP_DIO_FORCE_WAIT and one inode_dio_wait call, " +
					"never the shared IOMAP_DIO_OVERWRITE_ONLY pass an overwrite inside EOF takes; FIEMAP written before and after; data right after drop_caches",
			},
			Run: func(t *scenario.T) {
				dioCase{fs: xfsFS, file: "ee", size: testFile, off: testFile - 512, n: 512,
					mapBefore: "written", mapAfter: "written",
					locks: "X x", dios: []dioStep{{dioForceWait, 512}}, waits: 1}.run(t)
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "xfs/invalidate-ebusy-fallback",
				Area:  "xfs",
				Setup: "XFS; a 4 MiB + 8 KiB file written with O_DIRECT; page 0 mapped MAP_SHARED and stored to in a loop by another thread (the same bytes the direct write carries)",
				Checks: "as ext4/invalidate-ebusy-fallback (bounded attempts until invalidate_inode_pages2_range returns -EBUSY inside kiocb_invalidate_pages; " +
					"iomap_dio_invalidate_fail over the range; iomap_dio_rw -ENOTBLK; pwrite returns the full count; data right after the writer stops, fsync and drop_caches). XFS differs: " +
					"xfs_file_dio_write_aligned drops its shared IOLOCK and returns -ENOTBLK, xfs_file_write_iter calls xfs_file_buffered_write, which retakes it " +
					"exclusive and writes through iomap_file_buffered_write, and nothing flushes or invalidates afterwards: page 1 stays in the page cache (mincore). " +
					"-EBUSY keeps falling back on both flavours",
			},
			Run: func(t *scenario.T) { invalidateEBUSY(t, xfsFS) },
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "xfs/invalidate-eio-returned",
				Area:  "xfs",
				Setup: "XFS; a 16 KiB file written with O_DIRECT, pages 0-1 dirtied by a buffered write; one should_fail_bio (EIO) armed for this process inside kiocb_invalidate_pages",
				Checks: "as ext4/invalidate-eio-returned: the pre-write flush of page 0 fails with EIO. Pass (patched): pwrite returns EIO, no iomap_dio_invalidate_fail, " +
					"no buffered write, iomap_dio_rw -EIO, page 1 and pages 2-3 intact after fsync and drop_caches. Base: -ENOTBLK, and XFS (which only means to fall back " +
					"for reflink CoW, but falls back on any -ENOTBLK) writes page 0 through iomap_file_buffered_write; pwrite returns 4096",
				FailsOnBase: "the base iomap turns every pre-write invalidation error except -EAGAIN into -ENOTBLK and xfs_file_write_iter falls back to a buffered write: pwrite succeeds and the EIO surfaces only at fsync",
				Patch:       patchIomap,
			},
			Run: func(t *scenario.T) { invalidateEIO(t, xfsFS) },
		},
		{
			Declaration: guestproto.Declaration{
				Name: "xfs/odirect-reports-earlier-writeback-error",
				Area: "xfs",
				Setup: "XFS; a 64 KiB file written with O_DIRECT; page 8 dirtied by a buffered write and written back by sync_file_range(SYNC_FILE_RANGE_WRITE) " +
					"with one should_fail_bio (EIO) armed for this process (an overwrite: the ioend completes without the unwritten-conversion workqueue), so the mapping records AS_EIO",
				Checks: "as ext4/odirect-reports-earlier-writeback-error: the O_DIRECT write to page 0 (no page cache) meets the earlier error in its pre-write flush. " +
					"Pass (patched): pwrite returns EIO once with no fallback, the repeated write is one iomap direct write. Base: -ENOTBLK, XFS falls back to " +
					"iomap_file_buffered_write, and pwrite returns 4096",
				FailsOnBase: "the base iomap turns the flush's EIO into -ENOTBLK and xfs_file_write_iter falls back to a buffered write: the earlier writeback error is never returned from write(2)",
				Patch:       patchIomap,
			},
			Run: func(t *scenario.T) { earlierWritebackError(t, xfsFS) },
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "xfs/dio-from-own-mmap",
				Area:  "xfs",
				Setup: "XFS; a 16 KiB file written with O_DIRECT; pages 0-1 mapped MAP_SHARED and overwritten through the mapping (dirty)",
				Checks: "as ext4/dio-from-own-mmap (generic/729 shape): the 8 KiB O_DIRECT pwrite from the mapping onto the same range returns 8192 within 20 s, " +
					"the pre-write flush and invalidation succeed, one iomap dio completes 8192, no fallback, data right after drop_caches. XFS page faults take " +
					"the MMAPLOCK (invalidate_lock), which the direct write does not hold, so faulting the buffer in under the shared IOLOCK cannot deadlock",
			},
			Run: func(t *scenario.T) { dioFromOwnMmap(t, xfsFS) },
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "xfs/stale-iomap-revalidation",
				Area:  "xfs",
				Setup: "XFS with the write_delay_ms errortag (CONFIG_XFS_DEBUG, /sys/fs/xfs/<dev>/errortag); a 40 KiB file fallocated (one unwritten extent) whose last byte was written buffered (xfstests xfs/559)",
				Checks: "a buffered write of 36 KiB + 1 byte at 0 (each folio delayed in xfs_iomap_valid) races sync_file_range, started once page 0 is in the page cache, " +
					"whose writeback converts unwritten blocks and bumps the data fork sequence: xfs_iomap_valid returns false (xfs_iomap_invalid fires) at least once, " +
					"iomap remaps, and the write still returns its full count; bounded attempts, reported. After fsync and drop_caches the file holds 0x57 over the write, " +
					"zeros after it and 0x58 in the last byte. SKIP when the errortag path is absent",
			},
			Run: xfsStaleIomap,
		},
	}
}

func xfsAlignedShared(t *scenario.T) {
	ps := t.Probes(xfsFS.lockProbes...)
	mnt := t.Disk("xfs", "")
	bf := newBlockFile(t, mnt, "aligned", 0, 0)
	ps.Watch(bf.Direct)
	want := pattern(testFile, 0x11)
	first := alignedBuf(t, testFile, 0x11)
	ev := ps.Record(func() { pwriteFull(t, bf.Direct, first, 0) })
	wantExit(t, "first write", ev, xfsFS.write, testFile)
	wantLocks(t, "first write to a fresh inode", ev, "S s")
	oneDIO(t, "first write", ev, 0, testFile, 0, testFile)

	buf := alignedBuf(t, 4<<10, 0x5c)
	ev = ps.Record(func() { pwriteFull(t, bf.Direct, buf, 4<<10) })
	copy(want[4<<10:], buf)
	wantExit(t, "aligned overwrite", ev, xfsFS.write, 4<<10)
	wantLocks(t, "aligned overwrite", ev, "S s")
	oneDIO(t, "aligned overwrite", ev, 4<<10, 4<<10, 0, 4<<10)
	noBuffered(t, "aligned overwrite", ev)

	ev = ps.Record(func() { pwriteFull(t, bf.Direct, buf, testFile) })
	want = append(want, buf...)
	wantExit(t, "aligned append", ev, xfsFS.write, 4<<10)
	wantLocks(t, "aligned append at EOF", ev, "S s")
	oneDIO(t, "aligned append", ev, testFile, 4<<10, 0, 4<<10)

	// A setuid file never gets S_NOSEC (root keeps the bit: CAP_FSETID),
	// so every write relocks for file_remove_privs and demotes.
	t.Check(unix.Fchmod(int(bf.Direct.Fd()), 0o4644), "chmod 04644")
	buf2 := alignedBuf(t, 4<<10, 0x6d)
	for i := 0; i < 2; i++ {
		ev = ps.Record(func() { pwriteFull(t, bf.Direct, buf2, 8<<10) })
		what := fmt.Sprintf("aligned overwrite %d of a setuid file", i+1)
		wantExit(t, what, ev, xfsFS.write, 4<<10)
		wantLocks(t, what, ev, "S s X ^ v s")
		oneDIO(t, what, ev, 8<<10, 4<<10, 0, 4<<10)
	}
	copy(want[8<<10:], buf2)
	t.Logf("setuid file: i_rwsem %q (exclusive for file_remove_privs, then downgrade_write)", lockTrace(ev))
	var st unix.Stat_t
	t.Check(unix.Fstat(int(bf.Direct.Fd()), &st), "fstat")
	if st.Mode&unix.S_ISUID == 0 {
		t.Errorf("setuid bit dropped by a write as root (CAP_FSETID should keep it): mode %o", st.Mode)
	}
	bf.expectContent(t, "file after the aligned writes", want)
}

func xfsStaleIomap(t *scenario.T) {
	ps := t.Probes("fentry/xfs_file_write_iter", "fexit/xfs_file_write_iter", "tp_btf/xfs_iomap_invalid",
		"fexit/xfs_iomap_valid", "fentry/iomap_file_buffered_write")
	mnt := t.Disk("xfs", "")
	tag := filepath.Join("/sys/fs/xfs", filepath.Base(t.PlanDisk("xfs").Device), "errortag", "write_delay_ms")
	if _, err := os.Stat(tag); err != nil {
		t.Skipf("XFS errortag write_delay_ms unavailable (needs CONFIG_XFS_DEBUG): %v", err)
	}
	setDelay := func(ms int) {
		t.Check(os.WriteFile(tag, []byte(strconv.Itoa(ms)), 0), "write %s", tag)
	}
	t.Cleanup(func() { os.WriteFile(tag, []byte("0"), 0) })

	const (
		blocks   = 10
		filesz   = blocks * page
		writeLen = (blocks-1)*page + 1
		delayMs  = 100
		attempts = 5
	)
	data := make([]byte, writeLen)
	for i := range data {
		data[i] = 0x57
	}
	var ev probe.Events
	var f *os.File
	attempt := 0
	for attempt = 1; attempt <= attempts; attempt++ {
		f = openFile(t, filepath.Join(mnt, fmt.Sprintf("stale%d", attempt)), os.O_RDWR|os.O_CREATE|os.O_TRUNC)
		t.Check(unix.Fallocate(int(f.Fd()), 0, 0, filesz), "fallocate")
		_, err := f.WriteAt([]byte{0x58}, filesz-1)
		t.Check(err, "dirty the last page")
		ps.Watch(f)
		watch, err := unix.Mmap(int(f.Fd()), 0, page, unix.PROT_READ, unix.MAP_SHARED)
		t.Check(err, "mmap page 0 for mincore")
		setDelay(delayMs)
		type result struct {
			n   int
			err error
		}
		res := make(chan result, 1)
		var syncErr error
		var r result
		raced := false
		ev = ps.Record(func() {
			go func() {
				n, err := unix.Pwrite(int(f.Fd()), data, 0)
				res <- result{n, err}
			}()
			// Page 0 turns uptodate once the writer has copied into it,
			// i.e. while the writer is inside its first mapping.
			vec := []byte{0}
			for vec[0]&1 == 0 {
				_, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&watch[0])), page, uintptr(unsafe.Pointer(&vec[0])))
				if e != 0 {
					syncErr = fmt.Errorf("mincore: %v", e)
					break
				}
				if t.Context().Err() != nil {
					break
				}
				runtime.Gosched()
			}
			syncErr = unix.SyncFileRange(int(f.Fd()), 0, 0,
				unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
			select {
			case r = <-res:
			default:
				raced = true // writeback finished while the write was still running
				r = <-res
			}
		})
		setDelay(0)
		unix.Munmap(watch)
		t.Check(syncErr, "sync_file_range")
		if r.err != nil || r.n != writeLen {
			t.Fatalf("attempt %d: buffered write returned %d, %v; want %d\n%s", attempt, r.n, errnoOf(r.err), writeLen, ev)
		}
		t.Logf("attempt %d: writeback done before the write returned: %v; xfs_iomap_invalid %d, xfs_iomap_valid false %d",
			attempt, raced, ev.Count(probe.KindXFSIomapInvalid), ev.Count(probe.KindXFSIomapValidFalse))
		if ev.Has(probe.KindXFSIomapInvalid) {
			break
		}
	}
	t.SetAttempts(min(attempt, attempts))
	if attempt > attempts {
		t.Fatalf("xfs_iomap_valid never returned false in %d attempts; last events:\n%s", attempts, ev)
	}
	inv, _ := ev.First(probe.KindXFSIomapInvalid)
	if !ev.Has(probe.KindXFSIomapValidFalse) {
		t.Fatalf("xfs_iomap_invalid fired but no xfs_iomap_valid returned false\n%s", ev)
	}
	if err := ev.CheckOrder(probe.KindWriteEnter, probe.KindBufferedWrite, probe.KindXFSIomapInvalid, probe.KindWriteExit); err != nil {
		t.Fatalf("stale map outside the buffered write: %v", err)
	}
	t.Logf("stale iomap: %s", inv)

	want := make([]byte, filesz)
	copy(want, data)
	want[filesz-1] = 0x58
	t.Check(f.Sync(), "fsync")
	t.DropCaches()
	got := make([]byte, filesz)
	n, err := f.ReadAt(got, 0)
	if err != nil || n != filesz {
		t.Fatalf("read back: %d, %v", n, err)
	}
	sameBytes(t, "file after the racing write, fsync and drop_caches", got, want)
	if s := strings.TrimSpace(readFileString(tag)); s != "0" {
		t.Errorf("write_delay_ms left at %q", s)
	}
}

func readFileString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
