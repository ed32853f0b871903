package fuse

import (
	"syscall"
)

// The handlers of every opcode but INIT and DESTROY (ops_init.go): they
// decode the request, ask the server's fileSystem and encode its answer,
// whichever fileSystem it is.

// maxReplyData bounds READ and READDIR reply sizes so a malformed size
// field cannot make the server allocate without limit.
const maxReplyData = 64 << 20

// dirOpenMask are the FOPEN_* bits a rule may set on an OPENDIR reply; the
// file-only bits (direct I/O, passthrough...) make no sense for directories.
const dirOpenMask = FopenKeepCache | FopenCacheDir | FopenNonseekable | FopenStream

// undo adds f to what runs if the reply carries an error or never reaches
// the kernel.
func (r *request) undo(f func()) {
	prev := r.onError
	r.onError = func() {
		if prev != nil {
			prev()
		}
		f()
	}
}

// callerOf is who sent r.
func callerOf(r *request) caller { return caller{uid: r.hdr.UID, gid: r.hdr.GID} }

// entryReply appends fuse_entry_out (compat size for minor < 9); the
// reference it gives the kernel is dropped again if the reply is never
// delivered.
func (s *Server) entryReply(r *request, e entry) {
	r.undo(func() { s.fs.forget(e.id, 1) })
	entryT, attrT := s.cfg.timeouts()
	r.out.entryOut(e.id, e.gen, entryT, attrT, &e.attr)
	if s.minor() < 9 {
		r.out.b = r.out.b[:outHeaderSize+compatEntryOutSize]
	}
}

// attrReply appends fuse_attr_out (compat size for minor < 9).
func (s *Server) attrReply(r *request, a *attr) {
	_, attrT := s.cfg.timeouts()
	r.out.attrOut(attrT, a)
	if s.minor() < 9 {
		r.out.b = r.out.b[:outHeaderSize+compatAttrOutSize]
	}
}

// openFlags resolves the open rules for an open of handle fh and gives
// it what they ask for: it returns the reply's FOPEN_* flags and, for a
// passthrough open, the backing id.
func (s *Server) openFlags(fh uint64, info OpenInfo) (uint32, int32, error) {
	pol := s.rules.resolve(info)
	flags := pol.Flags()
	if info.Dir {
		return flags & dirOpenMask, 0, nil
	}
	pt, ok := s.fs.(passthroughFS)
	switch {
	case !ok:
		return flags &^ FopenPassthrough, 0, nil
	case !pol.Passthrough:
		return flags, 0, nil
	}
	id, err := pt.attach(fh, info.Path, pol)
	if err != nil {
		s.logf("passthrough open %s: %v", info.Path, err)
		return 0, 0, Errno(syscall.EIO)
	}
	return flags, id, nil
}

// openReply answers an OPEN or OPENDIR of handle fh.
func (s *Server) openReply(r *request, fh uint64, info OpenInfo) error {
	flags, bid, err := s.openFlags(fh, info)
	if err != nil {
		s.fs.release(fh)
		return err
	}
	r.replyFlags = flags
	// The kernel never saw this fh if the reply fails: no RELEASE comes.
	r.undo(func() { s.fs.release(fh) })
	r.out.openOut(fh, flags, bid)
	return nil
}

func (s *Server) opLookup(r *request) error {
	d := decoder{b: r.body}
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	e, err := s.fs.lookup(r.hdr.NodeID, name)
	if err != nil {
		return err
	}
	s.entryReply(r, e)
	return nil
}

func (s *Server) opForget(r *request) error {
	d := decoder{b: r.body}
	n := d.u64()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	s.fs.forget(r.hdr.NodeID, n)
	return nil
}

func (s *Server) opBatchForget(r *request) error {
	d := decoder{b: r.body}
	count := d.u32()
	d.skip(4)
	for i := uint32(0); i < count && d.err == nil; i++ {
		id, n := d.u64(), d.u64()
		if d.err == nil {
			s.fs.forget(id, n)
		}
	}
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	s.recorder.annotate(r.seq, func(rec *Record) { rec.Size = count })
	return nil
}

func (s *Server) opGetattr(r *request) error {
	a, err := s.fs.getattr(r.hdr.NodeID)
	if err != nil {
		return err
	}
	s.attrReply(r, &a)
	return nil
}

func (s *Server) opSetattr(r *request) error {
	d := decoder{b: r.body}
	in := decodeSetattrIn(&d)
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	a, err := s.fs.setattr(r.hdr.NodeID, in)
	if err != nil {
		return err
	}
	s.attrReply(r, &a)
	return nil
}

func (s *Server) opMknod(r *request) error {
	d := decoder{b: r.body}
	mode, rdev := d.u32(), d.u32()
	if s.minor() >= 12 {
		d.skip(8) // umask, padding
	}
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	e, err := s.fs.mknod(r.hdr.NodeID, name, mode, rdev, callerOf(r))
	if err != nil {
		return err
	}
	s.entryReply(r, e)
	return nil
}

func (s *Server) opMkdir(r *request) error {
	d := decoder{b: r.body}
	mode := d.u32()
	d.skip(4) // umask
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	e, err := s.fs.mkdir(r.hdr.NodeID, name, mode, callerOf(r))
	if err != nil {
		return err
	}
	s.entryReply(r, e)
	return nil
}

func (s *Server) opUnlink(r *request) error { return s.remove(r, false) }
func (s *Server) opRmdir(r *request) error  { return s.remove(r, true) }

func (s *Server) remove(r *request, dir bool) error {
	d := decoder{b: r.body}
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	return s.fs.remove(r.hdr.NodeID, name, dir)
}

func (s *Server) opRename(r *request) error {
	d := decoder{b: r.body}
	newDir := d.u64()
	return s.rename(r, &d, newDir, 0)
}

func (s *Server) opRename2(r *request) error {
	d := decoder{b: r.body}
	newDir := d.u64()
	flags := d.u32()
	d.skip(4)
	return s.rename(r, &d, newDir, flags)
}

func (s *Server) rename(r *request, d *decoder, newDir uint64, flags uint32) error {
	oldName := d.name()
	newName := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	s.recorder.annotate(r.seq, func(rec *Record) { rec.Flags = flags })
	return s.fs.rename(r.hdr.NodeID, oldName, newDir, newName, flags)
}

func (s *Server) opOpen(r *request) error {
	d := decoder{b: r.body}
	oflags := d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	fh, err := s.fs.open(r.hdr.NodeID, oflags, false)
	if err != nil {
		return err
	}
	return s.openReply(r, fh, OpenInfo{Path: r.path, NodeID: r.hdr.NodeID, Flags: oflags, PID: r.hdr.PID})
}

func (s *Server) opCreate(r *request) error {
	d := decoder{b: r.body}
	oflags, mode := d.u32(), d.u32()
	if s.minor() >= 12 {
		d.skip(8) // umask, open_flags
	}
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	e, fh, err := s.fs.create(r.hdr.NodeID, name, oflags, mode, callerOf(r))
	if err != nil {
		return err
	}
	flags, bid, err := s.openFlags(fh, OpenInfo{Path: r.path, NodeID: e.id, Flags: oflags, Create: true, PID: r.hdr.PID})
	if err != nil {
		s.fs.release(fh)
		s.fs.forget(e.id, 1)
		return err
	}
	r.replyFlags = flags
	s.entryReply(r, e)
	r.undo(func() { s.fs.release(fh) })
	r.out.openOut(fh, flags, bid)
	return nil
}

func (s *Server) opRead(r *request) error {
	d := decoder{b: r.body}
	fh, off, size := d.u64(), d.u64(), d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	if size > maxReplyData {
		return Errno(syscall.EINVAL)
	}
	start := len(r.out.b)
	need := start + int(size)
	if cap(r.out.b) < need {
		nb := make([]byte, start, need)
		copy(nb, r.out.b)
		r.out.b = nb
	}
	r.out.b = r.out.b[:need]
	c, err := s.fs.read(r.hdr.NodeID, fh, int64(off), r.out.b[start:need])
	if err != nil {
		return err
	}
	r.out.b = r.out.b[:start+c]
	return nil
}

func (s *Server) opWrite(r *request) error {
	d := decoder{b: r.body}
	fh, off, size := d.u64(), d.u64(), d.u32()
	if s.minor() >= 9 {
		d.skip(4 + 8 + 4 + 4) // write_flags, lock_owner, flags, padding
	} else {
		d.skip(4) // write_flags
	}
	data := d.bytes(int(size))
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	c, err := s.fs.write(r.hdr.NodeID, fh, int64(off), data)
	if err != nil {
		return err
	}
	r.out.u32(uint32(c))
	r.out.u32(0)
	return nil
}

func (s *Server) opFlush(r *request) error {
	if len(r.body) < flushInSize {
		return Errno(syscall.EIO)
	}
	d := decoder{b: r.body}
	return s.fs.flush(r.hdr.NodeID, d.u64())
}

// opFsync answers FSYNC and FSYNCDIR.
func (s *Server) opFsync(r *request) error {
	if len(r.body) < fsyncInSize {
		return Errno(syscall.EIO)
	}
	d := decoder{b: r.body}
	fh, flags := d.u64(), d.u32()
	return s.fs.fsync(r.hdr.NodeID, fh, flags&1 != 0) // FUSE_FSYNC_FDATASYNC
}

// opRelease answers RELEASE and RELEASEDIR.
func (s *Server) opRelease(r *request) error {
	d := decoder{b: r.body}
	fh := d.u64()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	s.fs.release(fh)
	return nil
}

func (s *Server) opFallocate(r *request) error {
	d := decoder{b: r.body}
	fh, off, length, mode := d.u64(), d.u64(), d.u64(), d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	return s.fs.fallocate(r.hdr.NodeID, fh, mode, int64(off), int64(length))
}

func (s *Server) opLseek(r *request) error {
	d := decoder{b: r.body}
	fh, off, whence := d.u64(), d.u64(), d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	pos, err := s.fs.lseek(r.hdr.NodeID, fh, int64(off), whence)
	if err != nil {
		return err
	}
	r.out.u64(uint64(pos))
	return nil
}

func (s *Server) opOpendir(r *request) error {
	d := decoder{b: r.body}
	oflags := d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	fh, err := s.fs.open(r.hdr.NodeID, oflags, true)
	if err != nil {
		return err
	}
	return s.openReply(r, fh, OpenInfo{Path: r.path, NodeID: r.hdr.NodeID, Flags: oflags, Dir: true, PID: r.hdr.PID})
}

func (s *Server) opReaddir(r *request) error { return s.readdir(r, false) }

func (s *Server) opReaddirplus(r *request) error { return s.readdir(r, true) }

// readdir answers READDIR and READDIRPLUS (plusFS). An entry's off is
// its index + 1, the offset to resume after it.
func (s *Server) readdir(r *request, plus bool) error {
	d := decoder{b: r.body}
	fh, off, size := d.u64(), d.u64(), d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	entries, err := s.fs.entries(fh, off)
	if err != nil {
		return err
	}
	size = min(size, maxReplyData)
	entryT, attrT := s.cfg.timeouts()
	used := 0
	for i := off; i < uint64(len(entries)); i++ {
		e := entries[i]
		rec := direntSize + len(e.name)
		if plus {
			rec += entryOutSize
		}
		padded := (rec + 7) &^ 7
		if used+padded > int(size) {
			break
		}
		if plus {
			var a attr
			ok := false
			if e.name != "." && e.name != ".." {
				// The kernel links (and so references) every
				// non-dot entry with a nodeid: count it as a lookup.
				a, ok = s.fs.(plusFS).lookupForPlus(r.hdr.NodeID, e)
			}
			if ok {
				r.out.entryOut(e.ino, 1, entryT, attrT, &a)
			} else {
				// nodeid 0: "no attributes for this entry".
				r.out.zero(entryOutSize)
			}
		}
		r.out.u64(e.ino)
		r.out.u64(i + 1)
		r.out.u32(uint32(len(e.name)))
		r.out.u32(e.typ)
		r.out.b = append(r.out.b, e.name...)
		r.out.zero(padded - rec)
		used += padded
	}
	return nil
}

func (s *Server) opStatfs(r *request) error {
	st, err := s.fs.statfs()
	if err != nil {
		return err
	}
	e := &r.out
	e.u64(st.blocks)
	e.u64(st.bfree)
	e.u64(st.bavail)
	e.u64(st.files)
	e.u64(st.ffree)
	e.u32(st.bsize)
	e.u32(st.namelen)
	e.u32(st.frsize)
	e.u32(0)      // padding
	e.zero(6 * 4) // spare
	if s.minor() < 4 {
		r.out.b = r.out.b[:outHeaderSize+compatStatfsSize]
	}
	return nil
}

func (s *Server) opSymlink(r *request) error {
	d := decoder{b: r.body}
	name, target := d.name(), d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	e, err := s.fs.(posixFS).symlink(r.hdr.NodeID, name, target, callerOf(r))
	if err != nil {
		return err
	}
	s.entryReply(r, e)
	return nil
}

func (s *Server) opReadlink(r *request) error {
	t, err := s.fs.(posixFS).readlink(r.hdr.NodeID)
	if err != nil {
		return err
	}
	r.out.b = append(r.out.b, t...)
	return nil
}

func (s *Server) opLink(r *request) error {
	d := decoder{b: r.body}
	old := d.u64()
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	e, err := s.fs.(posixFS).link(old, r.hdr.NodeID, name)
	if err != nil {
		return err
	}
	s.entryReply(r, e)
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

func (s *Server) opGetxattr(r *request) error {
	d := decoder{b: r.body}
	size := d.u32()
	d.skip(4)
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	return xattrReply(r, size, func(b []byte) (int, error) { return s.fs.(posixFS).getxattr(r.hdr.NodeID, name, b) })
}

func (s *Server) opListxattr(r *request) error {
	d := decoder{b: r.body}
	size := d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	return xattrReply(r, size, func(b []byte) (int, error) { return s.fs.(posixFS).listxattr(r.hdr.NodeID, b) })
}

func (s *Server) opSetxattr(r *request) error {
	d := decoder{b: r.body}
	size, flags := d.u32(), d.u32()
	// FUSE_SETXATTR_EXT is never negotiated: the compat header.
	name := d.name()
	value := d.bytes(int(size))
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	return s.fs.(posixFS).setxattr(r.hdr.NodeID, name, value, int(flags))
}

func (s *Server) opRemovexattr(r *request) error {
	d := decoder{b: r.body}
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	return s.fs.(posixFS).removexattr(r.hdr.NodeID, name)
}
