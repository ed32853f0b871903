package scenarios

import (
	"os"

	"golang.org/x/sys/unix"

	"dioharness/harness/fuse"
	"dioharness/harness/guestproto"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// fileOf is a server config with one pre-sized file and an open rule
// for it.
func fileOf(path string, size int64, pol fuse.OpenPolicy, caps fuse.Capabilities) fuse.Config {
	return fuse.Config{
		Capabilities: caps,
		Files:        []fuse.FileSpec{{Path: path, Size: size}},
		Rules:        []fuse.OpenRule{{Glob: path, OpenPolicy: pol}},
	}
}

func fuseScenarios() scenario.Catalogue {
	return scenario.Catalogue{
		{
			Declaration: guestproto.Declaration{
				Name:   "fuse/odirect-roundtrip",
				Area:   "fuse",
				Setup:  "test server, one 64 KiB file opened with FOPEN_DIRECT_IO",
				Checks: "a 16 KiB O_DIRECT write and read back return the bytes, the server stores them, and fuse_direct_write_iter ran for that inode",
			},
			Run: odirectRoundtrip,
		},
		{
			Declaration: guestproto.Declaration{
				Name:   "fuse/iomode-cached-open",
				Area:   "fuse",
				Setup:  "test server, a file opened without FOPEN_DIRECT_IO (cached)",
				Checks: "open enters cached io mode (fuse_file_cached_io_open returns 0, iocachectr 0 -> 1, FUSE_I_CACHE_IO_MODE set), close leaves it (iocachectr -> 0)",
			},
			Run: iomodeCachedOpen,
		},
	}
}

func odirectRoundtrip(t *scenario.T) {
	ps := t.Probes("fentry/fuse_direct_write_iter")
	m := t.FUSE(fileOf("/data", 64<<10, fuse.OpenPolicy{DirectIO: true}, fuse.Capabilities{}))
	f := openFile(t, m.Path("data"), os.O_RDWR|unix.O_DIRECT)
	ps.Watch(f)
	buf := alignedBuf(t, 16<<10, 0x5a)
	ev := ps.Record(func() { pwriteFull(t, f, buf, 8<<10) })

	back := preadFull(t, f, alignedBuf(t, 16<<10, 0), 8<<10)
	sameBytes(t, "O_DIRECT read back", back, buf)
	content, err := m.FileContent("/data")
	t.Check(err, "server content")
	sameBytes(t, "server copy of the written range", content[8<<10:24<<10], buf)

	enters := ev.Of(probe.KindWriteEnter).Where(func(e probe.Event) bool {
		return e.Func() == probe.FuncFuseDirectWriteIter
	})
	if len(enters) != 1 {
		t.Fatalf("fuse_direct_write_iter entered %d times for the inode, want 1\n%s", len(enters), ev)
	}
	if enters[0].A0 != 8<<10 || enters[0].A1 != 16<<10 {
		t.Errorf("fuse_direct_write_iter saw pos %d count %d, want 8192 16384", enters[0].A0, enters[0].A1)
	}
	t.Logf("fuse_direct_write_iter: %s", enters[0])
}

func iomodeCachedOpen(t *scenario.T) {
	ps := t.Probes("fexit/fuse_file_cached_io_open")
	m := t.FUSE(fileOf("/cached", 8<<10, fuse.OpenPolicy{}, fuse.Capabilities{}))
	path := m.Path("cached")
	ps.WatchPath(path)
	var f *os.File
	ev := ps.Record(func() {
		var err error
		f, err = os.OpenFile(path, os.O_RDWR, 0)
		t.Check(err, "open %s", path)
		t.Check(f.Close(), "close")
	})
	opens := ev.Of(probe.KindCachedIOOpenExit)
	if len(opens) != 1 {
		t.Fatalf("fuse_file_cached_io_open returned %d times, want 1\n%s", len(opens), ev)
	}
	o := opens[0]
	if o.Ret != 0 || o.Flags&probe.FlagCtrValid == 0 || o.CtrBefore != 0 || o.CtrAfter != 1 || o.Flags&probe.FlagCacheIOAfter == 0 {
		t.Fatalf("cached open: ret %d, iocachectr %d -> %d, cache-io bit after %v; want 0, 0 -> 1, set\n%s",
			o.Ret, o.CtrBefore, o.CtrAfter, o.Flags&probe.FlagCacheIOAfter != 0, ev)
	}
	rel, ok := ev.Last(probe.KindFileIOReleaseExit)
	if !ok || rel.Flags&probe.FlagCtrValid == 0 || rel.CtrAfter != 0 || rel.Flags&probe.FlagCacheIOAfter != 0 {
		t.Fatalf("release did not leave cached io mode (iocachectr -> 0, bit clear): %v\n%s", rel, ev)
	}
	if err := ev.CheckOrder(probe.KindCachedIOOpenExit, probe.KindFileIOReleaseExit); err != nil {
		t.Fatalf("io-mode order: %v\n%s", err, ev)
	}
	t.Logf("open: %s", o)
	t.Logf("release: %s", rel)
}
