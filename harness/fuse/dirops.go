package fuse

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// dirHandlers serve a Config.Source directory: the opcodes of handlers
// over dirFS, plus SYMLINK, READLINK, LINK, FSYNCDIR and the xattrs,
// which fstests uses and the in-memory tree does not implement.
var dirHandlers = map[Opcode]handler{
	OpInit:        (*Server).opInit,
	OpDestroy:     (*Server).opDestroy,
	OpLookup:      (*Server).dirLookup,
	OpForget:      (*Server).dirForget,
	OpBatchForget: (*Server).dirBatchForget,
	OpGetattr:     (*Server).dirGetattr,
	OpSetattr:     (*Server).dirSetattr,
	OpMknod:       (*Server).dirMknod,
	OpMkdir:       (*Server).dirMkdir,
	OpSymlink:     (*Server).dirSymlink,
	OpReadlink:    (*Server).dirReadlink,
	OpLink:        (*Server).dirLink,
	OpUnlink:      (*Server).dirUnlink,
	OpRmdir:       (*Server).dirRmdir,
	OpRename:      (*Server).dirRename,
	OpRename2:     (*Server).dirRename2,
	OpOpen:        (*Server).dirOpen,
	OpCreate:      (*Server).dirCreate,
	OpRead:        (*Server).dirRead,
	OpWrite:       (*Server).dirWrite,
	OpFlush:       (*Server).dirFlush,
	OpFsync:       (*Server).dirFsync,
	OpRelease:     (*Server).dirRelease,
	OpOpendir:     (*Server).dirOpendir,
	OpReaddir:     (*Server).dirReaddir,
	OpReleasedir:  (*Server).dirRelease,
	OpFsyncdir:    (*Server).dirFsync,
	OpStatfs:      (*Server).dirStatfs,
	OpFallocate:   (*Server).dirFallocate,
	OpLseek:       (*Server).dirLseek,
	OpGetxattr:    (*Server).dirGetxattr,
	OpListxattr:   (*Server).dirListxattr,
	OpSetxattr:    (*Server).dirSetxattr,
	OpRemovexattr: (*Server).dirRemovexattr,
}

// dirEntryReply replies an entry for node n; if the reply never reaches
// the kernel, the reference the lookup took is dropped again.
func (s *Server) dirEntryReply(r *request, n *dnode, a *attr) {
	r.onError = func() { s.dir.forget(n.id, 1) }
	entry, attrT := s.cfg.timeouts()
	r.out.entryOut(n.id, 1, entry, attrT, a)
	if s.minor() < 9 {
		r.out.b = r.out.b[:outHeaderSize+compatEntryOutSize]
	}
}

func (s *Server) dirLookup(r *request) error {
	d := decoder{b: r.body}
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	n, a, err := s.dir.lookup(r.hdr.NodeID, name)
	if err != nil {
		return err
	}
	s.dirEntryReply(r, n, &a)
	return nil
}

func (s *Server) dirForget(r *request) error {
	d := decoder{b: r.body}
	n := d.u64()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	s.dir.forget(r.hdr.NodeID, n)
	return nil
}

func (s *Server) dirBatchForget(r *request) error {
	d := decoder{b: r.body}
	count := d.u32()
	d.skip(4)
	for i := uint32(0); i < count && d.err == nil; i++ {
		id, n := d.u64(), d.u64()
		if d.err == nil {
			s.dir.forget(id, n)
		}
	}
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	return nil
}

func (s *Server) dirGetattr(r *request) error {
	a, err := s.dir.getattr(r.hdr.NodeID)
	if err != nil {
		return err
	}
	s.attrReply(r, &a)
	return nil
}

func (s *Server) dirSetattr(r *request) error {
	d := decoder{b: r.body}
	in := decodeSetattrIn(&d)
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	a, err := s.dir.setattr(r.hdr.NodeID, in)
	if err != nil {
		return err
	}
	s.attrReply(r, &a)
	return nil
}

func (s *Server) dirMknod(r *request) error {
	d := decoder{b: r.body}
	mode, rdev := d.u32(), d.u32()
	if s.minor() >= 12 {
		d.skip(8) // umask, padding
	}
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	n, a, err := s.dir.create(r.hdr.NodeID, name, r.hdr.UID, r.hdr.GID, func(dirfd int) error {
		return unix.Mknodat(dirfd, name, mode, int(decodeDev(rdev)))
	})
	if err != nil {
		return err
	}
	s.dirEntryReply(r, n, &a)
	return nil
}

func (s *Server) dirMkdir(r *request) error {
	d := decoder{b: r.body}
	mode := d.u32()
	d.skip(4) // umask
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	n, a, err := s.dir.create(r.hdr.NodeID, name, r.hdr.UID, r.hdr.GID, func(dirfd int) error {
		return unix.Mkdirat(dirfd, name, mode&0o7777)
	})
	if err != nil {
		return err
	}
	s.dirEntryReply(r, n, &a)
	return nil
}

func (s *Server) dirSymlink(r *request) error {
	d := decoder{b: r.body}
	name, target := d.name(), d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	n, a, err := s.dir.create(r.hdr.NodeID, name, r.hdr.UID, r.hdr.GID, func(dirfd int) error {
		return unix.Symlinkat(target, dirfd, name)
	})
	if err != nil {
		return err
	}
	s.dirEntryReply(r, n, &a)
	return nil
}

func (s *Server) dirReadlink(r *request) error {
	t, err := s.dir.readlink(r.hdr.NodeID)
	if err != nil {
		return err
	}
	r.out.b = append(r.out.b, t...)
	return nil
}

func (s *Server) dirLink(r *request) error {
	d := decoder{b: r.body}
	old := d.u64()
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	n, a, err := s.dir.link(old, r.hdr.NodeID, name)
	if err != nil {
		return err
	}
	s.dirEntryReply(r, n, &a)
	return nil
}

func (s *Server) dirUnlink(r *request) error { return s.dirRemove(r, false) }
func (s *Server) dirRmdir(r *request) error  { return s.dirRemove(r, true) }

func (s *Server) dirRemove(r *request, dir bool) error {
	d := decoder{b: r.body}
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	return s.dir.remove(r.hdr.NodeID, name, dir)
}

func (s *Server) dirRename(r *request) error {
	d := decoder{b: r.body}
	newDir := d.u64()
	return s.dirRenameNames(r, &d, newDir, 0)
}

func (s *Server) dirRename2(r *request) error {
	d := decoder{b: r.body}
	newDir := d.u64()
	flags := d.u32()
	d.skip(4)
	return s.dirRenameNames(r, &d, newDir, flags)
}

func (s *Server) dirRenameNames(r *request, d *decoder, newDir uint64, flags uint32) error {
	oldName, newName := d.name(), d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	return s.dir.rename(r.hdr.NodeID, oldName, newDir, newName, flags)
}

// dirOpenFlags are the FOPEN_* flags the rules give this open.
func (s *Server) dirOpenFlags(r *request, oflags uint32, create bool) uint32 {
	pol := s.rules.resolve(OpenInfo{Path: r.path, NodeID: r.hdr.NodeID, Flags: oflags, Create: create, PID: r.hdr.PID})
	// Passthrough to backing ids is the in-memory tree's business.
	return pol.Flags() &^ FopenPassthrough
}

func (s *Server) dirOpen(r *request) error {
	d := decoder{b: r.body}
	oflags := d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	fh, err := s.dir.open(r.hdr.NodeID, oflags)
	if err != nil {
		return err
	}
	flags := s.dirOpenFlags(r, oflags, false)
	r.replyFlags = flags
	r.onError = func() { s.dir.release(fh) }
	r.out.openOut(fh, flags, 0)
	return nil
}

func (s *Server) dirCreate(r *request) error {
	d := decoder{b: r.body}
	oflags, mode := d.u32(), d.u32()
	if s.minor() >= 12 {
		d.skip(8) // umask, open_flags
	}
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	n, a, fh, err := s.dir.createOpen(r.hdr.NodeID, name, oflags, mode, r.hdr.UID, r.hdr.GID)
	if err != nil {
		return err
	}
	flags := s.dirOpenFlags(r, oflags, true)
	r.replyFlags = flags
	s.dirEntryReply(r, n, &a)
	undo := r.onError
	r.onError = func() {
		undo()
		s.dir.release(fh)
	}
	r.out.openOut(fh, flags, 0)
	return nil
}

func (s *Server) dirHandle(fh uint64) (*dhandle, error) {
	h := s.dir.handle(fh)
	if h == nil {
		return nil, Errno(syscall.EBADF)
	}
	return h, nil
}

func (s *Server) dirRead(r *request) error {
	d := decoder{b: r.body}
	fh, off, size := d.u64(), d.u64(), d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	if size > maxReplyData {
		return Errno(syscall.EINVAL)
	}
	h, err := s.dirHandle(fh)
	if err != nil {
		return err
	}
	start := len(r.out.b)
	if cap(r.out.b) < start+int(size) {
		nb := make([]byte, start, start+int(size))
		copy(nb, r.out.b)
		r.out.b = nb
	}
	buf := r.out.b[start : start+int(size)]
	got := 0
	for got < len(buf) {
		n, err := unix.Pread(h.fd, buf[got:], int64(off)+int64(got))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return toErrno(err)
		}
		if n == 0 {
			break
		}
		got += n
	}
	r.out.b = r.out.b[:start+got]
	return nil
}

func (s *Server) dirWrite(r *request) error {
	d := decoder{b: r.body}
	fh, off, size := d.u64(), d.u64(), d.u32()
	if s.minor() >= 9 {
		d.skip(4 + 8 + 4 + 4) // write_flags, lock_owner, flags, padding
	} else {
		d.skip(4)
	}
	data := d.bytes(int(size))
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	h, err := s.dirHandle(fh)
	if err != nil {
		return err
	}
	done := 0
	for done < len(data) {
		n, err := unix.Pwrite(h.fd, data[done:], int64(off)+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if done > 0 {
				break
			}
			return toErrno(err)
		}
		done += n
	}
	r.out.u32(uint32(done))
	r.out.u32(0)
	return nil
}

func (s *Server) dirFlush(r *request) error {
	if len(r.body) < flushInSize {
		return Errno(syscall.EIO)
	}
	return nil
}

func (s *Server) dirFsync(r *request) error {
	d := decoder{b: r.body}
	fh, flags := d.u64(), d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	h, err := s.dirHandle(fh)
	if err != nil {
		return err
	}
	if flags&1 != 0 { // FUSE_FSYNC_FDATASYNC
		return toErrnoOrNil(unix.Fdatasync(h.fd))
	}
	return toErrnoOrNil(unix.Fsync(h.fd))
}

func (s *Server) dirRelease(r *request) error {
	d := decoder{b: r.body}
	fh := d.u64()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	s.dir.release(fh)
	return nil
}

func (s *Server) dirOpendir(r *request) error {
	d := decoder{b: r.body}
	oflags := d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	fh, err := s.dir.opendir(r.hdr.NodeID)
	if err != nil {
		return err
	}
	flags := s.dirOpenFlags(r, oflags, false) & dirOpenMask
	r.replyFlags = flags
	r.onError = func() { s.dir.release(fh) }
	r.out.openOut(fh, flags, 0)
	return nil
}

// dirReaddir pages through the listing read at offset 0; an entry's
// off is its index + 1, the offset to resume after it.
func (s *Server) dirReaddir(r *request) error {
	d := decoder{b: r.body}
	fh, off, size := d.u64(), d.u64(), d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	h, err := s.dirHandle(fh)
	if err != nil || !h.dir {
		return Errno(syscall.EBADF)
	}
	if off == 0 || h.entries == nil {
		if err := h.listing(); err != nil {
			return toErrno(err)
		}
	}
	size = min(size, maxReplyData)
	used := 0
	for i := off; i < uint64(len(h.entries)); i++ {
		e := h.entries[i]
		rec := direntSize + len(e.name)
		padded := (rec + 7) &^ 7
		if used+padded > int(size) {
			break
		}
		r.out.u64(e.ino)
		r.out.u64(i + 1)
		r.out.u32(uint32(len(e.name)))
		r.out.u32(uint32(e.typ))
		r.out.b = append(r.out.b, e.name...)
		r.out.zero(padded - rec)
		used += padded
	}
	return nil
}

func (s *Server) dirStatfs(r *request) error {
	st, err := s.dir.statfs()
	if err != nil {
		return err
	}
	e := &r.out
	e.u64(st.Blocks)
	e.u64(st.Bfree)
	e.u64(st.Bavail)
	e.u64(st.Files)
	e.u64(st.Ffree)
	e.u32(uint32(st.Bsize))
	e.u32(uint32(st.Namelen))
	e.u32(uint32(st.Frsize))
	e.u32(0)
	e.zero(6 * 4)
	if s.minor() < 4 {
		r.out.b = r.out.b[:outHeaderSize+compatStatfsSize]
	}
	return nil
}

func (s *Server) dirFallocate(r *request) error {
	d := decoder{b: r.body}
	fh, off, length, mode := d.u64(), d.u64(), d.u64(), d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	h, err := s.dirHandle(fh)
	if err != nil {
		return err
	}
	return toErrnoOrNil(unix.Fallocate(h.fd, mode, int64(off), int64(length)))
}

func (s *Server) dirLseek(r *request) error {
	d := decoder{b: r.body}
	fh, off, whence := d.u64(), d.u64(), d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	h, err := s.dirHandle(fh)
	if err != nil {
		return err
	}
	pos, err := unix.Seek(h.fd, int64(off), int(whence))
	if err != nil {
		return toErrno(err)
	}
	r.out.u64(uint64(pos))
	return nil
}

// xattrReply answers GETXATTR and LISTXATTR: with size 0 the size the
// value needs (fuse_getxattr_out), else the value, or ERANGE.
func xattrReply(r *request, size uint32, get func([]byte) (int, error)) error {
	if size == 0 {
		n, err := get(nil)
		if err != nil {
			return toErrno(err)
		}
		r.out.u32(uint32(n))
		r.out.u32(0)
		return nil
	}
	buf := make([]byte, min(size, maxReplyData))
	n, err := get(buf)
	if err != nil {
		return toErrno(err)
	}
	r.out.b = append(r.out.b, buf[:n]...)
	return nil
}

func (s *Server) dirGetxattr(r *request) error {
	d := decoder{b: r.body}
	size := d.u32()
	d.skip(4)
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	p, err := s.dir.xattrPath(r.hdr.NodeID)
	if err != nil {
		return err
	}
	return xattrReply(r, size, func(b []byte) (int, error) { return unix.Getxattr(p, name, b) })
}

func (s *Server) dirListxattr(r *request) error {
	d := decoder{b: r.body}
	size := d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	p, err := s.dir.xattrPath(r.hdr.NodeID)
	if err != nil {
		return err
	}
	return xattrReply(r, size, func(b []byte) (int, error) { return unix.Listxattr(p, b) })
}

func (s *Server) dirSetxattr(r *request) error {
	d := decoder{b: r.body}
	size, flags := d.u32(), d.u32()
	// FUSE_SETXATTR_EXT is never negotiated: the compat header.
	name := d.name()
	value := d.bytes(int(size))
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	p, err := s.dir.xattrPath(r.hdr.NodeID)
	if err != nil {
		return err
	}
	return toErrnoOrNil(unix.Setxattr(p, name, value, int(flags)))
}

func (s *Server) dirRemovexattr(r *request) error {
	d := decoder{b: r.body}
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	p, err := s.dir.xattrPath(r.hdr.NodeID)
	if err != nil {
		return err
	}
	return toErrnoOrNil(unix.Removexattr(p, name))
}
