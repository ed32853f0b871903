package scenarios

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/guestproto"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// ext4 direct I/O on 6.12 (fs/ext4/file.c ext4_dio_write_iter and
// ext4_dio_write_checks): which i_rwsem mode each kind of write takes,
// where RWF_NOWAIT gives up, when iomap falls back to buffered I/O, and
// what a failed pre-write invalidation does.
//
// The ext4 images are 256 MiB and 128 MiB, so mke2fs's "small" profile
// gives them 1 KiB blocks: a 4 KiB page holds four blocks, "aligned"
// means 1 KiB aligned and a 512 B write is sub-block.

// testFile is the size of most test files: four pages.
const testFile = 16 << 10

func ext4Scenarios() scenario.Catalogue {
	return scenario.Catalogue{
		{
			Declaration: guestproto.Declaration{
				Name:  "ext4/lock-a-overwrite-shared",
				Area:  "ext4",
				Setup: "ext4 (1 KiB blocks, data=ordered); a 16 KiB file written with O_DIRECT (blocks written, S_NOSEC set by that first write)",
				Checks: "case A: a 4 KiB O_DIRECT overwrite at 4 KiB returns 4096; i_rwsem is taken shared only (down_read ... up_read, no down_write); " +
					"one iomap_dio_rw with dio_flags 0 completes 4096; no buffered write; the extent stays written and the file reads back right after drop_caches",
			},
			Run: func(t *scenario.T) {
				dioCase{fs: ext4FS, file: "a", size: testFile, off: 4 << 10, n: 4 << 10,
					mapBefore: "written", mapAfter: "written",
					locks: "S s", dios: []dioStep{{0, 4 << 10}}}.run(t)
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "ext4/lock-b-unwritten-shared",
				Area:  "ext4",
				Setup: "ext4; a 16 KiB file, then fallocate(16 KiB, 16 KiB): unwritten extents, size 32 KiB",
				Checks: "case B: a 4 KiB O_DIRECT write at 20 KiB into the unwritten extent returns 4096 under i_rwsem shared only (ext4_overwrite_io counts preallocated blocks as an overwrite); " +
					"iomap dio_flags 0 (ext4_iomap_ops, not the overwrite ops; not observable by probe); FIEMAP shows the blocks unwritten before and written after (end_io conversion); " +
					"after drop_caches the written range holds the data and the rest of the preallocation reads zeros",
			},
			Run: func(t *scenario.T) {
				dioCase{fs: ext4FS, file: "b", size: testFile,
					prepare: func(t *scenario.T, bf *blockFile, want []byte) []byte {
						bf.prealloc(t, testFile, testFile)
						return append(want, make([]byte, testFile)...)
					},
					off: 20 << 10, n: 4 << 10, mapBefore: "unwritten", mapAfter: "written",
					locks: "S s", dios: []dioStep{{0, 4 << 10}}}.run(t)
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name: "ext4/lock-c-hole-fill-upgrade",
				Area: "ext4",
				Setup: "ext4; a 16 KiB file with [4 KiB, 8 KiB) punched out (a hole inside EOF). The lock rule is the running kernel's, chosen by its release: " +
					"6.12 rules up to 6.12, 7.3 rules from 7.3, SKIP in between",
				Checks: "case C: a 4 KiB O_DIRECT write filling the hole returns 4096; one iomap_dio_rw with dio_flags 0 (aligned, not extending: no FORCE_WAIT) " +
					"and no inode_dio_wait; FIEMAP hole before, written after; data right after drop_caches. i_rwsem, 6.12 rules: shared, dropped and retaken " +
					"exclusive (down_read, up_read, down_write flagged as an upgrade: ext4_dio_write_checks restarts because ext4_overwrite_io is false). " +
					"7.3 rules: shared only (down_read ... up_read, no down_write): ext4_dio_write_checks upgrades an aligned write only for !IS_NOSEC or " +
					"an extending write, and ext4_iomap_alloc allocates the block unwritten under the shared lock (the name keeps the 6.12 upgrade)",
			},
			Run: func(t *scenario.T) {
				_, exp := ext4RulesOf(t)
				dioCase{fs: ext4FS, file: "c", size: testFile,
					prepare: func(t *scenario.T, bf *blockFile, want []byte) []byte {
						bf.punch(t, 4<<10, 4<<10)
						clear(want[4<<10 : 8<<10])
						return want
					},
					off: 4 << 10, n: 4 << 10, mapBefore: "hole", mapAfter: "written",
					locks: exp.holeFillLocks, dios: []dioStep{{0, 4 << 10}}}.run(t)
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "ext4/lock-d-subblock-hole-exclusive",
				Area:  "ext4",
				Setup: "ext4; two 16 KiB files: one with [4 KiB, 8 KiB) punched out, one with [16 KiB, 24 KiB) fallocated (unwritten)",
				Checks: "case D: a 512 B O_DIRECT write into the hole (at 4.5 KiB) and one into an unwritten block (at 17.5 KiB) each return 512; " +
					"each takes i_rwsem shared, restarts and runs exclusive (down_read, up_read, down_write upgrade, up_write), " +
					"and iomap_dio_rw gets IOMAP_DIO_FORCE_WAIT (the unaligned exclusive branch), and the write calls inode_dio_wait once (tracefs kprobe; the other lock cases assert zero calls); " +
					"FIEMAP shows the 1 KiB block hole/unwritten before and written after; the rest of the block reads zeros (iomap_dio_zero) after drop_caches",
			},
			Run: func(t *scenario.T) {
				mnt := t.Disk(ext4FS.disk, "")
				dioCase{fs: ext4FS, file: "d-hole", size: testFile,
					prepare: func(t *scenario.T, bf *blockFile, want []byte) []byte {
						bf.punch(t, 4<<10, 4<<10)
						clear(want[4<<10 : 8<<10])
						return want
					},
					off: 4<<10 + 512, n: 512, mapBefore: "hole", mapAfter: "written",
					locks: "S s X ^ x", dios: []dioStep{{dioForceWait, 512}}, waits: 1}.runIn(t, mnt)
				dioCase{fs: ext4FS, file: "d-unwritten", size: testFile,
					prepare: func(t *scenario.T, bf *blockFile, want []byte) []byte {
						bf.prealloc(t, testFile, 8<<10)
						return append(want, make([]byte, 8<<10)...)
					},
					off: 17<<10 + 512, n: 512, mapBefore: "unwritten", mapAfter: "written",
					locks: "S s X ^ x", dios: []dioStep{{dioForceWait, 512}}, waits: 1}.runIn(t, mnt)
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "ext4/lock-e-subblock-overwrite-shared",
				Area:  "ext4",
				Setup: "ext4; a 16 KiB file written with O_DIRECT",
				Checks: "case E: a 512 B O_DIRECT overwrite of written blocks (at 4.5 KiB) returns 512 under i_rwsem shared only; " +
					"iomap dio_flags 0 (no FORCE_WAIT, no zeroing); the other 512 B of the block keep their old bytes after drop_caches",
			},
			Run: func(t *scenario.T) {
				dioCase{fs: ext4FS, file: "e", size: testFile, off: 4<<10 + 512, n: 512,
					mapBefore: "written", mapAfter: "written",
					locks: "S s", dios: []dioStep{{0, 512}}}.run(t)
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "ext4/lock-f-extending-exclusive",
				Area:  "ext4",
				Setup: "ext4; a 16 KiB file written with O_DIRECT",
				Checks: "case F: a 4 KiB O_DIRECT write at EOF returns 4096 and the size becomes 20 KiB; i_rwsem is exclusive from the start " +
					"(down_write with no down_read before it, so no upgrade) and iomap_dio_rw gets IOMAP_DIO_FORCE_WAIT (extending writes complete synchronously); " +
					"FIEMAP written after; data right after drop_caches",
			},
			Run: func(t *scenario.T) {
				dioCase{fs: ext4FS, file: "f", size: testFile, off: testFile, n: 4 << 10,
					mapBefore: "hole", mapAfter: "written",
					locks: "X x", dios: []dioStep{{dioForceWait, 4 << 10}}}.run(t)
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "ext4/lock-g-append-upgrade-exclusive",
				Area:  "ext4",
				Setup: "ext4; a 16 KiB file written with O_DIRECT, opened again with O_APPEND|O_DIRECT",
				Checks: "case G: a 4 KiB O_DIRECT write through the O_APPEND descriptor at offset 0 returns 4096 and lands at the old EOF (16 KiB; size 20 KiB). " +
					"ext4_dio_write_iter's unlocked check sees a write at 0 inside EOF and takes i_rwsem shared; generic_write_checks then moves it to EOF, " +
					"so ext4_dio_write_checks finds it extending and restarts under the exclusive lock (down_read, up_read, down_write flagged as an upgrade); " +
					"iomap_dio_rw gets IOMAP_DIO_FORCE_WAIT; FIEMAP written after; data right after drop_caches. " +
					"Kills the mutant that keeps the shared lock for an extending write (lock-f cannot see it: its write is extending before the lock is taken)",
			},
			Run: func(t *scenario.T) {
				dioCase{fs: ext4FS, file: "g", size: testFile, off: testFile, n: 4 << 10, oAppend: true,
					mapAfter: "written",
					locks:    "S s X ^ x", dios: []dioStep{{dioForceWait, 4 << 10}}}.run(t)
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name: "ext4/nowait-eagain-sources",
				Area: "ext4",
				Setup: "ext4; a 16 KiB file written with O_DIRECT, [8 KiB, 12 KiB) punched out; writes are pwritev2(RWF_NOWAIT) on the O_DIRECT descriptor, " +
					"the hole fill, cached-page and succeeding ones right after utimensat(now). Rules chosen by the running kernel's release: " +
					"6.12 rules up to 6.12, 7.3 rules from 7.3, SKIP in between. kretprobes on generic_update_time and ext4_iomap_begin give their returns",
				Checks: "Both rules: EAGAIN for an extending write (down_write_trylock succeeds, ext4_dio_write_checks gives up before the timestamp update " +
					"and iomap: no generic_update_time, no iomap_dio_rw_begin); EAGAIN for a cached page in range (page read through a buffered descriptor: " +
					"iomap_dio_rw_begin fires, kiocb_invalidate_pages returns -EAGAIN, no ext4_iomap_begin, no iomap_dio_complete, no iomap_dio_invalidate_fail); " +
					"a plain overwrite succeeds (4096, shared trylock, one completed dio); after a remount the inode has no S_NOSEC and the same overwrite gets EAGAIN " +
					"from the lock checks until one blocking write runs, after which it succeeds; the hole stays a hole (FIEMAP); file content right at the end. " +
					"6.12 rules: with the mtime set in the past, an overwrite succeeds and updates it (file_modified blocks: generic_update_time >= 0 once); " +
					"a hole fill gets EAGAIN from the lock checks (not an overwrite: no generic_update_time, no iomap_dio_rw_begin, no ext4_iomap_begin). " +
					"7.3 rules: with the mtime in the past the overwrite gets EAGAIN (kiocb_modified: generic_update_time -EAGAIN under the shared lock, " +
					"no iomap_dio_rw_begin) and the mtime stays; a hole fill keeps the shared lock and gets EAGAIN inside iomap (iomap_dio_rw_begin, " +
					"kiocb_invalidate_pages 0, ext4_iomap_begin -EAGAIN from ext4_iomap_alloc's IOMAP_NOWAIT check, iomap_dio_complete and iomap_dio_rw -EAGAIN); " +
					"a write meant to find current timestamps that meets a clock tick instead must show exactly the timestamp EAGAIN and is repeated (at most 10, attempts reported)",
			},
			Run: ext4NowaitSources,
		},
		{
			Declaration: guestproto.Declaration{
				Name: "ext4/enotblk-noextent-fallback",
				Area: "ext4",
				Setup: "ext4 without extents (-O ^extent: indirect-block inodes, 1 KiB blocks); a file with [0, 4 KiB) written by O_DIRECT, then ftruncate to 16 KiB " +
					"([4 KiB, 16 KiB) is a hole inside EOF). The lock rule is the running kernel's, chosen by its release: 6.12 rules up to 6.12, 7.3 rules from 7.3, SKIP in between",
				Checks: "an 8 KiB O_DIRECT write over [mapped 4 KiB | hole 4 KiB] returns 8192; the data reads back right after drop_caches and FIEMAP shows [4 KiB, 8 KiB) allocated. Kernel path: " +
					"iomap_dio_rw_begin for 8192 and iomap_dio_complete with ret 4096 (ext4_iomap_alloc returns -ENOTBLK " +
					"for the hole of an indirect inode; __iomap_dio_rw swallows it into a short count, so __iomap_dio_rw returns a dio, not ERR_PTR(-ENOTBLK), " +
					"and no iomap_dio_invalidate_fail fires), then ext4_buffered_write_iter: down_write, generic_perform_write and ext4_da_write_begin at 4096 for 4096, " +
					"then filemap_write_and_wait_range [4096, 8191] returning 0 (page 1 is clean). Page cache: mincore right after the write shows page 0 not resident " +
					"(the direct part invalidated it); whether page 1 is still resident is reported, not asserted: ext4 drops it with invalidate_mapping_pages, " +
					"which skips a folio still referenced by a per-CPU LRU batch (not resident in every base run so far). i_rwsem, 6.12 rules: shared, then exclusive " +
					"before iomap (ext4_overwrite_io false: restart), then exclusive again for the buffered part (S s X ^ x X x). 7.3 rules: the direct part runs " +
					"shared (aligned, not extending), the only exclusive lock is the buffered part's (S s X ^ x, iomap_dio_rw before up_read)",
			},
			Run: ext4ENOTBLK,
		},
		{
			Declaration: guestproto.Declaration{
				Name: "ext4/enotblk-whole-fallback-keeps-cache",
				Area: "ext4",
				Setup: "ext4 without extents (1 KiB blocks); a 16 KiB file whose [0, 12 KiB) is a hole inside EOF (only page 3 written, by O_DIRECT); " +
					"pages 1-2 read through the page cache (clean), page 3 dirtied by a buffered write",
				Checks: "a 4 KiB O_DIRECT write at 0, all of it into the hole, returns 4096: iomap_dio_rw_begin for 4096 and iomap_dio_complete with ret 0 " +
					"(ext4_iomap_alloc returns -ENOTBLK at once, so the dio completes with nothing written and no error), then generic_perform_write at 0 for 4096. " +
					"A dio that wrote nothing invalidates nothing afterwards: no kiocb_invalidate_post_direct_write call (iomap_dio_complete skips it when dio->size is 0; " +
					"at pos 0 a count of 0 would make its last page index (0 + 0 - 1) >> PAGE_SHIFT, the whole file), no dio_warn_stale_pagecache, " +
					"pages 1-3 still resident (mincore) and fsync returns 0 (no stale-cache EIO from the dirty page 3). Data right after drop_caches",
			},
			Run: ext4WholeFallbackKeepsCache,
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "ext4/extend-unlinked-stays-orphan",
				Area:  "ext4",
				Setup: "ext4; a 16 KiB file written with O_DIRECT, then unlinked while open (i_nlink 0: on the orphan list until the last close)",
				Checks: "an extending 4 KiB O_DIRECT write at EOF of the unlinked file returns 4096 (i_rwsem exclusive from the start, IOMAP_DIO_FORCE_WAIT; " +
					"fstat: size 20 KiB, st_nlink 0; data read back); then EXT4_IOC_SHUTDOWN (LOGFLUSH) before the close, the last close, unmount, and a mount that " +
					"replays the journal and frees the inodes on the orphan list: statfs counts as many free inodes as before the file was created. " +
					"ext4_handle_inode_extension() takes the inode off the orphan list after a full extending write only while it still has links; " +
					"an unlinked inode taken off would stay allocated with no name after the crash (the guest has no e2fsck: the free inode count shows the leak)",
			},
			Run: ext4ExtendUnlinkedOrphan,
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "ext4/invalidate-ebusy-fallback",
				Area:  "ext4",
				Setup: "ext4; a 4 MiB + 8 KiB file written with O_DIRECT; page 0 mapped MAP_SHARED and stored to in a loop by another thread (the same bytes the direct write carries)",
				Checks: "a 4 MiB O_DIRECT write over pages that a buffered write of the same bytes dirtied is repeated (bounded, attempts reported) until the pre-write " +
					"invalidation fails: page 0 is redirtied through the mapping while the flush waits for its I/O, so invalidate_inode_pages2_range (inside " +
					"kiocb_invalidate_pages) returns -EBUSY. Then: iomap_dio_invalidate_fail for [0, 4 MiB), iomap_dio_rw returns -ENOTBLK, no iomap_dio_complete, " +
					"ext4 writes the whole range buffered (generic_perform_write at 0; i_rwsem shared for the direct attempt, then exclusive) and flushes the range; " +
					"pwrite returns the full count; after the writer stops, fsync and drop_caches the file holds the new bytes over the range and the old ones after it. " +
					"-EBUSY keeps falling back on both flavours. No deterministic -EBUSY source exists without a new injection site (see the report)",
			},
			Run: func(t *scenario.T) { invalidateEBUSY(t, ext4FS) },
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "ext4/invalidate-eio-returned",
				Area:  "ext4",
				Setup: "ext4; a 16 KiB file written with O_DIRECT, pages 0-1 dirtied by a buffered write; one should_fail_bio (EIO) armed for this process inside kiocb_invalidate_pages",
				Checks: "a 4 KiB O_DIRECT write over page 0: the pre-write flush of page 0 fails with EIO (fault fired once, filemap_write_and_wait_range -> -EIO). " +
					"Pass (patched): pwrite returns EIO, no iomap_dio_invalidate_fail, no buffered write, iomap_dio_rw returns -EIO; page 1 (dirty, outside the range) and pages 2-3 " +
					"read back intact after fsync and drop_caches. Base: iomap turns the EIO into -ENOTBLK, ext4 writes page 0 buffered and pwrite returns 4096; only fsync reports the EIO",
				FailsOnBase: "the base iomap turns every pre-write invalidation error except -EAGAIN into -ENOTBLK: the flush's EIO is hidden behind a buffered fallback and pwrite succeeds",
				Patch:       patchIomap,
			},
			Run: func(t *scenario.T) { invalidateEIO(t, ext4FS) },
		},
		{
			Declaration: guestproto.Declaration{
				Name: "ext4/odirect-reports-earlier-writeback-error",
				Area: "ext4",
				Setup: "ext4; a 64 KiB file written with O_DIRECT; page 8 dirtied by a buffered write and written back by sync_file_range(SYNC_FILE_RANGE_WRITE) " +
					"with one should_fail_bio (EIO) armed for this process, so the mapping records AS_EIO and nobody has consumed it",
				Checks: "a 4 KiB O_DIRECT write to page 0, which has no page cache (mincore), meets the earlier error in its pre-write flush " +
					"(filemap_write_and_wait_range inside kiocb_invalidate_pages returns -EIO through filemap_check_errors, on every kernel). Pass (patched): " +
					"pwrite returns EIO, no iomap_dio_invalidate_fail, no buffered write, iomap_dio_rw -EIO; the same write repeated then succeeds as one iomap " +
					"direct write with a clean flush (the error is reported once); the other pages read back intact after drop_caches. " +
					"Base: -ENOTBLK, a buffered fallback, and pwrite returns 4096",
				FailsOnBase: "the base iomap turns the flush's EIO into -ENOTBLK: the O_DIRECT write falls back to a buffered write and succeeds, and the earlier writeback error is never returned from write(2)",
				Patch:       patchIomap,
			},
			Run: func(t *scenario.T) { earlierWritebackError(t, ext4FS) },
		},
		{
			Declaration: guestproto.Declaration{
				Name:  "ext4/dio-from-own-mmap",
				Area:  "ext4",
				Setup: "ext4; a 16 KiB file written with O_DIRECT; pages 0-1 mapped MAP_SHARED and overwritten through the mapping (dirty)",
				Checks: "generic/729 shape: an 8 KiB O_DIRECT pwrite whose user buffer is that mapping, to the same file range, returns 8192 within 20 s (no deadlock: " +
					"the pre-write flush writes the dirty pages, invalidation unmaps them, and pinning the buffer faults them back in from disk). Kernel path: " +
					"filemap_write_and_wait_range and invalidate_inode_pages2_range inside kiocb_invalidate_pages return 0, one iomap dio completes 8192, no fallback. " +
					"The file reads back the bytes stored through the mapping after drop_caches",
			},
			Run: func(t *scenario.T) { dioFromOwnMmap(t, ext4FS) },
		},
	}
}

// ext4NowaitSources: the RWF_NOWAIT EAGAIN sources, told apart by probes.
func ext4NowaitSources(t *scenario.T) {
	rules, exp := ext4RulesOf(t)
	ps := t.Probes(append(ext4FS.lockProbes, "fexit/kiocb_invalidate_pages", "fexit/iomap_dio_rw")...)
	// generic_update_time returns int on both bases: 6.12 the S_* bits it
	// updated, 7.3 0 or -errno. ext4_iomap_begin returns int.
	upd := returnProbe(t, "generic_update_time", 32)
	begin := returnProbe(t, "ext4_iomap_begin", 32)
	mnt := t.Disk("ext4", "")
	bf := newBlockFile(t, mnt, "nowait", testFile, 0x11)
	want := pattern(testFile, 0x11)
	bf.punch(t, 8<<10, 4<<10)
	clear(want[8<<10 : 12<<10])
	ps.Watch(bf.Direct)
	buf := alignedBuf(t, 4<<10, 0x6e)

	// try is one RWF_NOWAIT write: its result, events, and what
	// generic_update_time and ext4_iomap_begin returned meanwhile.
	type try struct {
		n       int
		err     error
		ev      probe.Events
		updates []int64
		begins  []int64
	}
	once := func(off int64, fresh bool) try {
		var r try
		var uerr, berr error
		r.ev = ps.Record(func() {
			r.updates, uerr = upd.Returns(func() {
				r.begins, berr = begin.Returns(func() {
					if fresh {
						// Right before the write, so that on 7.3 its
						// kiocb_modified finds nothing to update
						// unless the clock ticks in between.
						touchNow(t, bf.Path)
					}
					r.n, r.err = pwritev2(bf.Direct, buf, off, unix.RWF_NOWAIT)
				})
			})
		})
		t.Check(uerr, "returns of generic_update_time")
		t.Check(berr, "returns of ext4_iomap_begin")
		return r
	}
	// gaveUpOnTimes checks a write refused by the timestamp update: EAGAIN
	// from kiocb_modified (generic_update_time -EAGAIN, under the shared
	// lock, before iomap).
	gaveUpOnTimes := func(what string, r try) {
		if r.err != unix.EAGAIN || len(r.updates) != 1 || r.updates[0] != negErrno(syscall.EAGAIN) ||
			r.ev.Has(probe.KindDIOBegin) || len(r.begins) != 0 || lockTrace(r.ev) != "St s" {
			t.Fatalf("%s: want EAGAIN from the timestamp update: pwritev2 EAGAIN, generic_update_time -EAGAIN once, "+
				"i_rwsem \"St s\", no iomap_dio_rw_begin, no ext4_iomap_begin; got %s, generic_update_time %v, ext4_iomap_begin %v\n%s",
				what, errnoOf(r.err), r.updates, r.begins, r.ev)
		}
	}
	maxAttempts := 1
	// nowait does one RWF_NOWAIT write at off and checks its errno. With
	// fresh, the file's timestamps are set to now right before it; under
	// the 7.3 rules a clock tick in between still makes kiocb_modified
	// refuse the write, so that attempt is checked for exactly that and
	// the write repeated (bounded).
	nowait := func(what string, off int64, fresh bool, wantErr error) try {
		const bound = 10
		var r try
		for attempt := 1; ; attempt++ {
			r = once(off, fresh)
			if !fresh || !exp.nowaitStaleTimes || len(r.updates) == 0 {
				maxAttempts = max(maxAttempts, attempt)
				break
			}
			gaveUpOnTimes(fmt.Sprintf("%s (attempt %d: the clock ticked after the timestamps were set)", what, attempt), r)
			t.Logf("%s: attempt %d met a clock tick: EAGAIN from the timestamp update (generic_update_time %v), repeated", what, attempt, r.updates)
			if attempt == bound {
				t.Fatalf("%s: the clock ticked between setting the timestamps and the write in %d attempts", what, bound)
			}
		}
		if r.err != wantErr {
			t.Fatalf("%s: pwritev2(RWF_NOWAIT) at %d returned %d, %v; want %v\n%s", what, off, r.n, errnoOf(r.err), errnoOf(wantErr), r.ev)
		}
		if r.err == nil {
			if r.n != len(buf) {
				t.Fatalf("%s: short write %d", what, r.n)
			}
			copy(want[off:], buf)
		}
		t.Logf("%s: %s, i_rwsem %q, dio begin/complete %d/%d, generic_update_time %v, ext4_iomap_begin %v",
			what, errnoOf(r.err), lockTrace(r.ev), r.ev.Count(probe.KindDIOBegin), r.ev.Count(probe.KindDIOComplete), r.updates, r.begins)
		return r
	}
	// lockCheckEAGAIN: given up by ext4_dio_write_checks before the
	// timestamp update and before iomap.
	lockCheckEAGAIN := func(what string, r try, locks string) {
		wantExit(t, what, r.ev, ext4FS.write, negErrno(syscall.EAGAIN))
		wantLocks(t, what, r.ev, locks)
		if r.ev.Has(probe.KindDIOBegin) || len(r.updates) != 0 || len(r.begins) != 0 {
			t.Fatalf("%s: EAGAIN should come from the lock checks, before the timestamp update (generic_update_time %v) "+
				"and iomap (ext4_iomap_begin %v)\n%s", what, r.updates, r.begins, r.ev)
		}
	}

	r := nowait("extending", testFile, false, unix.EAGAIN)
	lockCheckEAGAIN("extending", r, "Xt x")

	// Timestamps behind the clock: 6.12 updates them (blocking) and
	// writes; 7.3 refuses the write.
	setStaleMtime(t, bf.Path)
	const stale = "overwrite with a stale mtime"
	if exp.nowaitStaleTimes {
		r = nowait(stale, 4<<10, false, unix.EAGAIN)
		gaveUpOnTimes(stale, r)
		if m := mtimeOf(t, bf.Path); !m.Equal(staleMtime) {
			t.Fatalf("%s: mtime became %s after the refused write, want it left at %s", stale, m.UTC(), staleMtime.UTC())
		}
	} else {
		r = nowait(stale, 4<<10, false, nil)
		wantExit(t, stale, r.ev, ext4FS.write, 4<<10)
		wantLocks(t, stale, r.ev, "St s")
		oneDIO(t, stale, r.ev, 4<<10, 4<<10, 0, 4<<10)
		if len(r.updates) != 1 || r.updates[0] < 0 {
			t.Fatalf("%s: want one blocking timestamp update (generic_update_time >= 0), got %v\n%s", stale, r.updates, r.ev)
		}
		if m := mtimeOf(t, bf.Path); !m.After(staleMtime) {
			t.Fatalf("%s: mtime still %s after the write", stale, m.UTC())
		}
	}

	const hole = "hole fill"
	r = nowait(hole, 8<<10, true, unix.EAGAIN)
	if exp.nowaitHoleInIomap {
		// Shared lock kept, timestamps current: iomap starts, the pre-write
		// invalidation finds nothing, and allocation refuses IOMAP_NOWAIT.
		wantExit(t, hole, r.ev, ext4FS.write, negErrno(syscall.EAGAIN))
		wantLocks(t, hole, r.ev, "St s")
		b := dioBegins(r.ev)
		inv, _ := r.ev.Last(probe.KindKiocbInvalidateExit)
		done := r.ev.Of(probe.KindDIOComplete)
		rw, _ := r.ev.Last(probe.KindIomapDIORw)
		if len(b) != 1 || b[0].A0 != 8<<10 || b[0].A1 != 4<<10 || b[0].Aux != 0 || inv.Ret != 0 ||
			len(r.begins) != 1 || r.begins[0] != negErrno(syscall.EAGAIN) ||
			len(done) != 1 || done[0].Errno() != syscall.EAGAIN || rw.Errno() != syscall.EAGAIN || r.ev.Has(probe.KindDIOInvalidateFail) {
			t.Fatalf("%s: want iomap_dio_rw_begin [8 KiB, +4 KiB) dio_flags 0, kiocb_invalidate_pages 0, ext4_iomap_begin -EAGAIN once, "+
				"iomap_dio_complete -EAGAIN, iomap_dio_rw -EAGAIN, no invalidate_fail; ext4_iomap_begin %v\n%s", hole, r.begins, r.ev)
		}
	} else {
		lockCheckEAGAIN(hole, r, "St s")
	}
	bf.wantMap(t, 8<<10, 4<<10, "hole")

	// A cached page in the range: EAGAIN from filemap_invalidate_pages.
	// The last page, so readahead caches nothing else.
	bf.readCached(t, 12<<10, page)
	if res := resident(t, bf.Buffered, 0, testFile); res.String() != "...R" {
		t.Fatalf("want only page 3 cached after a buffered read of it: %s", res.String())
	}
	const cached = "cached page"
	r = nowait(cached, 12<<10, true, unix.EAGAIN)
	wantExit(t, cached, r.ev, ext4FS.write, negErrno(syscall.EAGAIN))
	wantLocks(t, cached, r.ev, "St s")
	inv, _ := r.ev.Last(probe.KindKiocbInvalidateExit)
	rw, _ := r.ev.Last(probe.KindIomapDIORw)
	if r.ev.Count(probe.KindDIOBegin) != 1 || r.ev.Has(probe.KindDIOComplete) || r.ev.Has(probe.KindDIOInvalidateFail) ||
		inv.Errno() != syscall.EAGAIN || rw.Errno() != syscall.EAGAIN || len(r.begins) != 0 {
		t.Fatalf("%s: want iomap_dio_rw_begin, kiocb_invalidate_pages -EAGAIN, iomap_dio_rw -EAGAIN, no ext4_iomap_begin, "+
			"no iomap_dio_complete, no invalidate_fail\n%s", cached, r.ev)
	}

	const plain = "plain overwrite"
	r = nowait(plain, 4<<10, true, nil)
	wantExit(t, plain, r.ev, ext4FS.write, 4<<10)
	wantLocks(t, plain, r.ev, "St s")
	oneDIO(t, plain, r.ev, 4<<10, 4<<10, 0, 4<<10)

	// After a remount the inode is read from disk without S_NOSEC.
	bf.closeAll()
	remount(t, mnt, "ext4", "")
	bf.reopen(t)
	r = nowait("overwrite after remount", 4<<10, false, unix.EAGAIN)
	lockCheckEAGAIN("overwrite after remount", r, "St s")
	pwriteFull(t, bf.Direct, buf, 12<<10) // one blocking write: file_modified sets S_NOSEC
	copy(want[12<<10:], buf)
	const after = "overwrite after one blocking write"
	r = nowait(after, 4<<10, true, nil)
	wantLocks(t, after, r.ev, "St s")
	oneDIO(t, after, r.ev, 4<<10, 4<<10, 0, 4<<10)

	t.SetAttempts(maxAttempts)
	t.Logf("%s: the most attempts one fresh-timestamp write needed: %d", rules, maxAttempts)
	bf.expectContent(t, "file after the RWF_NOWAIT writes", want)
}

// ext4ENOTBLK: the ext3-format hole fill falls back to buffered I/O.
func ext4ENOTBLK(t *scenario.T) {
	_, exp := ext4RulesOf(t)
	ps := t.Probes(append(ext4FS.lockProbes, "fentry/generic_perform_write", "fexit/filemap_write_and_wait_range",
		"fexit/__iomap_dio_rw", "fexit/iomap_dio_rw")...)
	if err := ps.RequireAny("tp_btf/ext4_da_write_begin", "tp_btf/ext4_write_begin"); err != nil {
		t.Skipf("%v", err)
	}
	mnt := t.Disk("ext4-noextent", "")
	bf := newBlockFile(t, mnt, "noext", 4<<10, 0x11)
	t.Check(bf.Direct.Truncate(testFile), "ftruncate")
	want := append(pattern(4<<10, 0x11), make([]byte, testFile-4<<10)...)
	bf.wantMap(t, 0, 4<<10, "written")
	bf.wantMap(t, 4<<10, 4<<10, "hole")
	ps.Watch(bf.Direct)
	buf := alignedBuf(t, 8<<10, 0x7b)
	ev := ps.Record(func() { pwriteFull(t, bf.Direct, buf, 0) })
	res := resident(t, bf.Buffered, 0, testFile)
	copy(want, buf)
	const what = "8 KiB write over [mapped | hole]"

	wantExit(t, what, ev, ext4FS.write, 8<<10)
	wantLocks(t, what, ev, exp.fallbackLocks)
	if err := ev.CheckOrder(exp.fallbackOrder...); err != nil {
		t.Fatalf("%s: i_rwsem around the direct part and the fallback: %v", what, err)
	}
	oneDIO(t, what, ev, 0, 8<<10, 0, 4<<10)
	if inner, ok := ev.Last(probe.KindIomapDIORwInner); !ok || inner.Flags.Has(probe.FlagErrPtr) {
		t.Fatalf("%s: __iomap_dio_rw should return a dio (the -ENOTBLK is swallowed into a short count): %v\n%s", what, inner, ev)
	}
	if ev.Has(probe.KindDIOInvalidateFail) {
		t.Fatalf("%s: the fallback must not come from a failed invalidation\n%s", what, ev)
	}
	bw := ev.Of(probe.KindBufferedWrite)
	if len(bw) != 1 || bw[0].Func() != probe.FuncGenericPerformWrite || bw[0].A0 != 4<<10 || bw[0].A1 != 4<<10 {
		t.Fatalf("%s: want one generic_perform_write at 4096 for 4096\n%s", what, ev)
	}
	wb, ok := ev.First(probe.KindExt4WriteBegin)
	if !ok || wb.A0 != 4<<10 {
		t.Fatalf("%s: want ext4 write_begin at 4096\n%s", what, ev)
	}
	flush := ev.Of(probe.KindWriteAndWaitEnter).Where(func(e probe.Event) bool {
		return !e.Within.Has(probe.FuncKiocbInvalidatePages)
	})
	fexit := ev.Of(probe.KindWriteAndWaitExit).Where(func(e probe.Event) bool {
		return !e.Within.Has(probe.FuncKiocbInvalidatePages)
	})
	if len(flush) != 1 || flush[0].A0 != 4<<10 || flush[0].A1 != 8<<10-1 || len(fexit) != 1 || fexit[0].Ret != 0 {
		t.Fatalf("%s: want filemap_write_and_wait_range [4096, 8191] -> 0 after the buffered part\n%s", what, ev)
	}
	if err := ev.CheckOrder(probe.KindDIOBegin, probe.KindDIOComplete, probe.KindBufferedWrite, probe.KindWriteAndWaitExit, probe.KindWriteExit); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Logf("%s: i_rwsem %q, dio ret 4096 then buffered 4096 (%s); page cache after: %s", what, lockTrace(ev), wb, res.String())
	if res[0] {
		t.Fatalf("%s: page 0 (written directly) is cached: %s", what, res.String())
	}
	bf.wantMap(t, 4<<10, 4<<10, "written")
	bf.expectContent(t, what+": file after drop_caches", want)
}

// ext4WholeFallbackKeepsCache: an O_DIRECT write that falls back to a
// buffered write before writing anything leaves the page cache outside
// its range alone.
func ext4WholeFallbackKeepsCache(t *scenario.T) {
	ps := t.Probes(append(ext4FS.lockProbes, "fentry/generic_perform_write", "fexit/__iomap_dio_rw",
		"fentry/kiocb_invalidate_post_direct_write", "fentry/dio_warn_stale_pagecache")...)
	mnt := t.Disk("ext4-noextent", "")
	bf := newBlockFile(t, mnt, "nothing", 0, 0)
	last := alignedBuf(t, page, 0x11)
	pwriteFull(t, bf.Direct, last, testFile-page)
	bf.wantMap(t, 0, testFile-page, "hole")
	want := append(make([]byte, testFile-page), last...)

	bf.readCached(t, page, 2*page)
	dirty := pattern(page, 0x22)
	if n, err := bf.Buffered.WriteAt(dirty, testFile-page); err != nil || n != page {
		t.Fatalf("buffered write of page 3: %d, %v", n, err)
	}
	copy(want[testFile-page:], dirty)
	before := resident(t, bf.Buffered, 0, testFile)
	if !before[1] || !before[2] || !before[3] {
		t.Fatalf("setup: pages 1-3 should be cached before the write: %s", before)
	}

	ps.Watch(bf.Direct)
	buf := alignedBuf(t, page, 0x7b)
	ev := ps.Record(func() { pwriteFull(t, bf.Direct, buf, 0) })
	after := resident(t, bf.Buffered, 0, testFile)
	copy(want, buf)
	const what = "4 KiB O_DIRECT write at 0 into a hole of an indirect-block file"

	wantExit(t, what, ev, ext4FS.write, page)
	oneDIO(t, what, ev, 0, page, 0, 0)
	if inner, ok := ev.Last(probe.KindIomapDIORwInner); !ok || inner.Flags.Has(probe.FlagErrPtr) {
		t.Fatalf("%s: __iomap_dio_rw should return a dio that wrote nothing (-ENOTBLK swallowed): %v\n%s", what, inner, ev)
	}
	bw := ev.Of(probe.KindBufferedWrite)
	if len(bw) != 1 || bw[0].Func() != probe.FuncGenericPerformWrite || bw[0].A0 != 0 || bw[0].A1 != page {
		t.Fatalf("%s: want one generic_perform_write at 0 for 4096\n%s", what, ev)
	}
	if post := ev.Of(probe.KindKiocbInvalidatePostEnter, probe.KindDIOWarnStale); len(post) > 0 {
		t.Fatalf("%s: a dio that wrote nothing invalidated after the write (or reported a stale page cache): %s\n%s", what, post, ev)
	}
	t.Logf("%s: page cache before %s, after %s (page 0 is the fallback's own range)", what, before, after)
	if !after[1] || !after[2] || !after[3] {
		t.Fatalf("%s: pages outside the written range were dropped: before %s, after %s", what, before, after)
	}
	if err := unix.Fsync(int(bf.Buffered.Fd())); err != nil {
		t.Fatalf("%s: fsync after the write: %v (a stale page cache reported by the direct write)", what, errnoOf(err))
	}
	bf.expectContent(t, what+": file after drop_caches", want)
}

// ext4IocShutdown is EXT4_IOC_SHUTDOWN, _IOR('X', 125, __u32), and
// ext4GoingFlagsLogflush its EXT4_GOING_FLAGS_LOGFLUSH: commit the
// journal, then stop the filesystem as a crash would.
const (
	ext4IocShutdown        = 0x8004587d
	ext4GoingFlagsLogflush = 1
)

// ext4ExtendUnlinkedOrphan: an extending direct write to an open,
// unlinked file must leave it on the orphan list, so that a crash before
// the last close frees it at the next mount. The guest has no e2fsck;
// the free inode count is what shows a leaked inode.
func ext4ExtendUnlinkedOrphan(t *scenario.T) {
	ps := t.Probes(ext4FS.lockProbes...)
	mnt := t.Disk("ext4", "")
	d := t.PlanDisk("ext4")
	var before unix.Statfs_t
	t.Check(unix.Statfs(mnt, &before), "statfs %s", mnt)
	bf := newBlockFile(t, mnt, "orphan", testFile, 0x11)
	t.Check(os.Remove(bf.Path), "unlink %s", bf.Path)

	ps.Watch(bf.Direct)
	buf := alignedBuf(t, page, 0x5c)
	ev := ps.Record(func() { pwriteFull(t, bf.Direct, buf, testFile) })
	const what = "extending 4 KiB O_DIRECT write to an unlinked file"
	wantExit(t, what, ev, ext4FS.write, page)
	wantLocks(t, what, ev, "X x")
	oneDIO(t, what, ev, testFile, page, dioForceWait, page)
	var st unix.Stat_t
	t.Check(unix.Fstat(int(bf.Direct.Fd()), &st), "fstat")
	if st.Nlink != 0 || st.Size != testFile+page {
		t.Fatalf("%s: st_nlink %d, st_size %d; want 0 and %d", what, st.Nlink, st.Size, testFile+page)
	}
	want := append(pattern(testFile, 0x11), buf...)
	sameBytes(t, what+": read back with O_DIRECT before the shutdown", bf.readDirect(t, 0, testFile+page), want)
	var open unix.Statfs_t
	t.Check(unix.Statfs(mnt, &open), "statfs %s", mnt)
	if open.Ffree != before.Ffree-1 {
		t.Fatalf("%s: %d free inodes with the unlinked file open, want %d (one fewer than before it)", what, open.Ffree, before.Ffree-1)
	}

	t.Check(unix.IoctlSetPointerInt(int(bf.Direct.Fd()), ext4IocShutdown, ext4GoingFlagsLogflush), "EXT4_IOC_SHUTDOWN")
	bf.closeAll()
	t.Check(unix.Unmount(mnt, 0), "unmount %s after the shutdown", mnt)
	// The mount replays the journal and frees the inodes on the orphan
	// list; the inode of a file taken off it stays allocated, with no
	// name. The scenario's own cleanup unmounts it again.
	t.Check(unix.Mount(d.Device, mnt, d.FSType, 0, ""), "mount %s to replay the journal", d.Device)
	var after unix.Statfs_t
	t.Check(unix.Statfs(mnt, &after), "statfs %s", mnt)
	t.Logf("%s, then EXT4_IOC_SHUTDOWN, close and a mount that replays: free inodes %d before the file, %d while open, %d after; free blocks %d, %d, %d",
		what, before.Ffree, open.Ffree, after.Ffree, before.Bfree, open.Bfree, after.Bfree)
	if after.Ffree != before.Ffree {
		t.Fatalf("%s: after the shutdown and the replay %d inodes are free, want %d as before the file: the unlinked inode left the orphan list and leaked",
			what, after.Ffree, before.Ffree)
	}
}

// invalidateEBUSY: a page redirtied through a shared mapping makes the
// pre-write invalidation fail with -EBUSY, and iomap falls back.
//
// The window is between the pre-write flush write-protecting page 0 and
// invalidate_inode_pages2_range locking it. The guest has one CPU and a
// PREEMPT_NONE kernel, so the writer thread only gets to store (and
// fault, and redirty the page) while the direct writer sleeps in that
// window (waiting for the flush's I/O, or at a cond_resched once its
// slice is used up). The range is therefore 4 MiB of dirty pages
// (dirtied by a buffered write of the same bytes before each attempt):
// its flush lasts long enough for the writer to be scheduled.
func invalidateEBUSY(t *scenario.T, fs blockFS) {
	ps := t.Probes(append(fs.lockProbes, "tp_btf/iomap_dio_invalidate_fail", "fexit/invalidate_inode_pages2_range",
		"fexit/kiocb_invalidate_pages", "fexit/iomap_dio_rw", "fentry/dio_warn_stale_pagecache", bufferedProbe(fs))...)
	const span = 4 << 20
	const size = span + 8<<10
	mnt := t.Disk(fs.disk, "")
	bf := newBlockFile(t, mnt, "ebusy", size, 0x11)
	want := pattern(size, 0x11)
	ps.Watch(bf.Direct)
	buf := alignedBuf(t, span, 0x3d)
	copy(want, buf)
	m := mapShared(t, bf.Buffered, page)
	const maxAttempts = 12
	var ev probe.Events
	var n int
	var err error
	stale := 0
	attempt := 0
	for attempt = 1; attempt <= maxAttempts; attempt++ {
		// Dirty the rest of the range with the bytes the direct write
		// carries, so whichever path wins, the content is the same.
		wn, werr := bf.Buffered.WriteAt(buf[page:], page)
		if werr != nil || wn != span-page {
			t.Fatalf("attempt %d: buffered write: %d, %v", attempt, wn, werr)
		}
		w := startMapWriter(m, buf[:page])
		w.started(t)
		ev = ps.Record(func() { n, err = unix.Pwrite(int(bf.Direct.Fd()), buf, 0) })
		rounds := w.stop()
		stale += ev.Count(probe.KindDIOWarnStale)
		if err != nil || n != len(buf) {
			t.Fatalf("attempt %d: pwrite returned %d, %v; want %d (every path must complete the write)\n%s", attempt, n, errnoOf(err), len(buf), ev)
		}
		if ev.Has(probe.KindDIOInvalidateFail) {
			t.Logf("attempt %d: pre-write invalidation failed (writer stored %d rounds)", attempt, rounds)
			break
		}
		t.Logf("attempt %d: invalidation succeeded (writer stored %d rounds)", attempt, rounds)
	}
	t.SetAttempts(min(attempt, maxAttempts))
	if attempt > maxAttempts {
		t.Fatalf("the pre-write invalidation never failed in %d attempts; last events:\n%s", maxAttempts, ev)
	}
	const what = "4 MiB direct write over dirty pages, page 0 redirtied through a shared mapping"
	wantExit(t, what, ev, fs.write, span)
	inv := preInvalidation(ev)
	if len(inv) != 1 || inv[0].Errno() != syscall.EBUSY {
		t.Fatalf("%s: want invalidate_inode_pages2_range -EBUSY inside kiocb_invalidate_pages\n%s", what, ev)
	}
	fail, _ := ev.First(probe.KindDIOInvalidateFail)
	rw, _ := ev.Last(probe.KindIomapDIORw)
	if fail.A0 != 0 || fail.A1 != span || rw.Errno() != syscall.ENOTBLK || ev.Has(probe.KindDIOComplete) {
		t.Fatalf("%s: want iomap_dio_invalidate_fail [0, 4 MiB), iomap_dio_rw -ENOTBLK, no iomap_dio_complete\n%s", what, ev)
	}
	bw := ev.Of(probe.KindBufferedWrite)
	if len(bw) != 1 || bw[0].A0 != 0 || bw[0].A1 != span {
		t.Fatalf("%s: want one buffered write of the whole range at 0\n%s", what, ev)
	}
	if err := ev.CheckOrder(probe.KindDIOBegin, probe.KindDIOInvalidateFail, probe.KindBufferedWrite, probe.KindWriteExit); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	// Both filesystems: the direct attempt ran under i_rwsem shared, the
	// buffered retry takes it exclusive.
	wantLocks(t, what, ev, "S s X ^ x")
	afterBuffered := ev.Of(probe.KindWriteAndWaitEnter).Where(func(e probe.Event) bool {
		return !e.Within.Has(probe.FuncKiocbInvalidatePages)
	})
	res := resident(t, bf.Buffered, page, page)
	switch fs.disk {
	case "xfs":
		// XFS: xfs_file_write_iter calls xfs_file_buffered_write; the
		// fallback data stays in the page cache, dirty.
		if len(afterBuffered) != 0 || bw[0].Func() != probe.FuncIomapFileBufferedWrite || !res[0] {
			t.Fatalf("%s: XFS should write through iomap_file_buffered_write with no flush after, leaving page 1 cached (cached: %v)\n%s", what, res[0], ev)
		}
	default:
		// ext4 flushes the fallback range and drops clean pages.
		if len(afterBuffered) != 1 || afterBuffered[0].A0 != 0 || afterBuffered[0].A1 != span-1 || bw[0].Func() != probe.FuncGenericPerformWrite {
			t.Fatalf("%s: ext4 should write through generic_perform_write and flush the whole range\n%s", what, ev)
		}
	}
	t.Logf("%s: i_rwsem %q; page 1 cached after: %v; stale-pagecache warnings in earlier attempts: %d", what, lockTrace(ev), res[0], stale)
	err = bf.Direct.Sync()
	if stale > 0 {
		// A failed post-write invalidation in an attempt that did not
		// hit the window records EIO for the next fsync.
		t.Logf("fsync after %d dio_warn_stale_pagecache: %s", stale, errName(err))
	} else if err != nil {
		t.Fatalf("fsync: %v", err)
	}
	bf.expectContent(t, what+": file after the writer stopped, fsync and drop_caches", want)
}

// bufferedProbe is the buffered write path a fallback goes through.
func bufferedProbe(fs blockFS) string {
	if fs.disk == "xfs" {
		return "fentry/iomap_file_buffered_write"
	}
	return "fentry/generic_perform_write"
}

// invalidateEIO: the pre-write flush fails with EIO; the patched iomap
// returns it, the base one falls back to buffered I/O.
func invalidateEIO(t *scenario.T, fs blockFS) {
	ps := t.Probes(append(fs.lockProbes, "tp_btf/iomap_dio_invalidate_fail", "fexit/filemap_write_and_wait_range",
		"fexit/kiocb_invalidate_pages", "fexit/iomap_dio_rw", bufferedProbe(fs))...)
	mnt := t.Disk(fs.disk, "")
	bf := newBlockFile(t, mnt, "eio", testFile, 0x11)
	want := pattern(testFile, 0x11)
	ps.Watch(bf.Direct)
	dirty := pattern(8<<10, 0x42)
	n, err := bf.Buffered.WriteAt(dirty, 0)
	if err != nil || n != len(dirty) {
		t.Fatalf("buffered write of pages 0-1: %d, %v", n, err)
	}
	copy(want, dirty)
	buf := alignedBuf(t, page, 0x99)
	ps.ArmFault(probe.FaultSpec{Site: "should_fail_bio", Within: "kiocb_invalidate_pages", Count: 1})
	ev := ps.Record(func() { n, err = unix.Pwrite(int(bf.Direct.Fd()), buf, 0) })
	fired, ferr := ps.DisarmFault("should_fail_bio")
	t.Check(ferr, "disarm should_fail_bio")
	const what = "4 KiB direct write over dirty page 0 with its flush failing"
	if fired != 1 || !ev.Has(probe.KindFaultInjected) {
		t.Fatalf("%s: should_fail_bio fired %d times, want 1 (was page 0 still dirty?)\n%s", what, fired, ev)
	}
	flush := ev.Of(probe.KindWriteAndWaitExit).Where(func(e probe.Event) bool {
		return e.Within.Has(probe.FuncKiocbInvalidatePages)
	})
	if len(flush) == 0 || flush[0].Errno() != syscall.EIO {
		t.Fatalf("%s: the pre-write flush should return -EIO\n%s", what, ev)
	}
	fellBack := ev.Has(probe.KindDIOInvalidateFail) || ev.Has(probe.KindBufferedWrite)
	switch {
	case err == nil:
		// The base behaviour: recorded as the failure, then documented.
		fsyncErr := bf.Direct.Sync()
		t.Errorf("%s: pwrite returned %d with no error: the flush's EIO was hidden by a buffered fallback "+
			"(iomap_dio_invalidate_fail %v, buffered write %v, iomap_dio_rw %s); the next fsync returned %s",
			what, n, ev.Has(probe.KindDIOInvalidateFail), ev.Has(probe.KindBufferedWrite), dioRwRet(ev), errName(fsyncErr))
		copy(want, buf)
	case err != unix.EIO:
		t.Fatalf("%s: pwrite returned %v, want EIO\n%s", what, errnoOf(err), ev)
	default:
		if fellBack {
			t.Fatalf("%s: pwrite returned EIO but a fallback ran\n%s", what, ev)
		}
		rw, _ := ev.Last(probe.KindIomapDIORw)
		wrote := ev.Of(probe.KindDIOComplete).Where(func(e probe.Event) bool { return e.Ret > 0 })
		if rw.Errno() != syscall.EIO || len(wrote) > 0 {
			t.Fatalf("%s: want iomap_dio_rw -EIO and nothing written directly\n%s", what, ev)
		}
		wantExit(t, what, ev, fs.write, -int64(syscall.EIO))
		t.Logf("%s: pwrite EIO, no fallback; fsync then: %s", what, errName(bf.Direct.Sync()))
	}
	t.Logf("%s: i_rwsem %q", what, lockTrace(ev))
	// Whatever happened to page 0, no other range may lose data.
	t.DropCaches()
	got := bf.readDirect(t, 0, testFile)
	sameBytes(t, "page 1 (dirty, outside the write) after fsync and drop_caches", got[page:2*page], want[page:2*page])
	sameBytes(t, "pages 2-3 (on disk, untouched) after drop_caches", got[2*page:], want[2*page:])
	switch p0 := got[:page]; {
	case string(p0) == string(buf):
		t.Logf("page 0 holds the direct write's bytes")
	case string(p0) == string(dirty[:page]):
		t.Logf("page 0 holds the buffered bytes")
	case string(p0) == string(pattern(page, 0x11)):
		t.Logf("page 0 holds its original bytes: the buffered bytes dirtied before were lost with the failed flush (the EIO reports it)")
	default:
		t.Errorf("page 0 holds a mixture: %x...", p0[:16])
	}
}

// patchIomap is the subject of the iomap patch (patches/v7.3/iomap).
const patchIomap = "iomap: fall back to buffered I/O only if the page cache cannot be dropped"

// earlierWritebackError: the mapping holds AS_EIO from a failed
// writeback of another page; an O_DIRECT write to a range without page
// cache meets it in its pre-write flush. The patched iomap returns it
// once, as generic_file_direct_write does; the base one falls back to a
// buffered write and the error is never returned from write(2).
func earlierWritebackError(t *scenario.T, fs blockFS) {
	ps := t.Probes(append(fs.lockProbes, "tp_btf/iomap_dio_invalidate_fail", "fexit/filemap_write_and_wait_range",
		"fexit/kiocb_invalidate_pages", "fexit/iomap_dio_rw", "kprobe/should_fail_bio", bufferedProbe(fs))...)
	mnt := t.Disk(fs.disk, "")
	const size = 16 * page
	bf := newBlockFile(t, mnt, "earlier-eio", size, 0x11)
	want := pattern(size, 0x11)
	ps.Watch(bf.Direct)

	// Write page 8 back with its bio failing. Background writeback may
	// clean the page first (then the fault does not fire: try again).
	var (
		fired    uint64
		attempts int
	)
	for attempts = 1; attempts <= maxWindowAttempts && fired == 0; attempts++ {
		n, err := bf.Buffered.WriteAt(pattern(page, 0x40+byte(attempts)), 8*page)
		if err != nil || n != page {
			t.Fatalf("buffered write of page 8: %d, %v", n, err)
		}
		ps.ArmFault(probe.FaultSpec{Site: "should_fail_bio", Count: 1})
		ps.Record(func() {
			t.Check(unix.SyncFileRange(int(bf.Buffered.Fd()), 8*page, page, unix.SYNC_FILE_RANGE_WRITE), "sync_file_range page 8")
		})
		var ferr error
		fired, ferr = ps.DisarmFault("should_fail_bio")
		t.Check(ferr, "disarm should_fail_bio")
	}
	t.SetAttempts(attempts - 1)
	if fired != 1 {
		t.Fatalf("the writeback of page 8 never met the injected bio failure in %d attempts (fired %d)", maxWindowAttempts, fired)
	}
	if res := resident(t, bf.Buffered, 0, page); res[0] {
		t.Fatalf("page 0 is in the page cache: the direct write would have something to flush")
	}

	buf := alignedBuf(t, page, 0x99)
	var (
		n   int
		err error
	)
	ev := ps.Record(func() { n, err = unix.Pwrite(int(bf.Direct.Fd()), buf, 0) })
	const what = "4 KiB direct write to page 0 after a failed writeback of page 8"
	flush := ev.Of(probe.KindWriteAndWaitExit).Where(func(e probe.Event) bool {
		return e.Within.Has(probe.FuncKiocbInvalidatePages)
	})
	if len(flush) != 1 || flush[0].Errno() != syscall.EIO {
		t.Fatalf("%s: want the pre-write flush to return the recorded -EIO\n%s", what, ev)
	}
	switch {
	case err == nil:
		t.Errorf("%s: pwrite returned %d with no error: the earlier writeback error was hidden by a buffered fallback "+
			"(iomap_dio_invalidate_fail %v, buffered write %v, iomap_dio_rw %s)",
			what, n, ev.Has(probe.KindDIOInvalidateFail), ev.Has(probe.KindBufferedWrite), dioRwRet(ev))
	case err != unix.EIO:
		t.Fatalf("%s: pwrite returned %v, want EIO\n%s", what, errnoOf(err), ev)
	default:
		noBuffered(t, what, ev)
		rw, _ := ev.Last(probe.KindIomapDIORw)
		if rw.Errno() != syscall.EIO || ev.Has(probe.KindDIOComplete) {
			t.Fatalf("%s: want iomap_dio_rw -EIO and no direct I/O\n%s", what, ev)
		}
		wantExit(t, what, ev, fs.write, -int64(syscall.EIO))
	}

	// The error is reported once: the same write now goes through.
	ev = ps.Record(func() { pwriteFull(t, bf.Direct, buf, 0) })
	const again = "the same direct write repeated"
	flush = ev.Of(probe.KindWriteAndWaitExit).Where(func(e probe.Event) bool {
		return e.Within.Has(probe.FuncKiocbInvalidatePages)
	})
	if len(flush) != 1 || flush[0].Ret != 0 {
		t.Fatalf("%s: want a clean pre-write flush\n%s", again, ev)
	}
	oneDIO(t, again, ev, 0, page, 0, page)
	noBuffered(t, again, ev)
	t.Logf("%s: i_rwsem %q; fsync then: %s", what, lockTrace(ev), errName(bf.Direct.Sync()))

	copy(want, buf)
	t.DropCaches()
	got := bf.readDirect(t, 0, size)
	sameBytes(t, "page 0 after drop_caches", got[:page], buf)
	sameBytes(t, "pages 1-7 after drop_caches", got[page:8*page], want[page:8*page])
	sameBytes(t, "pages 9-15 after drop_caches", got[9*page:], want[9*page:])
	if string(got[8*page:9*page]) == string(want[8*page:9*page]) {
		t.Logf("page 8 holds its original bytes: the buffered bytes were lost with the failed writeback (the EIO reports it)")
	}
}

// errName names the errno inside err ("EIO"), or "success".
func errName(err error) string {
	var e unix.Errno
	if errors.As(err, &e) {
		return unix.ErrnoName(e)
	}
	return errnoOf(err)
}

func dioRwRet(ev probe.Events) string {
	if rw, ok := ev.Last(probe.KindIomapDIORw); ok {
		if e := rw.Errno(); e != 0 {
			return "-" + unix.ErrnoName(e)
		}
		return fmt.Sprint(rw.Ret)
	}
	return "none"
}

// dioFromOwnMmap: a direct write whose buffer maps the range it writes.
func dioFromOwnMmap(t *scenario.T, fs blockFS) {
	ps := t.Probes(append(fs.lockProbes, "fexit/kiocb_invalidate_pages", "fexit/invalidate_inode_pages2_range",
		"fexit/filemap_write_and_wait_range", bufferedProbe(fs))...)
	ps.RecordPageCache()
	mnt := t.Disk(fs.disk, "")
	bf := newBlockFile(t, mnt, "selfmap", testFile, 0x11)
	want := pattern(testFile, 0x11)
	m := mapShared(t, bf.Buffered, 8<<10)
	src := pattern(8<<10, 0x2a)
	copy(m, src)
	copy(want, src)
	ps.Watch(bf.Direct)
	var n int
	var err error
	var took time.Duration
	ev := ps.Record(func() {
		took = bounded(t, "O_DIRECT pwrite from its own mapping", 20*time.Second, func() {
			n, err = unix.Pwrite(int(bf.Direct.Fd()), m, 0)
		})
	})
	const what = "8 KiB direct write from a shared mapping of the same range"
	if err != nil || n != len(m) {
		t.Fatalf("%s: %d, %v; want 8192\n%s", what, n, errnoOf(err), ev)
	}
	wantExit(t, what, ev, fs.write, 8<<10)
	inv := preInvalidation(ev)
	flush := ev.Of(probe.KindWriteAndWaitExit).Where(func(e probe.Event) bool {
		return e.Within.Has(probe.FuncKiocbInvalidatePages)
	})
	if len(inv) != 1 || inv[0].Ret != 0 || len(flush) != 1 || flush[0].Ret != 0 {
		t.Fatalf("%s: want the pre-write flush and invalidation to succeed\n%s", what, ev)
	}
	oneDIO(t, what, ev, 0, 8<<10, 0, 8<<10)
	noBuffered(t, what, ev)
	t.Logf("%s: took %s, i_rwsem %q", what, took.Round(time.Millisecond), lockTrace(ev))
	sameBytes(t, "the mapping after the write", m, src)
	bf.expectContent(t, what+": file after drop_caches", want)
}
