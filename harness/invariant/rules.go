package invariant

import (
	"fmt"
	"sort"

	"dioharness/harness/probe"
)

// pageShift is PAGE_SHIFT of the guests (x86-64).
const pageShift = 12

// eiocbqueued is the kernel's EIOCBQUEUED: the write completes later.
const eiocbqueued = 529

// iocbAppend is IOCB_APPEND (RWF_APPEND) in ki_flags, on 6.12 and 7.3.
const iocbAppend = 0x10

// Rules is the rule book, in report order.
func Rules() []Rule {
	return []Rule{
		{
			Name:  "extending-dio-write-exclusive",
			Says:  "A direct write whose end passes i_size issues its I/O with i_rwsem held exclusive.",
			Scope: "FUSE direct writes (FOPEN_DIRECT_IO and O_DIRECT through the page-cache path) and ext4; i_size is read when the lock is taken, so a size another writer grows meanwhile is no violation. XFS is out of scope: it zeroes past EOF under the exclusive IOLOCK and then demotes it, so its aligned extending writes run shared by design (xfs_file_dio_write_aligned()).",
			Source: map[string]string{
				"v7.3":  "fs/fuse/file.c fuse_dio_wr_exclusive_lock() returns FUSE_DIO_LOCK_EXTENDING for a write past EOF and fuse_dio_lock() checks fuse_io_past_eof() again under the shared lock; fs/ext4/file.c ext4_dio_write_checks() takes the exclusive lock when ext4_extending_io()",
				"v6.12": "fs/fuse/file.c fuse_dio_wr_exclusive_lock() (\"Parallel dio beyond EOF is not supported\") and the fuse_io_past_eof() recheck in fuse_dio_lock(); fs/ext4/file.c ext4_dio_write_checks() with ext4_extending_io()",
			},
			Needs: []string{"fexit/down_read", "fexit/down_write"},
			check: extendingExclusive,
		},
		{
			Name:  "parallel-dio-write-uncached",
			Says:  "A FUSE direct write that does its I/O under the shared i_rwsem holds an uncached io-mode reference (fuse_inode_uncached_io_start() succeeded, the counter went negative) and drops it when its I/O is done: before it returns, or, for an asynchronous write that returned -EIOCBQUEUED, when its request completes, which may be before the submitter returns.",
			Scope: "FUSE direct writes with FOPEN_PARALLEL_DIRECT_WRITES; a write that takes the exclusive lock needs no reference. A queued asynchronous write completes in another context (the server's reply, a worker), so what it still holds after its own ends is dropped, oldest first, by fuse_inode_uncached_io_end() calls on its inode that no write call's own thread makes, from the moment its first write request was sent (the fuse_direct_io() entry under the shared lock; a request the server fails at once can complete before the submitter returns); the scenarios reap their completions before the recording stops.",
			Source: map[string]string{
				"v7.3":  "fs/fuse/file.c fuse_dio_lock() calls fuse_inode_uncached_io_start() after inode_lock_shared() and falls back to the exclusive lock when it fails; fuse_dio_unlock() calls fuse_inode_uncached_io_end(); fs/fuse/iomode.c refuses the start while iocachectr > 0",
				"v6.12": "the same functions in fs/fuse/file.c and fs/fuse/iomode.c",
			},
			Needs: []string{"fexit/down_read", "fexit/fuse_inode_uncached_io_start", "fentry/fuse_inode_uncached_io_end", "fentry/fuse_direct_io"},
			check: parallelUncached,
		},
		{
			Name:  "cached-open-waits-for-parallel-dio",
			Says:  "No FUSE open (or first mmap) in cached io mode succeeds while a parallel direct write of the inode is in flight.",
			Scope: "A parallel write is in flight from its successful fuse_inode_uncached_io_start() to the entry of the fuse_inode_uncached_io_end() that drops that reference, by the account parallel-dio-write-uncached judges: its own call's, or, for a write that returned -EIOCBQUEUED, the completion's in another context (the server's reply, a worker) once its I/O was issued; passthrough opens, which also take uncached references, are refused cached opens with -ETXTBSY instead and are left out.",
			Source: map[string]string{
				"v7.3":  "fs/fuse/iomode.c fuse_file_cached_io_open() waits on direct_io_waitq while fuse_is_io_cache_wait() (iocachectr < 0); fuse_inode_uncached_io_end() wakes it when the counter returns to zero",
				"v6.12": "fs/fuse/iomode.c fuse_file_cached_io_open() and fuse_inode_uncached_io_end(), the same wait",
			},
			Needs: []string{"fexit/fuse_file_cached_io_open", "fexit/fuse_inode_uncached_io_start", "fentry/fuse_inode_uncached_io_end", "fexit/fuse_file_write_iter", "fentry/fuse_direct_io"},
			check: cachedOpenWaits,
		},
		{
			Name:  "dio-write-leaves-no-stale-folio",
			Says:  "A synchronous direct write leaves no folio of its range in the page cache that was cached before its I/O finished, unless invalidating it failed.",
			Scope: "Direct writes of synchronous kiocbs on FUSE, ext4 and XFS that did not fall back to buffered I/O (the range is [ki_pos after - returned, ki_pos after), which an asynchronous kiocb does not give: see write-advances-pos-and-size); the page cache is known from the recording's mm_filemap tracepoints, so folios cached before the recording started are not seen (no false alarm, a possible miss). The I/O has finished when fuse_direct_io() or __iomap_dio_rw() returns; a failed invalidate_inode_pages2_range() in the same call excuses the folio (the scenarios about the stale-cache report check that the report follows). Asynchronous writes are left to the workloads' model, which reads every path after each completion. The page-cache events cost one event per folio, so only the recordings that ask for them have them (probe.RecordOptions.PageCache: the scenarios about what a direct write leaves cached, and the seeded workloads); on every other recording the rule is logged as not judged.",
			Source: map[string]string{
				"v7.3":  "mm/filemap.c kiocb_invalidate_post_direct_write() from fs/iomap/direct-io.c iomap_dio_complete() and generic_file_direct_write(); fs/fuse/file.c fuse_direct_write_iter() invalidates the written range after fuse_direct_io() (with the series: filemap_invalidate_post_direct_write(), which reports a failure)",
				"v6.12": "mm/filemap.c kiocb_invalidate_post_direct_write() from iomap_dio_complete() and generic_file_direct_write()",
			},
			Differs: map[string]Excuse{
				"v6.12": {Reason: "6.12's fuse_direct_write_iter() invalidates only before the write (in fuse_direct_io()): a folio read in while a FOPEN_DIRECT_IO write is in flight stays; the invalidation after the write is in the 7.x tree, not in 6.12", Paths: []probe.Func{probe.FuncFuseDirectWriteIter}},
			},
			Needs: []string{"tp_btf/mm_filemap_add_to_page_cache", "tp_btf/mm_filemap_delete_from_page_cache", "fexit/invalidate_inode_pages2_range"},
			check: noStaleFolio,
		},
		{
			Name:  "iomode-counter-returns-to-zero",
			Says:  "When the last FUSE file holding an io-mode reference is released and no parallel write or cached-open waiter is in flight, iocachectr is 0 and FUSE_I_CACHE_IO_MODE is clear.",
			Scope: "Judged per inode from a recording whose first io-mode event shows the counter at 0 without the cache bit (every reference then is one the recording saw taken); the counter and bit are read at the release's exit, and a release that overlaps another task's io-mode call is not judged.",
			Source: map[string]string{
				"v7.3":  "fs/fuse/iomode.c fuse_file_cached_io_release() decrements iocachectr and clears FUSE_I_CACHE_IO_MODE at zero; fuse_file_uncached_io_release() and fuse_inode_uncached_io_end() return uncached references; fuse_file_io_release() picks one by ff->iomode",
				"v6.12": "the same functions of fs/fuse/iomode.c",
			},
			Needs: []string{"fexit/fuse_file_io_release", "fexit/fuse_file_cached_io_open", "fexit/fuse_inode_uncached_io_start", "fentry/fuse_inode_uncached_io_end"},
			check: counterReturnsToZero,
		},
		{
			Name:  "dio-invalidation-covers-written-range",
			Says:  "The flush and invalidation around a direct write cover exactly its range: [pos, pos+count-1] in bytes, pages pos>>PAGE_SHIFT to (pos+count-1)>>PAGE_SHIFT.",
			Scope: "kiocb_invalidate_pages() (before iomap and generic direct writes) and kiocb_invalidate_post_direct_write() (after), with their positions matching the iomap call; fuse_direct_io()'s flush and invalidation before a FOPEN_DIRECT_IO write and fuse_direct_write_iter()'s invalidation after it. Calls that find no folio (nrpages == 0) invalidate nothing and are not seen.",
			Source: map[string]string{
				"v7.3":  "mm/filemap.c filemap_invalidate_pages(), kiocb_invalidate_pages(), kiocb_invalidate_post_direct_write() and (series) filemap_invalidate_post_direct_write(); fs/iomap/direct-io.c __iomap_dio_rw() and iomap_dio_complete(); fs/fuse/file.c fuse_direct_io() (idx_from, idx_to) and fuse_direct_write_iter()",
				"v6.12": "mm/filemap.c filemap_invalidate_pages(), kiocb_invalidate_pages(), kiocb_invalidate_post_direct_write(); fs/iomap/direct-io.c; fs/fuse/file.c fuse_direct_io()",
			},
			Needs: []string{"fentry/invalidate_inode_pages2_range", "fentry/filemap_write_and_wait_range"},
			check: invalidationCoversRange,
		},
		{
			Name:  "write-advances-pos-and-size",
			Says:  "A write call that returns n > 0 leaves ki_pos at its start plus n (at EOF plus n for O_APPEND) and i_size at least at ki_pos.",
			Scope: "Every write_iter the probes see (FUSE, ext4, XFS; direct and buffered) on a synchronous kiocb; calls that return -EIOCBQUEUED complete later, and calls on an asynchronous kiocb (libaio, io_uring: ki_complete set) are left out, since their completion carries the result: FUSE without FUSE_ASYNC_DIO writes such a kiocb synchronously in fuse_direct_IO() at a copy of ki_pos and leaves ki_pos where it was.",
			Source: map[string]string{
				"v7.3":  "fs/fuse/file.c fuse_direct_io() (*ppos = pos), fuse_write_update_attr(), fuse_perform_write(); fs/iomap/direct-io.c iomap_dio_complete() (iocb->ki_pos += ret) with ext4_dio_write_end_io() and xfs_dio_write_end_io() updating i_size; mm/filemap.c generic_perform_write()",
				"v6.12": "the same functions",
			},
			Needs: []string{"fexit/fuse_file_write_iter", "fexit/ext4_file_write_iter"},
			check: advancesPosAndSize,
		},
	}
}

// call is one write_iter call of one thread: its entry and exit and the
// indices (into the recording) of that thread's events in between.
type call struct {
	enter, exit   probe.Event
	enterI, exitI int
	inner         []int
	innerOfThread probe.Events
}

// writeCalls pairs each thread's write entries and exits, nested calls
// each on their own.
func writeCalls(es probe.Events) []call {
	type open struct {
		i     int
		inner []int
	}
	stacks := map[uint32][]*open{}
	var out []call
	for i, e := range es {
		st := stacks[e.TID]
		switch e.Kind {
		case probe.KindWriteEnter:
			for _, o := range st {
				o.inner = append(o.inner, i)
			}
			stacks[e.TID] = append(st, &open{i: i})
		case probe.KindWriteExit:
			if len(st) == 0 {
				continue
			}
			o := st[len(st)-1]
			stacks[e.TID] = st[:len(st)-1]
			for _, p := range stacks[e.TID] {
				p.inner = append(p.inner, i)
			}
			if es[o.i].Func() != e.Func() {
				continue
			}
			c := call{enter: es[o.i], exit: e, enterI: o.i, exitI: i, inner: o.inner}
			for _, k := range o.inner {
				c.innerOfThread = append(c.innerOfThread, es[k])
			}
			out = append(out, c)
		default:
			for _, o := range st {
				o.inner = append(o.inner, i)
			}
		}
	}
	return out
}

// lockState follows i_rwsem of the written inode through one call.
type lockState struct {
	held int    // 0 none, 1 shared, 2 exclusive
	size uint64 // i_size when it was taken
	ev   probe.Event
}

const (
	unlocked = iota
	shared
	exclusive
)

func (l *lockState) step(e probe.Event) {
	switch e.Kind {
	case probe.KindLockShared:
		l.held, l.size, l.ev = shared, e.A1, e
	case probe.KindLockExclusive:
		l.held, l.size, l.ev = exclusive, e.A1, e
	case probe.KindUnlockShared, probe.KindUnlockExclusive:
		l.held = unlocked
	case probe.KindLockDowngrade:
		l.held = shared
	}
}

func isDirectWriteIO(e probe.Event) bool {
	return (e.Kind == probe.KindFuseDirectIOEnter && e.Flags.Has(probe.FlagWrite)) || e.Kind == probe.KindDIOBegin
}

func extendingExclusive(es probe.Events) []Violation {
	var out []Violation
	for _, c := range writeCalls(es) {
		fn := c.enter.Func()
		if fn != probe.FuncFuseDirectWriteIter && fn != probe.FuncFuseCacheWriteIter && fn != probe.FuncExt4FileWriteIter {
			continue
		}
		var l lockState
		for _, e := range c.innerOfThread {
			l.step(e)
			if !isDirectWriteIO(e) || l.held != shared || e.A0+e.A1 <= l.size {
				continue
			}
			out = append(out, Violation{Path: fn,
				What:   fmt.Sprintf("%s: direct write [%d, %d) passes i_size %d under the shared lock", fn, e.A0, e.A0+e.A1, l.size),
				Events: probe.Events{c.enter, l.ev, e, c.exit}})
		}
	}
	return out
}

// flight is one uncached io-mode reference a FUSE direct write took:
// the write is in flight on its inode from the successful
// fuse_inode_uncached_io_start() to the fuse_inode_uncached_io_end()
// that drops the reference.
type flight struct {
	call  call
	start int // index of the successful start
	end   int // index of the end that drops it; -1: none in the recording
}

// inFlightAt tells whether the reference is held at event i.
func (f *flight) inFlightAt(i int) bool { return f.start < i && (f.end < 0 || i < f.end) }

// dioFlights is the one account of the parallel FUSE direct writes in
// flight on each inode: which fuse_inode_uncached_io_end() drops which
// reference. A write drops the references it took in its own call,
// first taken first dropped. A write that returned -EIOCBQUEUED
// completes in another context (the server's reply, a worker), so what
// it still holds after its own ends is dropped by ends on its inode that
// no write call contains, once its I/O was issued (fuse_direct_io() was
// entered under the shared lock: no completion comes before the request
// is sent), in the
// order the writes issued their I/O. An end inside another write call
// belongs to that call; a synchronous write's references are dropped
// only by its own thread.
type dioFlights struct {
	flights []*flight
	// unmatched ends inside a write call: more drops than starts.
	extraEnds map[int]int // call exit index -> ends with no start
}

func parallelFlights(es probe.Events) dioFlights {
	calls := writeCalls(es)
	inCall := map[int]bool{}
	for _, c := range calls {
		for _, k := range c.inner {
			if es[k].Kind == probe.KindUncachedIOEndEnter {
				inCall[k] = true
			}
		}
	}
	d := dioFlights{extraEnds: map[int]int{}}
	// queued: the references of queued writes their own call did not
	// drop, per inode, payable from the index their I/O was issued at.
	type owed struct {
		f      *flight
		issued int
	}
	queued := map[probe.InodeID][]owed{}
	for _, c := range calls {
		if c.enter.Func() != probe.FuncFuseDirectWriteIter {
			continue
		}
		var open []*flight
		var l lockState
		issued := -1
		for k, e := range c.innerOfThread {
			i := c.inner[k]
			l.step(e)
			switch {
			case e.Kind == probe.KindUncachedIOStartExit && e.Ret == 0:
				f := &flight{call: c, start: i, end: -1}
				open = append(open, f)
				d.flights = append(d.flights, f)
			case e.Kind == probe.KindUncachedIOEndEnter:
				if len(open) == 0 {
					d.extraEnds[c.exitI]++
					continue
				}
				open[0].end, open = i, open[1:]
			case e.Kind == probe.KindFuseDirectIOEnter && e.Flags.Has(probe.FlagWrite) && l.held == shared && issued < 0:
				issued = i
			}
		}
		if c.exit.Ret == -eiocbqueued && issued >= 0 {
			for _, f := range open {
				queued[c.enter.Inode] = append(queued[c.enter.Inode], owed{f: f, issued: issued})
			}
		}
	}
	for ino, qs := range queued {
		sort.SliceStable(qs, func(a, b int) bool { return qs[a].issued < qs[b].issued })
		queued[ino] = qs
	}
	for i, e := range es {
		if e.Kind != probe.KindUncachedIOEndEnter || inCall[i] {
			continue
		}
		qs := queued[e.Inode]
		for k, q := range qs {
			if q.issued < i {
				q.f.end = i
				queued[e.Inode] = append(qs[:k:k], qs[k+1:]...)
				break
			}
		}
	}
	return d
}

// of returns the references the call took.
func (d dioFlights) of(c call) []*flight {
	var out []*flight
	for _, f := range d.flights {
		if f.call.enterI == c.enterI {
			out = append(out, f)
		}
	}
	return out
}

func parallelUncached(es probe.Events) []Violation {
	var out []Violation
	d := parallelFlights(es)
	for _, c := range writeCalls(es) {
		if c.enter.Func() != probe.FuncFuseDirectWriteIter {
			continue
		}
		var l lockState
		started := false
		parallel := false
		for _, e := range c.innerOfThread {
			l.step(e)
			switch {
			case e.Kind == probe.KindLockShared:
				started = false
			case e.Kind == probe.KindUncachedIOStartExit && e.Ret == 0:
				started = true
				if e.Flags.Has(probe.FlagCtrValid) && e.CtrAfter >= 0 {
					out = append(out, Violation{Path: probe.FuncFuseDirectWriteIter,
						What:   fmt.Sprintf("fuse_inode_uncached_io_start() succeeded but left iocachectr at %d", e.CtrAfter),
						Events: probe.Events{c.enter, e}})
				}
			case e.Kind == probe.KindFuseDirectIOEnter && e.Flags.Has(probe.FlagWrite) && l.held == shared:
				parallel = true
				if !started {
					out = append(out, Violation{Path: probe.FuncFuseDirectWriteIter,
						What:   fmt.Sprintf("parallel direct write [%d, %d) under the shared lock without an uncached io-mode reference", e.A0, e.A0+e.A1),
						Events: probe.Events{c.enter, l.ev, e}})
				}
			}
		}
		if !parallel {
			continue
		}
		fs := d.of(c)
		held, dropped := 0, d.extraEnds[c.exitI]
		var startEv probe.Event
		for _, f := range fs {
			startEv = es[f.start]
			switch {
			case f.end < 0:
				held++
			case f.end < c.exitI:
				dropped++
			}
		}
		switch {
		case held == 0 && d.extraEnds[c.exitI] == 0:
		case c.exit.Ret == -eiocbqueued && d.extraEnds[c.exitI] == 0:
			out = append(out, Violation{Path: probe.FuncFuseDirectWriteIter,
				What:   fmt.Sprintf("a queued asynchronous write returned holding %d uncached io-mode reference(s) that no fuse_inode_uncached_io_end() after its request was sent dropped", held),
				Events: probe.Events{c.enter, startEv, c.exit}})
		default:
			out = append(out, Violation{Path: probe.FuncFuseDirectWriteIter,
				What:   fmt.Sprintf("%d uncached io-mode references taken, %d dropped by the time the write returned", len(fs), dropped),
				Events: probe.Events{c.enter, startEv, c.exit}})
		}
	}
	return out
}

func cachedOpenWaits(es probe.Events) []Violation {
	d := parallelFlights(es)
	var out []Violation
	for i, e := range es {
		if e.Kind != probe.KindCachedIOOpenExit || e.Ret != 0 {
			continue
		}
		for _, f := range d.flights {
			w := es[f.start]
			if w.Inode != e.Inode || w.TID == e.TID || !f.inFlightAt(i) {
				continue
			}
			out = append(out, Violation{
				What:   fmt.Sprintf("cached open by %d/%d succeeded while the parallel direct write of thread %d was in flight", e.PID, e.TID, w.TID),
				Events: probe.Events{f.call.enter, w, e}})
		}
	}
	return out
}

func noStaleFolio(es probe.Events) []Violation {
	type pending struct {
		c       call
		ioEnd   int // index of the event that ends the I/O
		pages   map[uint64]bool
		excused bool
		added   map[uint64]probe.Event
	}
	// The direct writes to judge, by the index their I/O ends at.
	byIOEnd := map[int][]*pending{}
	byExit := map[int][]*pending{}
	for _, c := range writeCalls(es) {
		switch c.enter.Func() {
		case probe.FuncFuseDirectWriteIter, probe.FuncFuseCacheWriteIter, probe.FuncExt4FileWriteIter, probe.FuncXfsFileWriteIter:
		default:
			continue
		}
		if c.exit.Ret <= 0 || c.exit.Flags.Has(probe.FlagBufferedSeen) || c.enter.Flags.Has(probe.FlagAsync) {
			continue
		}
		ioEnd := -1
		for _, k := range c.inner {
			e := es[k]
			if (e.Kind == probe.KindFuseDirectIOExit && e.Flags.Has(probe.FlagWrite)) || e.Kind == probe.KindIomapDIORwInner {
				ioEnd = k
			}
		}
		if ioEnd < 0 {
			continue
		}
		p := &pending{c: c, ioEnd: ioEnd}
		byIOEnd[ioEnd] = append(byIOEnd[ioEnd], p)
		byExit[c.exitI] = append(byExit[c.exitI], p)
	}
	if len(byIOEnd) == 0 {
		return nil
	}
	cache := map[probe.InodeID]map[uint64]probe.Event{}
	var live []*pending
	var out []Violation
	for i, e := range es {
		switch e.Kind {
		case probe.KindCacheAdd:
			if cache[e.Inode] == nil {
				cache[e.Inode] = map[uint64]probe.Event{}
			}
			for p := e.A0; p < e.A0+max(e.A1, 1); p++ {
				cache[e.Inode][p] = e
			}
		case probe.KindCacheDelete:
			for p := e.A0; p < e.A0+max(e.A1, 1); p++ {
				delete(cache[e.Inode], p)
				for _, w := range live {
					if w.c.enter.Inode == e.Inode {
						delete(w.pages, p)
					}
				}
			}
		case probe.KindInvalidateExit:
			for _, w := range live {
				if w.c.enter.TID == e.TID && e.Ret != 0 {
					w.excused = true
				}
			}
		}
		for _, w := range byIOEnd[i] {
			start := uint64(w.c.exit.A0) - uint64(w.c.exit.Ret)
			first, last := start>>pageShift, (w.c.exit.A0-1)>>pageShift
			w.pages, w.added = map[uint64]bool{}, map[uint64]probe.Event{}
			for p, add := range cache[w.c.enter.Inode] {
				if p >= first && p <= last {
					w.pages[p] = true
					w.added[p] = add
				}
			}
			live = append(live, w)
		}
		for _, w := range byExit[i] {
			for k, l := range live {
				if l == w {
					live = append(live[:k], live[k+1:]...)
					break
				}
			}
			if len(w.pages) == 0 || w.excused {
				continue
			}
			evs := probe.Events{w.c.enter, es[w.ioEnd]}
			var idx []uint64
			for p := range w.pages {
				idx = append(idx, p)
			}
			for _, p := range idx[:min(len(idx), 4)] {
				evs = append(evs, w.added[p])
			}
			evs = append(evs, w.c.exit)
			out = append(out, Violation{Path: w.c.enter.Func(),
				What: fmt.Sprintf("%s wrote [%d, %d) and returned with %d folio page(s) of that range cached before its I/O finished (e.g. page %d), and no invalidation failed",
					w.c.enter.Func(), uint64(w.c.exit.A0)-uint64(w.c.exit.Ret), w.c.exit.A0, len(w.pages), idx[0]),
				Events: evs})
		}
	}
	return out
}

func counterReturnsToZero(es probe.Events) []Violation {
	type state struct {
		judged  bool // the inode's first io-mode event showed 0 and no cache bit
		seen    bool
		cached  map[uint64]bool
		inUnc   int
		waiting map[uint32]bool
		enter   map[uint32]int // release entry index per thread
	}
	st := map[probe.InodeID]*state{}
	var out []Violation
	isIOMode := func(k probe.Kind) bool { return k.Family() == probe.FamilyIOMode }
	for i, e := range es {
		if !isIOMode(e.Kind) {
			continue
		}
		s := st[e.Inode]
		if s == nil {
			s = &state{cached: map[uint64]bool{}, waiting: map[uint32]bool{}, enter: map[uint32]int{}}
			st[e.Inode] = s
		}
		if !s.seen {
			s.seen = true
			s.judged = e.Flags.Has(probe.FlagCtrValid) && e.CtrBefore == 0 && !e.Flags.Has(probe.FlagCacheIOBefore)
		}
		if !s.judged {
			continue
		}
		switch e.Kind {
		case probe.KindCachedIOOpenEnter:
			s.waiting[e.TID] = true
		case probe.KindCachedIOOpenExit:
			delete(s.waiting, e.TID)
			if e.Ret == 0 && e.A0 != 0 {
				s.cached[e.A0] = true
			}
		case probe.KindUncachedIOStartExit:
			if e.Ret == 0 {
				s.inUnc++
			}
		case probe.KindUncachedIOEndEnter:
			s.inUnc--
		case probe.KindFileIOReleaseEnter:
			s.enter[e.TID] = i
		case probe.KindFileIOReleaseExit:
			delete(s.cached, e.A0)
			from, ok := s.enter[e.TID]
			delete(s.enter, e.TID)
			if !ok || len(s.cached) > 0 || s.inUnc > 0 || len(s.waiting) > 0 || !e.Flags.Has(probe.FlagCtrValid) {
				continue
			}
			quiet := true
			for _, x := range es[from+1 : i] {
				if isIOMode(x.Kind) && x.Inode == e.Inode && x.TID != e.TID {
					quiet = false
				}
			}
			if quiet && (e.CtrAfter != 0 || e.Flags.Has(probe.FlagCacheIOAfter)) {
				bit := "clear"
				if e.Flags.Has(probe.FlagCacheIOAfter) {
					bit = "set"
				}
				out = append(out, Violation{
					What:   fmt.Sprintf("the last io-mode reference of %s was released and iocachectr is %d, FUSE_I_CACHE_IO_MODE %s", e.Inode, e.CtrAfter, bit),
					Events: probe.Events{es[from], e}})
			}
		}
	}
	return out
}

func invalidationCoversRange(es probe.Events) []Violation {
	var out []Violation
	pages := func(pos, count uint64) (uint64, uint64) { return pos >> pageShift, (pos + count - 1) >> pageShift }
	// Inner calls of one thread's span: from an entry to the exit of
	// the same kind.
	innerOf := func(i int, exit probe.Kind) probe.Events {
		var in probe.Events
		for _, e := range es[i+1:] {
			if e.TID != es[i].TID {
				continue
			}
			if e.Kind == exit {
				break
			}
			in = append(in, e)
		}
		return in
	}
	check := func(span probe.Event, in probe.Events, pos, count uint64, what string, path probe.Func) {
		if count == 0 {
			return
		}
		first, last := pages(pos, count)
		for _, e := range in {
			switch {
			case e.Kind == probe.KindWriteAndWaitEnter && (e.A0 != pos || int64(e.A1) != int64(pos+count-1)):
				out = append(out, Violation{Path: path,
					What:   fmt.Sprintf("%s [%d, %d) flushed bytes [%d, %d], want [%d, %d]", what, pos, pos+count, int64(e.A0), int64(e.A1), pos, pos+count-1),
					Events: probe.Events{span, e}})
			case e.Kind == probe.KindInvalidateEnter && (e.A0 != first || e.A1 != last):
				out = append(out, Violation{Path: path,
					What:   fmt.Sprintf("%s [%d, %d) invalidated pages [%d, %d], want [%d, %d]", what, pos, pos+count, e.A0, e.A1, first, last),
					Events: probe.Events{span, e}})
			}
		}
	}
	for i, e := range es {
		switch {
		case e.Kind == probe.KindKiocbInvalidateEnter:
			check(e, innerOf(i, probe.KindKiocbInvalidateExit), e.A0, e.A1, "kiocb_invalidate_pages() of", probe.FuncNone)
		case e.Kind == probe.KindKiocbInvalidatePostEnter:
			var in probe.Events
			for _, x := range innerOf(i, probe.KindKiocbInvalidatePostExit) {
				if x.Kind == probe.KindInvalidateEnter {
					in = append(in, x)
				}
			}
			check(e, in, e.A0, e.A1, "kiocb_invalidate_post_direct_write() of", probe.FuncNone)
		case e.Kind == probe.KindFuseDirectIOEnter && e.Flags.Has(probe.FlagWrite):
			var in probe.Events
			for _, x := range innerOf(i, probe.KindFuseDirectIOExit) {
				// fuse_direct_io()'s own flush and invalidation, not
				// those of a nested page fault.
				if x.Within.Has(probe.FuncFuseDirectIO) && !x.Within.Has(probe.FuncFuseLaunderFolio) &&
					(x.Kind == probe.KindWriteAndWaitEnter && x.Path == probe.FuncFuseDirectIO ||
						x.Kind == probe.KindInvalidateEnter && x.Path == probe.FuncFuseDirectIO) {
					in = append(in, x)
				}
			}
			check(e, in, e.A0, e.A1, "fuse_direct_io() write", probe.FuncFuseDirectWriteIter)
		}
	}
	for _, c := range writeCalls(es) {
		switch c.enter.Func() {
		case probe.FuncFuseDirectWriteIter:
			// After the I/O, the invalidation fuse_direct_write_iter()
			// itself issues covers what the write returned.
			var start probe.Event
			io := false
			for _, e := range c.innerOfThread {
				switch {
				case e.Kind == probe.KindFuseDirectIOEnter && e.Flags.Has(probe.FlagWrite) && !io:
					start, io = e, true
				case e.Kind == probe.KindInvalidateEnter && io && e.Path == probe.FuncFuseDirectWriteIter && c.exit.Ret > 0:
					check(start, probe.Events{e}, start.A0, uint64(c.exit.Ret), "fuse_direct_write_iter() after writing", probe.FuncFuseDirectWriteIter)
				}
			}
		case probe.FuncExt4FileWriteIter, probe.FuncXfsFileWriteIter:
			// The iomap call's own invalidations are of its range.
			var begin probe.Event
			for _, e := range c.innerOfThread {
				switch e.Kind {
				case probe.KindDIOBegin:
					begin = e
				case probe.KindKiocbInvalidateEnter:
					if begin.Kind == probe.KindDIOBegin && (e.A0 != begin.A0 || e.A1 != begin.A1) {
						out = append(out, Violation{Path: c.enter.Func(),
							What:   fmt.Sprintf("iomap direct write [%d, %d) invalidated [%d, %d) before the write", begin.A0, begin.A0+begin.A1, e.A0, e.A0+e.A1),
							Events: probe.Events{begin, e}})
					}
				case probe.KindKiocbInvalidatePostEnter:
					if begin.Kind == probe.KindDIOBegin && (e.A0 != begin.A0 || e.A1 > begin.A1) {
						out = append(out, Violation{Path: c.enter.Func(),
							What:   fmt.Sprintf("iomap direct write [%d, %d) invalidated [%d, %d) after the write", begin.A0, begin.A0+begin.A1, e.A0, e.A0+e.A1),
							Events: probe.Events{begin, e}})
					}
				}
			}
		}
	}
	return out
}

func advancesPosAndSize(es probe.Events) []Violation {
	var out []Violation
	for _, c := range writeCalls(es) {
		n := c.exit.Ret
		if n <= 0 || n == -eiocbqueued || c.enter.Flags.Has(probe.FlagAsync) {
			continue
		}
		appendMode := uint32(c.enter.A2)&iocbAppend != 0
		pos := c.exit.A0
		if !appendMode && pos != c.enter.A0+uint64(n) {
			out = append(out, Violation{Path: c.enter.Func(),
				What:   fmt.Sprintf("%s at %d returned %d but left ki_pos at %d, want %d", c.enter.Func(), c.enter.A0, n, pos, c.enter.A0+uint64(n)),
				Events: probe.Events{c.enter, c.exit}})
		}
		if c.exit.A1 < pos {
			out = append(out, Violation{Path: c.enter.Func(),
				What:   fmt.Sprintf("%s wrote up to %d but i_size is %d when it returns", c.enter.Func(), pos, c.exit.A1),
				Events: probe.Events{c.enter, c.exit}})
		}
	}
	return out
}
