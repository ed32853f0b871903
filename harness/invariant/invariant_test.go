package invariant

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/probe"
)

// Events of a made-up recording; tid 1 writes, tid 2 opens.
var ino = probe.InodeID{Dev: 1 << 20, Ino: 42}

func ev(tid uint32, k probe.Kind, mod func(*probe.Event)) probe.Event {
	e := probe.Event{PID: tid, TID: tid, Inode: ino, Kind: k}
	if mod != nil {
		mod(&e)
	}
	return e
}

func enter(fn probe.Func, pos, count uint64) probe.Event {
	return ev(1, probe.KindWriteEnter, func(e *probe.Event) { e.Aux, e.A0, e.A1 = uint32(fn), pos, count })
}

func exit(fn probe.Func, ret int64, pos, size uint64) probe.Event {
	return ev(1, probe.KindWriteExit, func(e *probe.Event) { e.Aux, e.Ret, e.A0, e.A1 = uint32(fn), ret, pos, size })
}

func lock(k probe.Kind, size uint64) probe.Event {
	return ev(1, k, func(e *probe.Event) { e.A1 = size })
}

func fuseDIO(pos, count uint64) probe.Event {
	return ev(1, probe.KindFuseDirectIOEnter, func(e *probe.Event) {
		e.A0, e.A1, e.Flags = pos, count, probe.FlagWrite
		e.Within = 1<<probe.FuncFuseFileWriteIter | 1<<probe.FuncFuseDirectWriteIter
		e.Path = probe.FuncFuseDirectWriteIter
	})
}

func fuseDIOExit(ret int64) probe.Event {
	return ev(1, probe.KindFuseDirectIOExit, func(e *probe.Event) { e.Ret, e.Flags = ret, probe.FlagWrite })
}

func uncStart(tid uint32, ret int64, after int32) probe.Event {
	return ev(tid, probe.KindUncachedIOStartExit, func(e *probe.Event) {
		e.Ret, e.CtrAfter, e.Flags = ret, after, probe.FlagCtrValid
		e.Within = 1 << probe.FuncFuseDirectWriteIter
	})
}

func uncEnd(tid uint32) probe.Event { return ev(tid, probe.KindUncachedIOEndEnter, nil) }

func cacheAdd(page uint64) probe.Event {
	return ev(2, probe.KindCacheAdd, func(e *probe.Event) { e.A0, e.A1 = page, 1 })
}

func cacheDel(page uint64) probe.Event {
	return ev(1, probe.KindCacheDelete, func(e *probe.Event) { e.A0, e.A1 = page, 1 })
}

func inval(first, last uint64, path probe.Func) probe.Event {
	return ev(1, probe.KindInvalidateEnter, func(e *probe.Event) {
		e.A0, e.A1, e.Path = first, last, path
		e.Within = 1 << path
	})
}

// A parallel FUSE direct write of [0, 8192) on a 64 KiB file, done right.
func parallelWrite() probe.Events {
	return probe.Events{
		enter(probe.FuncFuseDirectWriteIter, 0, 8192),
		lock(probe.KindLockShared, 65536),
		uncStart(1, 0, -1),
		fuseDIO(0, 8192),
		fuseDIOExit(8192),
		uncEnd(1),
		ev(1, probe.KindUnlockShared, nil),
		exit(probe.FuncFuseDirectWriteIter, 8192, 8192, 65536),
	}
}

// A parallel FUSE direct write of [0, 4096) submitted asynchronously:
// it returns -EIOCBQUEUED still holding its uncached reference, which
// the completion drops in another context.
func queuedWrite() probe.Events {
	return probe.Events{
		enter(probe.FuncFuseDirectWriteIter, 0, 4096),
		lock(probe.KindLockShared, 65536),
		uncStart(1, 0, -1),
		fuseDIO(0, 4096),
		fuseDIOExit(-eiocbqueued),
		ev(1, probe.KindUnlockShared, nil),
		exit(probe.FuncFuseDirectWriteIter, -eiocbqueued, 0, 65536),
	}
}

// cachedOpen is tid 2 entering cached io mode on the inode.
func cachedOpen() probe.Event {
	return ev(2, probe.KindCachedIOOpenExit, func(e *probe.Event) { e.Ret = 0 })
}

// withCachedOpen puts tid 2's cached open before es[at].
func withCachedOpen(es probe.Events, at int) probe.Events {
	return append(append(append(probe.Events{}, es[:at]...), cachedOpen()), es[at:]...)
}

func TestRules(t *testing.T) {
	tests := []struct {
		name string
		es   probe.Events
		want []string // the rules violated, in rule order
	}{
		{name: "parallel write done right", es: parallelWrite()},
		{name: "extending write under the shared lock", es: probe.Events{
			enter(probe.FuncFuseDirectWriteIter, 61440, 8192),
			lock(probe.KindLockShared, 65536),
			uncStart(1, 0, -1),
			fuseDIO(61440, 8192),
			fuseDIOExit(8192),
			uncEnd(1),
			exit(probe.FuncFuseDirectWriteIter, 8192, 69632, 69632),
		}, want: []string{"extending-dio-write-exclusive"}},
		{name: "extending write under the exclusive lock", es: probe.Events{
			enter(probe.FuncFuseDirectWriteIter, 61440, 8192),
			lock(probe.KindLockExclusive, 65536),
			fuseDIO(61440, 8192),
			fuseDIOExit(8192),
			exit(probe.FuncFuseDirectWriteIter, 8192, 69632, 69632),
		}},
		{name: "shared write without an uncached reference", es: probe.Events{
			enter(probe.FuncFuseDirectWriteIter, 0, 4096),
			lock(probe.KindLockShared, 65536),
			fuseDIO(0, 4096),
			fuseDIOExit(4096),
			exit(probe.FuncFuseDirectWriteIter, 4096, 4096, 65536),
		}, want: []string{"parallel-dio-write-uncached"}},
		{name: "uncached reference not dropped", es: probe.Events{
			enter(probe.FuncFuseDirectWriteIter, 0, 4096),
			lock(probe.KindLockShared, 65536),
			uncStart(1, 0, -1),
			fuseDIO(0, 4096),
			fuseDIOExit(4096),
			exit(probe.FuncFuseDirectWriteIter, 4096, 4096, 65536),
		}, want: []string{"parallel-dio-write-uncached"}},
		{name: "queued asynchronous write drops its reference at completion", es: probe.Events{
			enter(probe.FuncFuseDirectWriteIter, 0, 4096),
			lock(probe.KindLockShared, 65536),
			uncStart(1, 0, -1),
			fuseDIO(0, 4096),
			fuseDIOExit(-eiocbqueued),
			exit(probe.FuncFuseDirectWriteIter, -eiocbqueued, 0, 65536),
			uncEnd(3),
		}},
		{name: "queued asynchronous write never drops its reference", es: probe.Events{
			enter(probe.FuncFuseDirectWriteIter, 0, 4096),
			lock(probe.KindLockShared, 65536),
			uncStart(1, 0, -1),
			fuseDIO(0, 4096),
			fuseDIOExit(-eiocbqueued),
			exit(probe.FuncFuseDirectWriteIter, -eiocbqueued, 0, 65536),
		}, want: []string{"parallel-dio-write-uncached"}},
		{name: "an end before the queued write returned pays nothing", es: probe.Events{
			enter(probe.FuncFuseDirectWriteIter, 0, 4096),
			lock(probe.KindLockShared, 65536),
			uncStart(1, 0, -1),
			uncEnd(3),
			fuseDIO(0, 4096),
			fuseDIOExit(-eiocbqueued),
			exit(probe.FuncFuseDirectWriteIter, -eiocbqueued, 0, 65536),
		}, want: []string{"parallel-dio-write-uncached"}},
		{name: "a failed queued write completes on another thread before its submitter returns", es: probe.Events{
			enter(probe.FuncFuseDirectWriteIter, 0, 4096),
			lock(probe.KindLockShared, 65536),
			uncStart(1, 0, -1),
			fuseDIO(0, 4096),
			uncEnd(3),
			fuseDIOExit(-eiocbqueued),
			exit(probe.FuncFuseDirectWriteIter, -eiocbqueued, 0, 65536),
		}},
		{name: "one completion pays one of two queued writes", es: probe.Events{
			enter(probe.FuncFuseDirectWriteIter, 0, 4096),
			lock(probe.KindLockShared, 65536),
			uncStart(1, 0, -1),
			fuseDIO(0, 4096),
			uncEnd(3),
			fuseDIOExit(-eiocbqueued),
			exit(probe.FuncFuseDirectWriteIter, -eiocbqueued, 0, 65536),
			enter(probe.FuncFuseDirectWriteIter, 8192, 4096),
			lock(probe.KindLockShared, 65536),
			uncStart(1, 0, -1),
			fuseDIO(8192, 4096),
			fuseDIOExit(-eiocbqueued),
			exit(probe.FuncFuseDirectWriteIter, -eiocbqueued, 0, 65536),
		}, want: []string{"parallel-dio-write-uncached"}},
		{name: "a synchronous write's own end does not pay a queued write's reference", es: probe.Events{
			enter(probe.FuncFuseDirectWriteIter, 0, 4096),
			lock(probe.KindLockShared, 65536),
			uncStart(1, 0, -1),
			fuseDIO(0, 4096),
			fuseDIOExit(-eiocbqueued),
			exit(probe.FuncFuseDirectWriteIter, -eiocbqueued, 0, 65536),
			ev(4, probe.KindWriteEnter, func(e *probe.Event) { e.Aux, e.A0, e.A1 = uint32(probe.FuncFuseDirectWriteIter), 8192, 4096 }),
			ev(4, probe.KindLockShared, func(e *probe.Event) { e.A1 = 65536 }),
			uncStart(4, 0, -2),
			ev(4, probe.KindFuseDirectIOEnter, func(e *probe.Event) {
				e.A0, e.A1, e.Flags = 8192, 4096, probe.FlagWrite
				e.Within = 1<<probe.FuncFuseFileWriteIter | 1<<probe.FuncFuseDirectWriteIter
				e.Path = probe.FuncFuseDirectWriteIter
			}),
			ev(4, probe.KindFuseDirectIOExit, func(e *probe.Event) { e.Ret, e.Flags = 4096, probe.FlagWrite }),
			uncEnd(4),
			ev(4, probe.KindWriteExit, func(e *probe.Event) {
				e.Aux, e.Ret, e.A0, e.A1 = uint32(probe.FuncFuseDirectWriteIter), 4096, 12288, 65536
			}),
		}, want: []string{"parallel-dio-write-uncached"}},
		{name: "cached open while the parallel write is in flight", es: withCachedOpen(parallelWrite(), 4),
			want: []string{"cached-open-waits-for-parallel-dio"}},
		{name: "cached open after the parallel write", es: withCachedOpen(parallelWrite(), 7)},
		{name: "cached open while a queued write is in flight", es: append(queuedWrite(),
			cachedOpen(),
			uncEnd(3),
		), want: []string{"cached-open-waits-for-parallel-dio"}},
		{name: "cached open after a queued write completed on another thread", es: append(queuedWrite(),
			uncEnd(3),
			cachedOpen(),
		)},
		{name: "queued write completed on another thread before it returned, then a cached open", es: func() probe.Events {
			es := queuedWrite()
			done := append(append(probe.Events{}, es[:5]...), uncEnd(3))
			return append(append(done, es[5:]...), cachedOpen())
		}()},
		{name: "an end on another thread before the I/O was issued does not close the window", es: func() probe.Events {
			es := queuedWrite()
			early := append(append(probe.Events{}, es[:3]...), uncEnd(3))
			return append(append(early, es[3:]...), cachedOpen())
		}(), want: []string{"parallel-dio-write-uncached", "cached-open-waits-for-parallel-dio"}},
		{name: "a synchronous write's reference is not dropped by another thread", es: func() probe.Events {
			es := parallelWrite()
			// tid 1's own end becomes tid 3's, outside any write call.
			tail := append(probe.Events{}, es[6:]...)
			return append(append(append(es[:5:5], tail...), uncEnd(3)), cachedOpen())
		}(), want: []string{"parallel-dio-write-uncached", "cached-open-waits-for-parallel-dio"}},
		{name: "folio read in during the write and dropped after it", es: probe.Events{
			enter(probe.FuncFuseDirectWriteIter, 0, 8192),
			lock(probe.KindLockExclusive, 65536),
			fuseDIO(0, 8192),
			cacheAdd(1),
			fuseDIOExit(8192),
			inval(0, 1, probe.FuncFuseDirectWriteIter),
			cacheDel(1),
			exit(probe.FuncFuseDirectWriteIter, 8192, 8192, 65536),
		}},
		{name: "folio read in during the write and left", es: probe.Events{
			enter(probe.FuncFuseDirectWriteIter, 0, 8192),
			lock(probe.KindLockExclusive, 65536),
			fuseDIO(0, 8192),
			cacheAdd(1),
			fuseDIOExit(8192),
			exit(probe.FuncFuseDirectWriteIter, 8192, 8192, 65536),
		}, want: []string{"dio-write-leaves-no-stale-folio"}},
		{name: "folio left after a failed invalidation", es: probe.Events{
			enter(probe.FuncFuseDirectWriteIter, 0, 8192),
			lock(probe.KindLockExclusive, 65536),
			fuseDIO(0, 8192),
			cacheAdd(1),
			fuseDIOExit(8192),
			inval(0, 1, probe.FuncFuseDirectWriteIter),
			ev(1, probe.KindInvalidateExit, func(e *probe.Event) { e.Ret = -16 }),
			exit(probe.FuncFuseDirectWriteIter, 8192, 8192, 65536),
		}},
		{name: "post-write invalidation one page short", es: probe.Events{
			enter(probe.FuncFuseDirectWriteIter, 0, 8192),
			lock(probe.KindLockExclusive, 65536),
			fuseDIO(0, 8192),
			fuseDIOExit(8192),
			inval(0, 0, probe.FuncFuseDirectWriteIter),
			exit(probe.FuncFuseDirectWriteIter, 8192, 8192, 65536),
		}, want: []string{"dio-invalidation-covers-written-range"}},
		{name: "kiocb_invalidate_pages flushing one byte too many", es: probe.Events{
			ev(1, probe.KindKiocbInvalidateEnter, func(e *probe.Event) { e.A0, e.A1 = 4096, 4096 }),
			ev(1, probe.KindWriteAndWaitEnter, func(e *probe.Event) { e.A0, e.A1 = 4096, 8192 }),
			ev(1, probe.KindKiocbInvalidateExit, nil),
		}, want: []string{"dio-invalidation-covers-written-range"}},
		{name: "ki_pos not advanced", es: probe.Events{
			enter(probe.FuncExt4FileWriteIter, 4096, 4096),
			exit(probe.FuncExt4FileWriteIter, 4096, 4096, 65536),
		}, want: []string{"write-advances-pos-and-size"}},
		{name: "an aio write FUSE does synchronously, at a copy of ki_pos, with the folio of its range dropped", es: func() probe.Events {
			// The folio of page 2 is dropped; taking [ki_pos - n, ki_pos)
			// for the range would see page 1 left cached.
			aio := enter(probe.FuncFuseDirectWriteIter, 8192, 4096)
			aio.Flags = probe.FlagAsync
			return probe.Events{
				cacheAdd(1),
				aio,
				lock(probe.KindLockExclusive, 65536),
				fuseDIO(8192, 4096),
				fuseDIOExit(4096),
				inval(2, 2, probe.FuncFuseDirectWriteIter),
				exit(probe.FuncFuseDirectWriteIter, 4096, 8192, 65536),
			}
		}()},
		{name: "i_size behind the write", es: probe.Events{
			enter(probe.FuncExt4FileWriteIter, 65536, 4096),
			exit(probe.FuncExt4FileWriteIter, 4096, 69632, 65536),
		}, want: []string{"write-advances-pos-and-size"}},
		{name: "last release leaves the counter up", es: probe.Events{
			ev(1, probe.KindFileIOOpenEnter, func(e *probe.Event) { e.Flags, e.A0 = probe.FlagCtrValid, 7 }),
			ev(1, probe.KindCachedIOOpenEnter, func(e *probe.Event) { e.Flags, e.A0 = probe.FlagCtrValid, 7 }),
			ev(1, probe.KindCachedIOOpenExit, func(e *probe.Event) { e.Flags, e.A0, e.CtrAfter = probe.FlagCtrValid, 7, 1 }),
			ev(1, probe.KindFileIOReleaseEnter, func(e *probe.Event) { e.Flags, e.A0, e.CtrBefore = probe.FlagCtrValid, 7, 1 }),
			ev(1, probe.KindFileIOReleaseExit, func(e *probe.Event) { e.Flags, e.A0, e.CtrAfter = probe.FlagCtrValid, 7, 1 }),
		}, want: []string{"iomode-counter-returns-to-zero"}},
		{name: "last release returns the counter to zero", es: probe.Events{
			ev(1, probe.KindCachedIOOpenEnter, func(e *probe.Event) { e.Flags, e.A0 = probe.FlagCtrValid, 7 }),
			ev(1, probe.KindCachedIOOpenExit, func(e *probe.Event) { e.Flags, e.A0, e.CtrAfter = probe.FlagCtrValid, 7, 1 }),
			ev(1, probe.KindFileIOReleaseEnter, func(e *probe.Event) { e.Flags, e.A0, e.CtrBefore = probe.FlagCtrValid, 7, 1 }),
			ev(1, probe.KindFileIOReleaseExit, func(e *probe.Event) { e.Flags, e.A0 = probe.FlagCtrValid, 7 }),
		}},
		{name: "a counter already up when the recording starts is not judged", es: probe.Events{
			ev(1, probe.KindFileIOReleaseEnter, func(e *probe.Event) { e.Flags, e.A0, e.CtrBefore = probe.FlagCtrValid, 7, 2 }),
			ev(1, probe.KindFileIOReleaseExit, func(e *probe.Event) { e.Flags, e.A0, e.CtrAfter = probe.FlagCtrValid, 7, 1 }),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := Check(tc.es, Kernel{Base: "v7.3"})
			var got []string
			for _, v := range rep.Violations {
				got = append(got, v.Rule)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("violated rules (-want +got):\n%s\n%v", d, rep.Violations)
			}
		})
	}
}

// A base's declared exception excuses only its paths, and a rule whose
// probes are missing is reported as not judged.
func TestExcusedAndNotJudged(t *testing.T) {
	stale := probe.Events{
		enter(probe.FuncFuseDirectWriteIter, 0, 8192),
		lock(probe.KindLockExclusive, 65536),
		fuseDIO(0, 8192),
		cacheAdd(1),
		fuseDIOExit(8192),
		exit(probe.FuncFuseDirectWriteIter, 8192, 8192, 65536),
	}
	rep := Check(stale, Kernel{Base: "v6.12"})
	if len(rep.Violations) != 0 || len(rep.Excused) != 1 || rep.Excused[0].Rule != "dio-write-leaves-no-stale-folio" {
		t.Errorf("v6.12: violations %v, excused %v; want the stale folio excused", rep.Violations, rep.Excused)
	}
	rep = Check(stale, Kernel{Base: "v7.3"})
	if len(rep.Violations) != 1 || len(rep.NotJudged) != 0 {
		t.Errorf("v7.3 with every probe recorded: violations %v, not judged %v; want the stale folio, every rule judged", rep.Violations, rep.NotJudged)
	}
	lacks := func(p string) error {
		if p == "tp_btf/mm_filemap_add_to_page_cache" {
			return &probe.SkipError{Probe: p, Reason: "not recorded"}
		}
		return nil
	}
	rep = Check(stale, Kernel{Base: "v7.3", Lacks: lacks})
	if len(rep.Violations) != 0 {
		t.Errorf("without the page-cache events: violations %v, want none", rep.Violations)
	}
	if d := cmp.Diff([]string{"dio-write-leaves-no-stale-folio: probe tp_btf/mm_filemap_add_to_page_cache unavailable: not recorded"}, rep.NotJudged); d != "" {
		t.Errorf("not judged (-want +got):\n%s", d)
	}
}

// Every rule names its sources on both bases, says what it covers and
// needs at least one probe; names are unique.
func TestRuleBook(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r.Name] {
			t.Errorf("rule %s twice", r.Name)
		}
		seen[r.Name] = true
		if r.Says == "" || r.Scope == "" || r.Source["v7.3"] == "" || r.Source["v6.12"] == "" || len(r.Needs) == 0 || r.check == nil {
			t.Errorf("rule %s: incomplete (says, scope, sources for v7.3 and v6.12, needs, check)", r.Name)
		}
		for base, ex := range r.Differs {
			if ex.Reason == "" {
				t.Errorf("rule %s: %s differs without a reason", r.Name, base)
			}
		}
	}
	if len(seen) < 5 {
		t.Errorf("%d rules, want at least the five of the issue", len(seen))
	}
}

// The README's rule book is this package's: a rule changed here and not
// there fails.
func TestReadmeRuleBook(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- rule book: begin -->\n", "<!-- rule book: end -->"
	_, rest, ok := strings.Cut(string(b), begin)
	book, _, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("README.md has no %q ... %q section", begin, end)
	}
	if d := cmp.Diff(Markdown(), book); d != "" {
		t.Errorf("README.md's rule book differs from invariant.Markdown() (-want +got):\n%s", d)
	}
}
