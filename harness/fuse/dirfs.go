package fuse

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// dirFS serves the files of a directory (Config.Source) instead of the
// in-memory tree: every node is an O_PATH descriptor of a file under it,
// so the data lives on a real filesystem and survives the server, and
// renames, hard links and unlinked open files behave as they do there.
// One node per backing inode (st_dev, st_ino): two names of a file are
// one FUSE inode, as the kernel expects.
type dirFS struct {
	root string

	mu     sync.Mutex
	nodes  map[uint64]*dnode
	byIno  map[devIno]*dnode
	nextID uint64

	handles handleTable[*dhandle]
}

type devIno struct{ dev, ino uint64 }

// dnode is one backing inode the kernel holds references to.
type dnode struct {
	id      uint64
	fd      int // O_PATH
	key     devIno
	lookups uint64
	symlink bool
}

// dhandle is an open file or directory.
type dhandle struct {
	fd  int
	dir bool
	// entries is the directory listing, read when READDIR starts at
	// offset 0.
	entries []dirEntry
}

var (
	_ fileSystem = (*dirFS)(nil)
	_ posixFS    = (*dirFS)(nil)
)

func newDirFS(root string) (*dirFS, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Open(abs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("source directory %s: %w", abs, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("source directory %s: %w", abs, err)
	}
	n := &dnode{id: RootID, fd: fd, key: devIno{st.Dev, st.Ino}, lookups: 1}
	return &dirFS{
		root:   abs,
		nodes:  map[uint64]*dnode{RootID: n},
		byIno:  map[devIno]*dnode{n.key: n},
		nextID: RootID + 1,
	}, nil
}

// node returns the live node id.
func (f *dirFS) node(id uint64) (*dnode, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.nodes[id]
	if !ok {
		return nil, Errno(syscall.ENOENT)
	}
	return n, nil
}

// procPath names a node's inode for the calls that take a path: the
// magic link reopens the O_PATH descriptor's inode.
func procPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// path is the node's path under the source directory, for logs, rules
// and faults ("" when it has none: unlinked).
func (f *dirFS) path(id uint64) string {
	n, err := f.node(id)
	if err != nil {
		return ""
	}
	p, err := os.Readlink(procPath(n.fd))
	if err != nil || strings.HasSuffix(p, " (deleted)") {
		return ""
	}
	rel, err := filepath.Rel(f.root, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return ""
	}
	if rel == "." {
		return "/"
	}
	return "/" + rel
}

func (f *dirFS) childPath(parent uint64, name string) string {
	p := f.path(parent)
	switch p {
	case "":
		return ""
	case "/":
		return "/" + name
	}
	return p + "/" + name
}

// lookup opens name in parent and returns its node with one more kernel
// reference and its attributes.
func (f *dirFS) lookup(parent uint64, name string) (entry, error) {
	p, err := f.node(parent)
	if err != nil {
		return entry{}, err
	}
	fd, err := unix.Openat(p.fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return entry{}, toErrno(err)
	}
	return f.adopt(fd)
}

// adopt registers the O_PATH descriptor fd as a node (or takes another
// reference on the node of the same inode, closing fd).
func (f *dirFS) adopt(fd int) (entry, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(fd, "", &st, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
		unix.Close(fd)
		return entry{}, toErrno(err)
	}
	key := devIno{st.Dev, st.Ino}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n, ok := f.byIno[key]; ok {
		unix.Close(fd)
		n.lookups++
		return entry{id: n.id, gen: 1, attr: attrOfStat(&st)}, nil
	}
	n := &dnode{id: f.nextID, fd: fd, key: key, lookups: 1, symlink: st.Mode&unix.S_IFMT == unix.S_IFLNK}
	f.nextID++
	f.nodes[n.id] = n
	f.byIno[key] = n
	return entry{id: n.id, gen: 1, attr: attrOfStat(&st)}, nil
}

// forget drops count kernel references to id.
func (f *dirFS) forget(id, count uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.nodes[id]
	if !ok || id == RootID {
		return
	}
	n.lookups -= min(count, n.lookups)
	if n.lookups == 0 {
		delete(f.nodes, id)
		delete(f.byIno, n.key)
		unix.Close(n.fd)
	}
}

func (f *dirFS) getattr(id uint64) (attr, error) {
	n, err := f.node(id)
	if err != nil {
		return attr{}, err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(n.fd, "", &st, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return attr{}, toErrno(err)
	}
	return attrOfStat(&st), nil
}

// setattr applies SETATTR; with FATTR_FH the open file is used (ftruncate
// needs a descriptor opened for writing, which the O_PATH one is not).
func (f *dirFS) setattr(id uint64, in setattrIn) (attr, error) {
	n, err := f.node(id)
	if err != nil {
		return attr{}, err
	}
	open := -1
	if in.Valid&fattrFh != 0 {
		if h, ok := f.handles.get(in.Fh); ok {
			open = h.fd
		}
	}
	path := procPath(n.fd)
	if in.Valid&fattrMode != 0 {
		if n.symlink {
			return attr{}, Errno(syscall.EOPNOTSUPP)
		}
		if err := unix.Chmod(path, in.Mode&0o7777); err != nil {
			return attr{}, toErrno(err)
		}
	}
	if in.Valid&(fattrUID|fattrGID) != 0 {
		uid, gid := -1, -1
		if in.Valid&fattrUID != 0 {
			uid = int(in.UID)
		}
		if in.Valid&fattrGID != 0 {
			gid = int(in.GID)
		}
		if err := unix.Fchownat(n.fd, "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return attr{}, toErrno(err)
		}
	}
	if in.Valid&fattrSize != 0 {
		if open >= 0 {
			err = unix.Ftruncate(open, int64(in.Size))
		} else {
			err = unix.Truncate(path, int64(in.Size))
		}
		if err != nil {
			return attr{}, toErrno(err)
		}
	}
	if in.Valid&(fattrAtime|fattrMtime|fattrAtimeNow|fattrMtimeNow) != 0 {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		switch {
		case in.Valid&fattrAtimeNow != 0:
			ts[0].Nsec = unix.UTIME_NOW
		case in.Valid&fattrAtime != 0:
			ts[0] = unix.Timespec{Sec: int64(in.Atime), Nsec: int64(in.Atimensec)}
		}
		switch {
		case in.Valid&fattrMtimeNow != 0:
			ts[1].Nsec = unix.UTIME_NOW
		case in.Valid&fattrMtime != 0:
			ts[1] = unix.Timespec{Sec: int64(in.Mtime), Nsec: int64(in.Mtimensec)}
		}
		if n.symlink {
			err = unix.UtimesNanoAt(n.fd, "", ts, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)
		} else {
			err = unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, 0)
		}
		if err != nil {
			return attr{}, toErrno(err)
		}
	}
	return f.getattr(id)
}

// asCaller runs fn with the thread's filesystem uid and gid set to the
// caller's, so a new file gets the owner (and, without a setgid parent,
// the group) the caller would get on the backing filesystem.
func asCaller(uid, gid uint32, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// setfsuid/setfsgid act on this thread only and report the old
	// value, never an error.
	unix.Setfsgid(int(gid))
	unix.Setfsuid(int(uid))
	defer func() {
		unix.Setfsuid(0)
		unix.Setfsgid(0)
	}()
	return fn()
}

// make makes an entry with fn (run as the caller), then looks it up.
func (f *dirFS) make(parent uint64, name string, c caller, fn func(dirfd int) error) (entry, error) {
	p, err := f.node(parent)
	if err != nil {
		return entry{}, err
	}
	if err := asCaller(c.uid, c.gid, func() error { return fn(p.fd) }); err != nil {
		return entry{}, toErrno(err)
	}
	return f.lookup(parent, name)
}

func (f *dirFS) mknod(parent uint64, name string, mode, rdev uint32, c caller) (entry, error) {
	return f.make(parent, name, c, func(dirfd int) error {
		return unix.Mknodat(dirfd, name, mode, int(decodeDev(rdev)))
	})
}

func (f *dirFS) mkdir(parent uint64, name string, mode uint32, c caller) (entry, error) {
	return f.make(parent, name, c, func(dirfd int) error {
		return unix.Mkdirat(dirfd, name, mode&0o7777)
	})
}

func (f *dirFS) symlink(parent uint64, name, target string, c caller) (entry, error) {
	return f.make(parent, name, c, func(dirfd int) error {
		return unix.Symlinkat(target, dirfd, name)
	})
}

func (f *dirFS) readlink(id uint64) (string, error) {
	n, err := f.node(id)
	if err != nil {
		return "", err
	}
	buf := make([]byte, unix.PathMax)
	c, err := unix.Readlinkat(n.fd, "", buf)
	if err != nil {
		return "", toErrno(err)
	}
	return string(buf[:c]), nil
}

func (f *dirFS) link(id, parent uint64, name string) (entry, error) {
	n, err := f.node(id)
	if err != nil {
		return entry{}, err
	}
	p, err := f.node(parent)
	if err != nil {
		return entry{}, err
	}
	if err := unix.Linkat(n.fd, "", p.fd, name, unix.AT_EMPTY_PATH); err != nil {
		return entry{}, toErrno(err)
	}
	return f.lookup(parent, name)
}

func (f *dirFS) remove(parent uint64, name string, dir bool) error {
	p, err := f.node(parent)
	if err != nil {
		return err
	}
	flags := 0
	if dir {
		flags = unix.AT_REMOVEDIR
	}
	return toErrnoOrNil(unix.Unlinkat(p.fd, name, flags))
}

func (f *dirFS) rename(parent uint64, name string, newParent uint64, newName string, flags uint32) error {
	p, err := f.node(parent)
	if err != nil {
		return err
	}
	np, err := f.node(newParent)
	if err != nil {
		return err
	}
	return toErrnoOrNil(unix.Renameat2(p.fd, name, np.fd, newName, uint(flags)))
}

// openFlags are the backing open's flags for a FUSE open's: O_DIRECT
// goes (the server's buffers are not aligned; the kernel already did
// what direct I/O means on the FUSE side), and so does O_APPEND, because
// every WRITE carries the offset the kernel chose.
func openFlags(oflags uint32) int {
	fl := int(oflags) &^ (unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY | unix.O_DIRECT | unix.O_APPEND)
	return fl | unix.O_CLOEXEC
}

// open opens node id's inode for an OPEN, or as a directory for an
// OPENDIR.
func (f *dirFS) open(id uint64, oflags uint32, dir bool) (uint64, error) {
	n, err := f.node(id)
	if err != nil {
		return 0, err
	}
	fl := openFlags(oflags)
	if dir {
		fl = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	}
	fd, err := unix.Open(procPath(n.fd), fl, 0)
	if err != nil {
		return 0, toErrno(err)
	}
	return f.handles.add(&dhandle{fd: fd, dir: dir}), nil
}

// create is CREATE: open(O_CREAT) in parent as the caller, then the
// lookup of the new entry and a handle on it.
func (f *dirFS) create(parent uint64, name string, oflags, mode uint32, c caller) (entry, uint64, error) {
	p, err := f.node(parent)
	if err != nil {
		return entry{}, 0, err
	}
	var fd int
	err = asCaller(c.uid, c.gid, func() error {
		var err error
		fd, err = unix.Openat(p.fd, name, openFlags(oflags)|unix.O_CREAT|int(oflags)&unix.O_EXCL, mode&0o7777)
		return err
	})
	if err != nil {
		return entry{}, 0, toErrno(err)
	}
	e, err := f.lookup(parent, name)
	if err != nil {
		unix.Close(fd)
		return entry{}, 0, err
	}
	return e, f.handles.add(&dhandle{fd: fd}), nil
}

// openHandle is handle fh, or EBADF.
func (f *dirFS) openHandle(fh uint64) (*dhandle, error) {
	h, ok := f.handles.get(fh)
	if !ok {
		return nil, Errno(syscall.EBADF)
	}
	return h, nil
}

func (f *dirFS) read(_, fh uint64, off int64, buf []byte) (int, error) {
	h, err := f.openHandle(fh)
	if err != nil {
		return 0, err
	}
	got := 0
	for got < len(buf) {
		n, err := unix.Pread(h.fd, buf[got:], off+int64(got))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, toErrno(err)
		}
		if n == 0 {
			break
		}
		got += n
	}
	return got, nil
}

// write returns what it wrote before an error, if anything, as the
// kernel expects of a short write.
func (f *dirFS) write(_, fh uint64, off int64, data []byte) (int, error) {
	h, err := f.openHandle(fh)
	if err != nil {
		return 0, err
	}
	done := 0
	for done < len(data) {
		n, err := unix.Pwrite(h.fd, data[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if done > 0 {
				break
			}
			return 0, toErrno(err)
		}
		done += n
	}
	return done, nil
}

// flush has nothing to do: every WRITE went to the backing file.
func (f *dirFS) flush(_, _ uint64) error { return nil }

func (f *dirFS) fsync(_, fh uint64, datasync bool) error {
	h, err := f.openHandle(fh)
	if err != nil {
		return err
	}
	if datasync {
		return toErrnoOrNil(unix.Fdatasync(h.fd))
	}
	return toErrnoOrNil(unix.Fsync(h.fd))
}

func (f *dirFS) fallocate(_, fh uint64, mode uint32, off, length int64) error {
	h, err := f.openHandle(fh)
	if err != nil {
		return err
	}
	return toErrnoOrNil(unix.Fallocate(h.fd, mode, off, length))
}

func (f *dirFS) lseek(_, fh uint64, off int64, whence uint32) (int64, error) {
	h, err := f.openHandle(fh)
	if err != nil {
		return 0, err
	}
	pos, err := unix.Seek(h.fd, off, int(whence))
	if err != nil {
		return 0, toErrno(err)
	}
	return pos, nil
}

// entries reads the directory of handle fh again at offset 0: the
// listing the following READDIRs page through.
func (f *dirFS) entries(fh, off uint64) ([]dirEntry, error) {
	h, ok := f.handles.get(fh)
	if !ok || !h.dir {
		return nil, Errno(syscall.EBADF)
	}
	if off == 0 || h.entries == nil {
		if err := h.listing(); err != nil {
			return nil, toErrno(err)
		}
	}
	return h.entries, nil
}

func (f *dirFS) release(fh uint64) {
	if h, ok := f.handles.remove(fh); ok {
		unix.Close(h.fd)
	}
}

// listing reads the whole directory of a handle.
func (h *dhandle) listing() error {
	if _, err := unix.Seek(h.fd, 0, 0); err != nil {
		return err
	}
	var out []dirEntry
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(h.fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			break
		}
		out = append(out, parseDirents(buf[:n])...)
	}
	h.entries = out
	return nil
}

// parseDirents decodes struct linux_dirent64 records.
func parseDirents(b []byte) []dirEntry {
	var out []dirEntry
	for len(b) >= 19 {
		reclen := int(ne.Uint16(b[16:]))
		if reclen < 19 || reclen > len(b) {
			break
		}
		name := b[19:reclen]
		if i := strings.IndexByte(string(name), 0); i >= 0 {
			name = name[:i]
		}
		out = append(out, dirEntry{ino: ne.Uint64(b[0:]), typ: uint32(b[18]), name: string(name)})
		b = b[reclen:]
	}
	return out
}

// statfs is the backing filesystem's.
func (f *dirFS) statfs() (statfsOut, error) {
	n, err := f.node(RootID)
	if err != nil {
		return statfsOut{}, err
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(n.fd, &st); err != nil {
		return statfsOut{}, toErrno(err)
	}
	return statfsOut{
		blocks: st.Blocks, bfree: st.Bfree, bavail: st.Bavail, files: st.Files, ffree: st.Ffree,
		bsize: uint32(st.Bsize), namelen: uint32(st.Namelen), frsize: uint32(st.Frsize),
	}, nil
}

// xattrPath is the path the xattr calls use: O_PATH descriptors take no
// f*xattr calls, and a symlink's own attributes cannot be named through
// the magic link.
func (f *dirFS) xattrPath(id uint64) (string, error) {
	n, err := f.node(id)
	if err != nil {
		return "", err
	}
	if n.symlink {
		return "", Errno(syscall.EOPNOTSUPP)
	}
	return procPath(n.fd), nil
}

func (f *dirFS) getxattr(id uint64, name string, buf []byte) (int, error) {
	p, err := f.xattrPath(id)
	if err != nil {
		return 0, err
	}
	return unix.Getxattr(p, name, buf)
}

func (f *dirFS) listxattr(id uint64, buf []byte) (int, error) {
	p, err := f.xattrPath(id)
	if err != nil {
		return 0, err
	}
	return unix.Listxattr(p, buf)
}

func (f *dirFS) setxattr(id uint64, name string, value []byte, flags int) error {
	p, err := f.xattrPath(id)
	if err != nil {
		return err
	}
	return toErrnoOrNil(unix.Setxattr(p, name, value, flags))
}

func (f *dirFS) removexattr(id uint64, name string) error {
	p, err := f.xattrPath(id)
	if err != nil {
		return err
	}
	return toErrnoOrNil(unix.Removexattr(p, name))
}

func (f *dirFS) close() {
	for _, h := range f.handles.removeAll() {
		unix.Close(h.fd)
	}
	f.mu.Lock()
	for id, n := range f.nodes {
		unix.Close(n.fd)
		delete(f.nodes, id)
	}
	f.mu.Unlock()
}

// attrOfStat is the fuse_attr of a backing file: its own inode number,
// size, blocks and times, so stat, du and the inode numbers tests
// compare show the backing filesystem's truth.
func attrOfStat(st *unix.Stat_t) attr {
	return attr{
		Ino:       st.Ino,
		Size:      uint64(st.Size),
		Blocks:    uint64(st.Blocks),
		Atime:     uint64(st.Atim.Sec),
		Mtime:     uint64(st.Mtim.Sec),
		Ctime:     uint64(st.Ctim.Sec),
		Atimensec: uint32(st.Atim.Nsec),
		Mtimensec: uint32(st.Mtim.Nsec),
		Ctimensec: uint32(st.Ctim.Nsec),
		Mode:      st.Mode,
		Nlink:     uint32(st.Nlink),
		UID:       st.Uid,
		GID:       st.Gid,
		Rdev:      encodeDev(st.Rdev),
		Blksize:   uint32(st.Blksize),
	}
}

// encodeDev and decodeDev are the kernel's new_encode_dev and
// new_decode_dev: the 32-bit device numbers of fuse_attr and MKNOD.
func encodeDev(dev uint64) uint32 {
	major, minor := unix.Major(dev), unix.Minor(dev)
	return minor&0xff | major<<8 | (minor&^0xff)<<12
}

func decodeDev(dev uint32) uint64 {
	major := (dev & 0xfff00) >> 8
	minor := dev&0xff | (dev>>12)&0xfff00
	return unix.Mkdev(major, minor)
}

func toErrnoOrNil(err error) error {
	if err == nil {
		return nil
	}
	return toErrno(err)
}
