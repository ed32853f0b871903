package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/fuse"
	"dioharness/harness/guestproto"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

func fuseModeScenarios() scenario.Catalogue {
	return scenario.Catalogue{
		{
			Declaration: guestproto.Declaration{
				Name:   "fuse/iomode-direct-io-open",
				Area:   "fuse",
				Setup:  "test server, a file opened with FOPEN_DIRECT_IO",
				Checks: "fuse_file_io_open returns 0 without entering cached or uncached mode: no fuse_file_cached_io_open, no fuse_inode_uncached_io_start, iocachectr stays 0",
			},
			Run: iomodeDirectIOOpen,
		},
		{
			Declaration: guestproto.Declaration{
				Name:   "fuse/iomode-passthrough-excludes-cached",
				Area:   "fuse",
				Setup:  "FUSE_PASSTHROUGH; a file whose opens get FOPEN_PASSTHROUGH with a backing file on tmpfs, then (rules switched) plain cached opens, and the reverse order",
				Checks: "a passthrough open takes the inode to uncached mode (iocachectr 0 -> -1); a cached open of it then fails with EIO; with a cached open held first, a passthrough open fails with EIO (uncached start refused, -ETXTBSY)",
			},
			Run: iomodePassthroughExcludesCached,
		},
		{
			Declaration: guestproto.Declaration{
				Name:   "fuse/mmap-waits-for-parallel-dio",
				Area:   "fuse",
				Setup:  "FUSE_DIRECT_IO_ALLOW_MMAP, FOPEN_DIRECT_IO|PARALLEL_DIRECT_WRITES, a parallel direct write held at the server gate",
				Checks: "a shared mmap of the file blocks in fuse_file_cached_io_open until the held write drains, then the inode is in cached mode (iocachectr 1) and the next direct write takes i_rwsem exclusive",
			},
			Run: mmapWaitsForParallelDIO,
		},
		{
			Declaration: guestproto.Declaration{
				Name:   "fuse/mmap-shared-without-allow-mmap",
				Area:   "fuse",
				Setup:  "FOPEN_DIRECT_IO without FUSE_DIRECT_IO_ALLOW_MMAP",
				Checks: "MAP_SHARED mmap fails with ENODEV in fuse_file_mmap and the io mode is untouched; MAP_PRIVATE succeeds and reads the server's bytes",
			},
			Run: mmapSharedWithoutAllowMmap,
		},
		{
			Declaration: guestproto.Declaration{
				Name:   "fuse/dio-coherency",
				Area:   "fuse",
				Setup:  "a cached open with the file mapped shared and read buffered (page cache populated), then an O_DIRECT write through it",
				Checks: "after the direct write both the mapping and a buffered read show the new bytes; kiocb_invalidate_post_direct_write ran for the range and returned without error",
			},
			Run: dioCoherency,
		},
		{
			Declaration: guestproto.Declaration{
				Name:   "fuse/passthrough-mmap",
				Area:   "fuse",
				Setup:  "FUSE_PASSTHROUGH with a backing file holding a known pattern",
				Checks: "reading through a shared mapping of the passthrough file returns the backing file's bytes while the server sees no READ; fuse_file_mmap ran",
			},
			Run: passthroughMmap,
		},
	}
}

func iomodeDirectIOOpen(t *scenario.T) {
	ps := t.Probes("fexit/fuse_file_io_open", "fentry/fuse_file_cached_io_open", "fentry/fuse_inode_uncached_io_start")
	m := t.FUSE(fileOf("/d", page, fuse.OpenPolicy{DirectIO: true}, fuse.Capabilities{}))
	path := m.Path("d")
	ps.WatchPath(path)
	ev := ps.Record(func() {
		f := openFile(t, path, os.O_RDWR)
		t.Check(f.Close(), "close")
	})
	opens := ev.Of(probe.KindFileIOOpenExit)
	if len(opens) != 1 || opens[0].Ret != 0 || opens[0].CtrAfter != 0 || opens[0].Flags&probe.FlagCacheIOAfter != 0 {
		t.Fatalf("fuse_file_io_open: want one return of 0 with iocachectr 0 and no cache-io bit\n%s", ev)
	}
	if n := ev.Count(probe.KindCachedIOOpenEnter) + ev.Count(probe.KindUncachedIOStartEnter); n != 0 {
		t.Fatalf("a FOPEN_DIRECT_IO open changed the io mode (%d transitions)\n%s", n, ev)
	}
}

func passthroughConfig(t *scenario.T, data []byte) (fuse.Config, string) {
	backing := filepath.Join(t.Env().Work, "backing-"+filepath.Base(t.Name()))
	t.Check(os.MkdirAll(backing, 0o755), "backing dir")
	t.Check(os.WriteFile(filepath.Join(backing, "pt"), data, 0o644), "backing file")
	t.Cleanup(func() { os.RemoveAll(backing) })
	return fuse.Config{
		Capabilities: fuse.Capabilities{Passthrough: true},
		BackingDir:   backing,
		Files:        []fuse.FileSpec{{Path: "/pt", Data: data}},
		Rules:        []fuse.OpenRule{{Glob: "/pt", OpenPolicy: fuse.OpenPolicy{Passthrough: true}}},
	}, backing
}

func iomodePassthroughExcludesCached(t *scenario.T) {
	ps := t.Probes("fexit/fuse_inode_uncached_io_start", "fexit/fuse_file_io_open")
	cfg, _ := passthroughConfig(t, pattern(page, 0x21))
	m := t.FUSE(cfg)
	path := m.Path("pt")
	passthrough := []fuse.OpenRule{{Glob: "/pt", OpenPolicy: fuse.OpenPolicy{Passthrough: true}}}

	// Passthrough first, then a cached open.
	ps.WatchPath(path)
	ev := ps.Record(func() {
		pt := openFile(t, path, os.O_RDWR)
		t.Check(m.SetRules(), "rules: cached")
		if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
			f.Close()
			t.Fatalf("cached open of an inode in passthrough mode succeeded")
		} else if !errors.Is(err, unix.EIO) {
			t.Fatalf("cached open of a passthrough inode: %v, want EIO", err)
		}
		t.Check(pt.Close(), "close passthrough file")
	})
	start, ok := ev.First(probe.KindUncachedIOStartExit)
	if !ok || start.Ret != 0 || start.CtrBefore != 0 || start.CtrAfter != -1 {
		t.Fatalf("passthrough open: want uncached io start 0 -> -1 returning 0\n%s", ev)
	}
	denied := ev.Of(probe.KindFileIOOpenExit).Where(func(e probe.Event) bool { return e.Ret != 0 })
	if len(denied) != 1 {
		t.Fatalf("want exactly one refused fuse_file_io_open (the cached one)\n%s", ev)
	}

	// Cached first, then a passthrough open.
	t.Check(m.SetRules(), "rules: cached")
	ev = ps.Record(func() {
		cached := openFile(t, path, os.O_RDWR)
		t.Check(m.SetRules(passthrough...), "rules: passthrough")
		if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
			f.Close()
			t.Fatalf("passthrough open of an inode in cached mode succeeded")
		} else if !errors.Is(err, unix.EIO) {
			t.Fatalf("passthrough open of a cached inode: %v, want EIO", err)
		}
		t.Check(cached.Close(), "close cached file")
	})
	refused := ev.Of(probe.KindUncachedIOStartExit).Where(func(e probe.Event) bool { return e.Ret == -int64(unix.ETXTBSY) })
	if len(refused) != 1 || refused[0].CtrBefore != 1 {
		t.Fatalf("want the uncached start refused with -ETXTBSY while iocachectr is 1\n%s", ev)
	}
}

func mmapWaitsForParallelDIO(t *scenario.T) {
	ps := t.Probes("fentry/fuse_file_cached_io_open", "fexit/fuse_file_cached_io_open", "fentry/fuse_inode_uncached_io_end", "fexit/down_write")
	cfg := fileOf("/mw", 64<<10, fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true}, fuse.Capabilities{DirectIOAllowMmap: true})
	m := t.FUSE(cfg)
	f := openFile(t, m.Path("mw"), os.O_RDWR)
	ps.Watch(f)
	t.Check(m.ArmGate("w", fuse.OpWrite, "/mw"), "arm gate")
	t.Cleanup(func() { m.DisarmGate("w") })
	ev := ps.Record(func() {
		res := goPwrite(f, alignedBuf(t, page, 0x71), 0)
		if _, err := m.WaitHeld("w", 1, holdWait); err != nil {
			t.Fatalf("direct WRITE never reached the server: %v", err)
		}
		mapped := make(chan mmapResult, 1)
		go func() {
			b, err := unix.Mmap(int(f.Fd()), 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
			mapped <- mmapResult{b, err}
		}()
		select {
		case r := <-mapped:
			if r.err == nil {
				unix.Munmap(r.b)
			}
			t.Fatalf("shared mmap returned (%v) while a parallel direct write was in flight", r.err)
		case <-time.After(absentWait):
		}
		m.ReleaseAll("w")
		if r := waitIO(t, "held direct write", res); r.err != nil || r.n != page {
			t.Fatalf("direct write: %d, %v", r.n, r.err)
		}
		var r mmapResult
		select {
		case r = <-mapped:
		case <-t.Context().Done():
			t.Fatalf("shared mmap never returned after the direct write drained")
		}
		t.Check(r.err, "shared mmap")
		t.Cleanup(func() { unix.Munmap(r.b) })
		sameBytes(t, "mapping after the drained write", r.b[:page], pattern(page, 0x71))
		// Cached io mode now: the next direct write is exclusive.
		m.DisarmGate("w")
		pwriteFull(t, f, alignedBuf(t, page, 0x72), 2*page)
	})
	// fuse_inode_uncached_io_end wakes the waiting mmap before it
	// returns, so the mmap may finish before that function's exit is
	// recorded: its entry is the point the mmap must wait for.
	if err := ev.CheckOrder(probe.KindCachedIOOpenEnter, probe.KindUncachedIOEndEnter, probe.KindCachedIOOpenExit); err != nil {
		t.Fatalf("mmap did not wait for the parallel write to end: %v\n%s", err, ev)
	}
	open, _ := ev.Last(probe.KindCachedIOOpenExit)
	if open.Ret != 0 || open.CtrAfter != 1 {
		t.Fatalf("mmap's cached io open: ret %d, iocachectr %d; want 0, 1\n%s", open.Ret, open.CtrAfter, ev)
	}
	last, ok := ev.Last(probe.KindLockExclusive)
	if !ok || last.TS < open.TS {
		t.Fatalf("the direct write after the mmap did not take i_rwsem exclusive\n%s", ev)
	}
}

func mmapSharedWithoutAllowMmap(t *scenario.T) {
	ps := t.Probes("fexit/fuse_file_mmap")
	m := t.FUSE(fuse.Config{
		Files: []fuse.FileSpec{{Path: "/nm", Data: pattern(page, 0x31)}},
		Rules: []fuse.OpenRule{{Glob: "/nm", OpenPolicy: fuse.OpenPolicy{DirectIO: true}}},
	})
	f := openFile(t, m.Path("nm"), os.O_RDWR)
	ps.Watch(f)
	ev := ps.Record(func() {
		if b, err := unix.Mmap(int(f.Fd()), 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err == nil {
			unix.Munmap(b)
			t.Fatalf("MAP_SHARED of a FOPEN_DIRECT_IO file without FUSE_DIRECT_IO_ALLOW_MMAP succeeded")
		} else if err != unix.ENODEV {
			t.Fatalf("MAP_SHARED: %v, want ENODEV", err)
		}
		b, err := unix.Mmap(int(f.Fd()), 0, page, unix.PROT_READ, unix.MAP_PRIVATE)
		t.Check(err, "MAP_PRIVATE")
		sameBytes(t, "private mapping", b[:page], pattern(page, 0x31))
		unix.Munmap(b)
	})
	exits := ev.Of(probe.KindFuseMmapExit)
	if len(exits) != 2 || exits[0].Ret != -int64(unix.ENODEV) || exits[1].Ret != 0 {
		t.Fatalf("fuse_file_mmap: want -ENODEV then 0\n%s", ev)
	}
	if ev.Count(probe.KindCachedIOOpenEnter) != 0 {
		t.Fatalf("io mode changed\n%s", ev)
	}
}

func dioCoherency(t *scenario.T) {
	ps := t.Probes("fexit/kiocb_invalidate_post_direct_write")
	ps.RecordPageCache()
	m := t.FUSE(fuse.Config{Files: []fuse.FileSpec{{Path: "/co", Data: pattern(4*page, 0x41)}}})
	f := openFile(t, m.Path("co"), os.O_RDWR)
	ps.Watch(f)
	mapping := mapShared(t, f, 4*page)
	sameBytes(t, "mapping before", mapping[page:2*page], pattern(4*page, 0x41)[page:2*page])
	old := make([]byte, page)
	preadFull(t, f, old, page)
	d := openFile(t, m.Path("co"), os.O_RDWR|unix.O_DIRECT)
	fresh := alignedBuf(t, page, 0x42)
	ev := ps.Record(func() { pwriteFull(t, d, fresh, page) })
	sameBytes(t, "mapping after the direct write", mapping[page:2*page], fresh)
	sameBytes(t, "buffered read after the direct write", preadFull(t, f, make([]byte, page), page), fresh)
	post := ev.Of(probe.KindKiocbInvalidatePostExit)
	if len(post) != 1 || post[0].Ret != 0 {
		t.Fatalf("want one successful kiocb_invalidate_post_direct_write\n%s", ev)
	}
}

func passthroughMmap(t *scenario.T) {
	ps := t.Probes("fexit/fuse_file_mmap")
	data := pattern(2*page, 0x51)
	cfg, _ := passthroughConfig(t, data)
	m := t.FUSE(cfg)
	f := openFile(t, m.Path("pt"), os.O_RDONLY)
	ps.Watch(f)
	t.Check(m.ResetStats(), "reset stats")
	var got []byte
	ev := ps.Record(func() {
		b, err := unix.Mmap(int(f.Fd()), 0, 2*page, unix.PROT_READ, unix.MAP_SHARED)
		t.Check(err, "mmap passthrough file")
		got = append([]byte(nil), b...)
		unix.Munmap(b)
	})
	sameBytes(t, "passthrough mapping", got, data)
	st, err := m.Stats()
	t.Check(err, "stats")
	if n := st.Count(fuse.OpRead); n != 0 {
		t.Fatalf("the server saw %d READs: the mapping did not go to the backing file", n)
	}
	if exits := ev.Of(probe.KindFuseMmapExit); len(exits) != 1 || exits[0].Ret != 0 {
		t.Fatalf("fuse_file_mmap: want one successful call\n%s", ev)
	}
}

// mmapResult is what a shared mmap() made in another goroutine returned:
// the scenarios that expect it to wait for parallel direct writes.
type mmapResult struct {
	b   []byte
	err error
}
