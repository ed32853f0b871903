package scenarios

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"dioharness/harness/image"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// Helpers for the scenarios on block filesystems (ext4, XFS): files
// with known content written by O_DIRECT, page-cache residency,
// extent maps, and summaries of the probe events of one write call.

// blockFile is a file on a block filesystem opened twice: Direct with
// O_DIRECT and Buffered without, both closed when the scenario ends.
type blockFile struct {
	Path     string
	Direct   *os.File
	Buffered *os.File
	// Block is the filesystem block size (1 KiB on the 256 MiB ext4
	// images, whose mke2fs "small" profile picks it; 4 KiB on XFS).
	Block int
}

// newBlockFile creates name under mnt and, when size > 0, writes size
// bytes of pattern seed with O_DIRECT (an extending write, so the blocks
// are allocated and written). On ext4 that first write also runs
// file_remove_privs on the fresh inode, which sets S_NOSEC: without it
// every ext4 direct write restarts with i_rwsem exclusive. (XFS sets
// S_NOSEC when it sets up an inode without an attr fork.)
func newBlockFile(t *scenario.T, mnt, name string, size int, seed byte) *blockFile {
	path := filepath.Join(mnt, name)
	d := openFile(t, path, os.O_RDWR|os.O_CREATE|os.O_TRUNC|unix.O_DIRECT)
	b := openFile(t, path, os.O_RDWR)
	var st unix.Statfs_t
	t.Check(unix.Fstatfs(int(d.Fd()), &st), "statfs %s", mnt)
	bf := &blockFile{Path: path, Direct: d, Buffered: b, Block: int(st.Bsize)}
	if size > 0 {
		pwriteFull(t, d, alignedBuf(t, size, seed), 0)
	}
	return bf
}

// reopen opens both descriptors again (after a remount).
func (bf *blockFile) reopen(t *scenario.T) {
	bf.Direct = openFile(t, bf.Path, os.O_RDWR|unix.O_DIRECT)
	bf.Buffered = openFile(t, bf.Path, os.O_RDWR)
}

// closeAll closes both descriptors (the cleanup's second Close is harmless).
func (bf *blockFile) closeAll() {
	bf.Direct.Close()
	bf.Buffered.Close()
}

// size is st_size.
func (bf *blockFile) size(t *scenario.T) int64 {
	var st unix.Stat_t
	t.Check(unix.Fstat(int(bf.Direct.Fd()), &st), "fstat %s", bf.Path)
	return st.Size
}

// punch makes [off, off+n) a hole, keeping the size.
func (bf *blockFile) punch(t *scenario.T, off, n int64) {
	t.Check(unix.Fallocate(int(bf.Direct.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n),
		"punch hole [%d,%d) in %s", off, off+n, bf.Path)
}

// prealloc fallocates [off, off+n) (unwritten extents; the size grows
// when the range ends past EOF).
func (bf *blockFile) prealloc(t *scenario.T, off, n int64) {
	t.Check(unix.Fallocate(int(bf.Direct.Fd()), 0, off, n), "fallocate [%d,%d) in %s", off, off+n, bf.Path)
}

// readDirect reads n bytes at off with O_DIRECT (the disk's content once
// the range is not cached dirty).
func (bf *blockFile) readDirect(t *scenario.T, off int64, n int) []byte {
	return preadFull(t, bf.Direct, alignedBuf(t, n, 0), off)
}

// readCached reads n bytes at off through the page cache.
func (bf *blockFile) readCached(t *scenario.T, off int64, n int) []byte {
	return preadFull(t, bf.Buffered, make([]byte, n), off)
}

// pwritev2 is one pwritev2(2) call with a single buffer.
func pwritev2(f *os.File, b []byte, off int64, flags int) (int, error) {
	return unix.Pwritev2(int(f.Fd()), [][]byte{b}, off, flags)
}

// resident reports, per page of [off, off+n), whether it is in the page
// cache: mincore(2) on a fresh shared read-only mapping, which reports
// page-cache residency of file pages without faulting any in.
func resident(t *scenario.T, f *os.File, off int64, n int) []bool {
	m, err := unix.Mmap(int(f.Fd()), off, n, unix.PROT_READ, unix.MAP_SHARED)
	t.Check(err, "mmap %s for mincore", f.Name())
	defer unix.Munmap(m)
	vec := make([]byte, (n+page-1)/page)
	_, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(n), uintptr(unsafe.Pointer(&vec[0])))
	if e != 0 {
		t.Fatalf("mincore %s: %v", f.Name(), e)
	}
	out := make([]bool, len(vec))
	for i, v := range vec {
		out[i] = v&1 != 0
	}
	return out
}

func residentString(r []bool) string {
	var b strings.Builder
	for _, v := range r {
		if v {
			b.WriteByte('R')
		} else {
			b.WriteByte('.')
		}
	}
	return b.String()
}

// extent is one FIEMAP extent.
type extent struct {
	Logical, Physical, Length uint64
	Flags                     uint32
}

const (
	fsIocFiemap           = 0xC020660B
	fiemapFlagSync        = 0x1
	fiemapExtentUnwritten = 0x800
)

// fiemap returns the extents of [off, off+n) after syncing the file
// (struct fiemap: a 32-byte header, then 56-byte extents).
func (bf *blockFile) fiemap(t *scenario.T, off, n int64) []extent {
	const maxExtents, hdr, ext = 32, 32, 56
	buf := make([]byte, hdr+maxExtents*ext)
	ne := binary.NativeEndian
	ne.PutUint64(buf[0:], uint64(off))     // fm_start
	ne.PutUint64(buf[8:], uint64(n))       // fm_length
	ne.PutUint32(buf[16:], fiemapFlagSync) // fm_flags
	ne.PutUint32(buf[24:], maxExtents)     // fm_extent_count
	_, _, e := unix.Syscall(unix.SYS_IOCTL, bf.Direct.Fd(), fsIocFiemap, uintptr(unsafe.Pointer(&buf[0])))
	runtime.KeepAlive(buf)
	if e != 0 {
		t.Fatalf("FS_IOC_FIEMAP %s: %v", bf.Path, e)
	}
	cnt := min(int(ne.Uint32(buf[20:])), maxExtents) // fm_mapped_extents
	out := make([]extent, 0, cnt)
	for i := 0; i < cnt; i++ {
		p := buf[hdr+i*ext:]
		out = append(out, extent{
			Logical:  ne.Uint64(p[0:]),
			Physical: ne.Uint64(p[8:]),
			Length:   ne.Uint64(p[16:]),
			Flags:    ne.Uint32(p[40:]),
		})
	}
	return out
}

// mapState says how [off, off+n) is mapped: "hole", "unwritten",
// "written" or "mixed".
func (bf *blockFile) mapState(t *scenario.T, off, n int64) string {
	exts := bf.fiemap(t, off, n)
	covered := uint64(0)
	unwritten, written := false, false
	for _, e := range exts {
		lo, hi := max(e.Logical, uint64(off)), min(e.Logical+e.Length, uint64(off+n))
		if hi <= lo {
			continue
		}
		covered += hi - lo
		if e.Flags&fiemapExtentUnwritten != 0 {
			unwritten = true
		} else {
			written = true
		}
	}
	switch {
	case covered == 0:
		return "hole"
	case covered < uint64(n) || (unwritten && written):
		return "mixed"
	case unwritten:
		return "unwritten"
	}
	return "written"
}

func (bf *blockFile) wantMap(t *scenario.T, off, n int64, want string) {
	if got := bf.mapState(t, off, n); got != want {
		t.Fatalf("%s: range [%d,%d) is %s, want %s (extents %+v)", bf.Path, off, off+n, got, want, bf.fiemap(t, off, n))
	}
}

// expectContent drops the caches and checks the whole file read with
// O_DIRECT against want.
func (bf *blockFile) expectContent(t *scenario.T, what string, want []byte) {
	t.DropCaches()
	if sz := bf.size(t); sz != int64(len(want)) {
		t.Fatalf("%s: file size %d, want %d", what, sz, len(want))
	}
	got := bf.readDirect(t, 0, roundUp(len(want), page))
	sameBytes(t, what, got[:min(len(got), len(want))], want)
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// ---------------------------------------------------------------------
// Probe summaries.

// lockKinds are the i_rwsem events.
var lockKinds = []probe.Kind{
	probe.KindLockShared, probe.KindLockExclusive, probe.KindLockTryFailed,
	probe.KindLockUpgraded, probe.KindUnlockShared, probe.KindUnlockExclusive,
	probe.KindLockDowngrade,
}

// lockTrace renders the i_rwsem events compactly: S=shared, X=exclusive,
// ^=upgraded (exclusive after shared in one call), v=downgrade,
// s/x=unlock shared/exclusive, a "t" suffix for trylocks and "!" for a
// failed trylock.
func lockTrace(ev probe.Events) string {
	var parts []string
	for _, e := range ev.Of(lockKinds...) {
		var s string
		switch e.Kind {
		case probe.KindLockShared:
			s = "S"
		case probe.KindLockExclusive:
			s = "X"
		case probe.KindLockTryFailed:
			s = "!"
		case probe.KindLockUpgraded:
			s = "^"
		case probe.KindUnlockShared:
			s = "s"
		case probe.KindUnlockExclusive:
			s = "x"
		case probe.KindLockDowngrade:
			s = "v"
		}
		if e.Flags.Has(probe.FlagTrylock) {
			s += "t"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// wantLocks fails unless the lock trace of ev is exactly want.
func wantLocks(t *scenario.T, what string, ev probe.Events, want string) {
	if got := lockTrace(ev); got != want {
		t.Fatalf("%s: i_rwsem trace %q, want %q\n%s", what, got, want, ev)
	}
}

// IOMAP_DIO_* flags (include/linux/iomap.h) as dio_flags of iomap_dio_rw_begin.
const (
	dioForceWait     = 1 << 0
	dioOverwriteOnly = 1 << 1
)

// dioBegins returns the iomap_dio_rw_begin events.
func dioBegins(ev probe.Events) probe.Events { return ev.Of(probe.KindDIOBegin) }

// oneDIO checks exactly one iomap direct write with the given dio_flags
// that completed with ret.
func oneDIO(t *scenario.T, what string, ev probe.Events, pos, count int64, flags uint32, ret int64) {
	b := dioBegins(ev)
	c := ev.Of(probe.KindDIOComplete)
	if len(b) != 1 || len(c) != 1 {
		t.Fatalf("%s: %d iomap_dio_rw_begin and %d iomap_dio_complete, want 1 each\n%s", what, len(b), len(c), ev)
	}
	if int64(b[0].A0) != pos || int64(b[0].A1) != count || b[0].Aux != flags {
		t.Fatalf("%s: iomap_dio_rw_begin %s, want pos=%d count=%d dio_flags=%#x\n%s", what, b[0], pos, count, flags, ev)
	}
	if c[0].Ret != ret {
		t.Fatalf("%s: iomap_dio_complete %s, want ret=%d\n%s", what, c[0], ret, ev)
	}
}

// noBuffered fails if the write went through a buffered path.
func noBuffered(t *scenario.T, what string, ev probe.Events) {
	if bw := ev.Of(probe.KindBufferedWrite, probe.KindExt4WriteBegin, probe.KindDIOInvalidateFail); len(bw) > 0 {
		t.Fatalf("%s: unexpected buffered fallback\n%s", what, ev)
	}
}

// writeExit returns the (single) exit event of the write path fn.
func writeExit(t *scenario.T, what string, ev probe.Events, fn probe.Func) probe.Event {
	ex := ev.Of(probe.KindWriteExit).Where(func(e probe.Event) bool { return e.Func() == fn })
	if len(ex) != 1 {
		t.Fatalf("%s: %d exits of %s, want 1\n%s", what, len(ex), fn, ev)
	}
	return ex[0]
}

// wantExit checks the write call's return value.
func wantExit(t *scenario.T, what string, ev probe.Events, fn probe.Func, ret int64) probe.Event {
	e := writeExit(t, what, ev, fn)
	if e.Ret != ret {
		t.Fatalf("%s: %s returned %d, want %d\n%s", what, fn, e.Ret, ret, ev)
	}
	return e
}

// preInvalidation returns the exits of invalidate_inode_pages2_range
// called from kiocb_invalidate_pages (the pre-write invalidation).
func preInvalidation(ev probe.Events) probe.Events {
	return ev.Of(probe.KindInvalidateExit).Where(func(e probe.Event) bool {
		return e.Within.Has(probe.FuncKiocbInvalidatePages)
	})
}

// ---------------------------------------------------------------------
// Concurrency.

// mapWriter stores the same bytes into a MAP_SHARED mapping in a loop on
// its own OS thread, re-dirtying the pages whenever writeback cleans
// them. It always finishes with one complete copy, so after stop the
// mapped pages hold exactly src whatever interleaved with it.
type mapWriter struct {
	dst, src []byte
	stopping atomic.Bool
	rounds   atomic.Int64
	done     chan struct{}
}

func startMapWriter(dst, src []byte) *mapWriter {
	w := &mapWriter{dst: dst, src: src, done: make(chan struct{})}
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(w.done)
		for !w.stopping.Load() {
			copy(w.dst, w.src)
			w.rounds.Add(1)
		}
		copy(w.dst, w.src)
	}()
	return w
}

// started waits until the writer completed a round.
func (w *mapWriter) started(t *scenario.T) {
	for w.rounds.Load() == 0 {
		select {
		case <-t.Context().Done():
			t.Fatalf("map writer did not start")
		default:
			runtime.Gosched()
		}
	}
}

func (w *mapWriter) stop() int64 {
	w.stopping.Store(true)
	<-w.done
	return w.rounds.Load()
}

// bounded runs fn on its own goroutine and fails the scenario if it does
// not return within d: a deadlock shows as a failure naming what, not as
// a hung run. fn must not call t.Fatalf (it runs on another goroutine);
// it reports through its closure. The goroutine of a call that hangs is
// abandoned.
func bounded(t *scenario.T, what string, d time.Duration, fn func()) time.Duration {
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s did not return within %s: deadlock?", what, d)
	case <-t.Context().Done():
		t.Fatalf("%s did not return before the scenario timeout: deadlock?", what)
	}
	return time.Since(start)
}

func kib(n int64) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// remount unmounts the scenario's disk and mounts it again at mnt, so
// every inode is read back from disk (in-core flags such as S_NOSEC are
// gone). Every descriptor and mapping of the filesystem must be closed.
func remount(t *scenario.T, mnt, disk, opts string) {
	idx := -1
	for i, d := range image.Disks {
		if d.Name == disk {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("remount: unknown disk %q", disk)
	}
	t.Check(unix.Unmount(mnt, 0), "unmount %s for remount", mnt)
	t.Check(unix.Mount(image.DevicePath(idx), mnt, image.Disks[idx].FSType, 0, opts), "mount %s again", mnt)
}

// ---------------------------------------------------------------------
// One direct write, asserted by data, extent map and probes.

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
	cc, ccErr := newCallCounter(t, "inode_dio_wait")
	waits := -1
	ev := ps.Record(func() {
		if cc == nil {
			pwriteFull(t, bf.Direct, buf, c.off)
			return
		}
		waits = cc.count(t, func() { pwriteFull(t, bf.Direct, buf, c.off) })
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

// ---------------------------------------------------------------------
// Calls the probe layer has no probe for.

// callCounter counts calls of one kernel function made by one thread,
// with a tracefs kprobe event enabled in a private tracing instance (the
// probe layer has no program for it, e.g. inode_dio_wait).
type callCounter struct {
	fn, event, inst string
}

const tracefs = "/sys/kernel/tracing"

// newCallCounter defines the kprobe event; it returns nil with the
// reason when tracefs or kprobe events are unavailable. The event and
// the instance are removed when the scenario ends.
func newCallCounter(t *scenario.T, fn string) (*callCounter, error) {
	c := &callCounter{fn: fn, event: "dioharness_" + fn}
	def := fmt.Sprintf("p:dioharness/%s %s\n", c.event, fn)
	f, err := os.OpenFile(filepath.Join(tracefs, "kprobe_events"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("kprobe events: %w", err)
	}
	_, err = f.WriteString(def)
	f.Close()
	if err != nil && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("define kprobe on %s: %w", fn, err)
	}
	c.inst = filepath.Join(tracefs, "instances", fmt.Sprintf("dioharness-%d", os.Getpid()))
	if err := os.Mkdir(c.inst, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("tracing instance: %w", err)
	}
	t.Cleanup(func() {
		os.Remove(c.inst)
		if f, err := os.OpenFile(filepath.Join(tracefs, "kprobe_events"), os.O_WRONLY|os.O_APPEND, 0); err == nil {
			f.WriteString("-:dioharness/" + c.event + "\n")
			f.Close()
		}
	})
	return c, nil
}

// count runs fn on this goroutine's OS thread and returns how many
// times that thread called the function meanwhile.
func (c *callCounter) count(t *scenario.T, fn func()) int {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ev := filepath.Join(c.inst, "events", "dioharness", c.event)
	write := func(path, s string) {
		t.Check(os.WriteFile(path, []byte(s), 0), "write %s", path)
	}
	write(filepath.Join(c.inst, "trace"), "")
	write(filepath.Join(ev, "filter"), fmt.Sprintf("common_pid == %d", unix.Gettid()))
	write(filepath.Join(ev, "enable"), "1")
	fn()
	write(filepath.Join(ev, "enable"), "0")
	out, err := os.ReadFile(filepath.Join(c.inst, "trace"))
	t.Check(err, "read trace of %s", c.inst)
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(l, "#") && strings.Contains(l, c.event+":") {
			n++
		}
	}
	return n
}
