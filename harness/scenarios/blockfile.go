package scenarios

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"dioharness/harness/filestate"
	"dioharness/harness/scenario"
)

// Files on the block filesystems (ext4, XFS): written by O_DIRECT with
// known content, opened twice, shaped (holes, preallocation) and read
// back; their page-cache residency and extent map come from
// harness/filestate.

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
// cache (filestate.Resident).
func resident(t *scenario.T, f *os.File, off int64, n int) filestate.Pages {
	r, err := filestate.Resident(f, off, n)
	t.Check(err, "page-cache residency of %s", f.Name())
	return r
}

// fiemap returns the extents of [off, off+n) after syncing the file.
func (bf *blockFile) fiemap(t *scenario.T, off, n int64) []filestate.Extent {
	exts, err := filestate.Extents(bf.Direct, off, n)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return exts
}

// mapState says how [off, off+n) is mapped: "hole", "unwritten",
// "written" or "mixed".
func (bf *blockFile) mapState(t *scenario.T, off, n int64) string {
	return filestate.MapState(bf.fiemap(t, off, n), off, n)
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
	d := t.PlanDisk(disk)
	t.Check(unix.Unmount(mnt, 0), "unmount %s for remount", mnt)
	t.Check(unix.Mount(d.Device, mnt, d.FSType, 0, opts), "mount %s again", mnt)
}
