package fuse

// fileSystem is what the one handler set (handlers.go) serves: the
// in-memory tree (memFS) or a directory on a real filesystem (dirFS,
// Config.Source). The handlers decode requests, apply the open rules and
// encode replies; a fileSystem keeps the nodes, the open handles and the
// data. ids are FUSE node ids, fh the handles it gave out for OPEN,
// CREATE and OPENDIR. Errors are Errno values or errors toErrno maps.
type fileSystem interface {
	// path is node id's path ("" when it has none, e.g. unlinked) and
	// childPath that of name in directory parent: what the open rules,
	// faults and gates match.
	path(id uint64) string
	childPath(parent uint64, name string) string

	// lookup, mknod, mkdir and create take a kernel reference on the
	// entry they return; forget drops n of them.
	lookup(parent uint64, name string) (entry, error)
	forget(id, n uint64)
	getattr(id uint64) (attr, error)
	setattr(id uint64, in setattrIn) (attr, error)
	mknod(parent uint64, name string, mode, rdev uint32, c caller) (entry, error)
	mkdir(parent uint64, name string, mode uint32, c caller) (entry, error)
	remove(parent uint64, name string, dir bool) error
	rename(parent uint64, name string, newParent uint64, newName string, flags uint32) error

	// open opens node id (a directory for OPENDIR) and create creates
	// name in parent and opens it; release drops a handle.
	open(id uint64, oflags uint32, dir bool) (fh uint64, err error)
	create(parent uint64, name string, oflags, mode uint32, c caller) (entry, uint64, error)
	release(fh uint64)

	read(id, fh uint64, off int64, dst []byte) (int, error)
	write(id, fh uint64, off int64, src []byte) (int, error)
	flush(id, fh uint64) error
	fsync(id, fh uint64, datasync bool) error
	fallocate(id, fh uint64, mode uint32, off, length int64) error
	lseek(id, fh uint64, off int64, whence uint32) (int64, error)
	// entries is the listing a READDIR at offset off pages through;
	// an entry's offset is its index + 1.
	entries(fh, off uint64) ([]dirEntry, error)
	statfs() (statfsOut, error)
	// close releases everything at server shutdown.
	close()
}

// passthroughFS backs open files with files the kernel reads and writes
// itself (FOPEN_PASSTHROUGH): the in-memory tree does.
type passthroughFS interface {
	// attach gives open handle fh the backing file policy pol asks for
	// (path names the file) and returns its backing id.
	attach(fh uint64, path string, pol OpenPolicy) (int32, error)
}

// plusFS answers READDIRPLUS: the in-memory tree does.
type plusFS interface {
	// lookupForPlus takes a kernel reference on entry e of directory
	// parent if it still exists under that name.
	lookupForPlus(parent uint64, e dirEntry) (attr, bool)
}

// posixFS has what fstests needs beyond the in-memory tree: symbolic and
// hard links, FSYNCDIR and extended attributes. The directory backend
// does.
type posixFS interface {
	symlink(parent uint64, name, target string, c caller) (entry, error)
	readlink(id uint64) (string, error)
	link(id, parent uint64, name string) (entry, error)
	// getxattr and listxattr fill buf, or with a nil buf say the size
	// the value needs.
	getxattr(id uint64, name string, buf []byte) (int, error)
	listxattr(id uint64, buf []byte) (int, error)
	setxattr(id uint64, name string, value []byte, flags int) error
	removexattr(id uint64, name string) error
}

// entry is a node as a LOOKUP-like reply gives it to the kernel.
type entry struct {
	id, gen uint64
	attr    attr
}

// caller is who sent a request that creates a node: its owner.
type caller struct{ uid, gid uint32 }

// dirEntry is one entry of a directory listing.
type dirEntry struct {
	name string
	ino  uint64
	typ  uint32 // DT_* (S_IFMT >> 12)
}

// statfsOut is fuse_kstatfs.
type statfsOut struct {
	blocks, bfree, bavail, files, ffree uint64
	bsize, namelen, frsize              uint32
}

// handlersFor is the handler set for fs: the opcodes every fileSystem
// serves and those of the optional interfaces fs implements. The others
// get ENOSYS, which the kernel remembers.
func handlersFor(fs fileSystem) map[Opcode]handler {
	ops := map[Opcode]handler{
		OpInit:        (*Server).opInit,
		OpDestroy:     (*Server).opDestroy,
		OpLookup:      (*Server).opLookup,
		OpForget:      (*Server).opForget,
		OpBatchForget: (*Server).opBatchForget,
		OpGetattr:     (*Server).opGetattr,
		OpSetattr:     (*Server).opSetattr,
		OpMknod:       (*Server).opMknod,
		OpMkdir:       (*Server).opMkdir,
		OpUnlink:      (*Server).opUnlink,
		OpRmdir:       (*Server).opRmdir,
		OpRename:      (*Server).opRename,
		OpRename2:     (*Server).opRename2,
		OpOpen:        (*Server).opOpen,
		OpCreate:      (*Server).opCreate,
		OpRead:        (*Server).opRead,
		OpWrite:       (*Server).opWrite,
		OpFlush:       (*Server).opFlush,
		OpFsync:       (*Server).opFsync,
		OpRelease:     (*Server).opRelease,
		OpOpendir:     (*Server).opOpendir,
		OpReaddir:     (*Server).opReaddir,
		OpReleasedir:  (*Server).opRelease,
		OpStatfs:      (*Server).opStatfs,
		OpFallocate:   (*Server).opFallocate,
		OpLseek:       (*Server).opLseek,
	}
	if _, ok := fs.(plusFS); ok {
		ops[OpReaddirplus] = (*Server).opReaddirplus
	}
	if _, ok := fs.(posixFS); ok {
		ops[OpSymlink] = (*Server).opSymlink
		ops[OpReadlink] = (*Server).opReadlink
		ops[OpLink] = (*Server).opLink
		ops[OpFsyncdir] = (*Server).opFsync
		ops[OpGetxattr] = (*Server).opGetxattr
		ops[OpListxattr] = (*Server).opListxattr
		ops[OpSetxattr] = (*Server).opSetxattr
		ops[OpRemovexattr] = (*Server).opRemovexattr
	}
	return ops
}
