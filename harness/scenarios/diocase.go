package scenarios

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// One direct write on a block filesystem, asserted by its data, its
// extent map, its probe events and its inode_dio_wait calls.

// blockFS is what differs between the block filesystems in a scenario.
type blockFS struct {
	disk  string     // t.Disk name
	write probe.Func // the filesystem's write_iter
	// lockProbes are the attach points a lock trace needs.
	lockProbes []string
}

var (
	ext4FS = blockFS{disk: "ext4", write: probe.FuncExt4FileWriteIter, lockProbes: []string{
		"fentry/ext4_file_write_iter", "fexit/ext4_file_write_iter",
		"fexit/down_read", "fexit/down_write", "fexit/down_read_trylock", "fexit/down_write_trylock",
		"fentry/up_read", "fentry/up_write",
		"tp_btf/iomap_dio_rw_begin", "tp_btf/iomap_dio_complete",
	}}
	// XFS takes its IOLOCK (the VFS i_rwsem) with the _nested variants
	// under lockdep and demotes with downgrade_write.
	xfsFS = blockFS{disk: "xfs", write: probe.FuncXfsFileWriteIter, lockProbes: []string{
		"fentry/xfs_file_write_iter", "fexit/xfs_file_write_iter",
		"fexit/down_read_nested", "fexit/down_write_nested", "fexit/down_read_trylock", "fexit/down_write_trylock",
		"fentry/up_read", "fentry/up_write", "fentry/downgrade_write",
		"tp_btf/iomap_dio_rw_begin", "tp_btf/iomap_dio_complete",
	}}
)

// dioStep is one expected iomap_dio_rw call: its dio_flags and the
// result iomap_dio_complete reports.
type dioStep struct {
	flags uint32
	ret   int64
}

// dioCase is one O_DIRECT pwrite on a file prepared by O_DIRECT writes.
type dioCase struct {
	fs   blockFS
	file string
	// size bytes of pattern 0x11 are written first (see newBlockFile).
	size int
	// prepare shapes the file (holes, preallocation) and returns the
	// expected content to match.
	prepare func(t *scenario.T, bf *blockFile, want []byte) []byte
	off     int64
	n       int
	// mapBefore/mapAfter: state of the blocks the write touches before
	// and after it ("" = not checked).
	mapBefore, mapAfter string
	// locks is the expected lockTrace of the write call.
	locks string
	// dios are the expected iomap_dio_rw calls, in order.
	dios []dioStep
	// waits is how many times the write calls inode_dio_wait (counted
	// with a tracefs kprobe; logged as unobserved if that fails).
	waits int
	// oAppend writes through a descriptor opened with O_APPEND, passing
	// offset 0: the file system sees a write at 0 until
	// generic_write_checks moves it to EOF, which off must then be.
	oAppend bool
}

// run mounts the case's filesystem, does the write and checks it; it
// returns the events.
func (c dioCase) run(t *scenario.T) probe.Events {
	return c.runIn(t, t.Disk(c.fs.disk, ""))
}

// runIn is run on the filesystem already mounted at mnt.
func (c dioCase) runIn(t *scenario.T, mnt string) probe.Events {
	ps := t.Probes(c.fs.lockProbes...)
	bf := newBlockFile(t, mnt, c.file, c.size, 0x11)
	want := pattern(c.size, 0x11)
	if c.prepare != nil {
		want = c.prepare(t, bf, want)
	}
	blk := int64(bf.Block)
	mapOff := c.off &^ (blk - 1)
	mapLen := int64(roundUp(int(c.off)+c.n, int(blk))) - mapOff
	if c.mapBefore != "" {
		bf.wantMap(t, mapOff, mapLen, c.mapBefore)
	}
	ps.Watch(bf.Direct)
	buf := alignedBuf(t, roundUp(c.n, page), 0x5c)[:c.n]
	what := fmt.Sprintf("%s write of %s at %d", c.fs.disk, kib(int64(c.n)), c.off)
	fd, at := bf.Direct, c.off
	if c.oAppend {
		fd, at = openFile(t, bf.Path, os.O_WRONLY|os.O_APPEND|unix.O_DIRECT), 0
		what = fmt.Sprintf("%s O_APPEND write of %s (lands at %d)", c.fs.disk, kib(int64(c.n)), c.off)
	}
	cc, ccErr := probe.NewCallCounter("inode_dio_wait")
	if cc != nil {
		t.Cleanup(func() {
			if err := cc.Close(); err != nil {
				t.Logf("%v", err)
			}
		})
	}
	waits := -1
	ev := ps.Record(func() {
		if cc == nil {
			pwriteFull(t, fd, buf, at)
			return
		}
		var err error
		waits, err = cc.Count(func() { pwriteFull(t, fd, buf, at) })
		t.Check(err, "count inode_dio_wait calls")
	})

	wantExit(t, what, ev, c.fs.write, int64(c.n))
	wantLocks(t, what, ev, c.locks)
	b, done := dioBegins(ev), ev.Of(probe.KindDIOComplete)
	if len(b) != len(c.dios) || len(done) != len(c.dios) {
		t.Fatalf("%s: %d iomap_dio_rw_begin, %d iomap_dio_complete, want %d each\n%s", what, len(b), len(done), len(c.dios), ev)
	}
	for i, d := range c.dios {
		if int64(b[i].A0) != c.off || int(b[i].A1) != c.n || b[i].Aux != d.flags || done[i].Ret != d.ret {
			t.Fatalf("%s: iomap call %d: %s / %s, want pos=%d count=%d dio_flags=%#x ret=%d\n%s",
				what, i, b[i], done[i], c.off, c.n, d.flags, d.ret, ev)
		}
	}
	noBuffered(t, what, ev)
	switch {
	case cc == nil:
		t.Logf("%s: inode_dio_wait not observable: %v", what, ccErr)
	case waits != c.waits:
		t.Fatalf("%s: inode_dio_wait called %d times, want %d\n%s", what, waits, c.waits, ev)
	}
	t.Logf("%s: i_rwsem %q, dio_flags %v, inode_dio_wait calls %d", what, lockTrace(ev), flagsOf(b), waits)

	if end := int(c.off) + c.n; end > len(want) {
		want = append(want, make([]byte, end-len(want))...)
	}
	copy(want[c.off:], buf)
	if c.mapAfter != "" {
		bf.wantMap(t, mapOff, mapLen, c.mapAfter)
	}
	bf.expectContent(t, what+": file read back with O_DIRECT after drop_caches", want)
	return ev
}

func flagsOf(b probe.Events) []string {
	var out []string
	for _, e := range b {
		out = append(out, fmt.Sprintf("%#x", e.Aux))
	}
	return out
}
