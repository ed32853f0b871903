package fuse

import (
	"syscall"
)

// maxReplyData bounds READ and READDIR reply sizes so a malformed size
// field cannot make the server allocate without limit.
const maxReplyData = 64 << 20

// dirOpenMask are the FOPEN_* bits a rule may set on an OPENDIR reply; the
// file-only bits (direct I/O, passthrough...) make no sense for directories.
const dirOpenMask = FopenKeepCache | FopenCacheDir | FopenNonseekable | FopenStream

// openFile resolves the policy of an open, registers the backing file for
// passthrough and allocates the handle. It returns the reply flags.
func (s *Server) openFile(r *request, n *node, info OpenInfo) (fh uint64, flags uint32, backingID int32, err error) {
	pol := s.rules.resolve(info)
	flags = pol.Flags()
	h := &handle{node: n}
	if pol.Passthrough {
		b, err := s.attachBacking(n, info.Path, pol)
		if err != nil {
			s.logf("passthrough open %s: %v", info.Path, err)
			return 0, 0, 0, Errno(syscall.EIO)
		}
		h.backing = b
		backingID = b.id
	}
	fh = s.handles.add(h)
	r.replyFlags = flags
	prev := r.onError
	r.onError = func() {
		// The kernel never saw this fh, so no RELEASE will come for it.
		if prev != nil {
			prev()
		}
		s.releaseHandle(fh)
	}
	return fh, flags, backingID, nil
}

// releaseHandle drops an open handle and its uses.
func (s *Server) releaseHandle(fh uint64) {
	h := s.handles.remove(fh)
	if h == nil {
		return
	}
	if h.backing != nil {
		s.detachBacking(h.backing)
	}
	s.store.closeNode(h.node)
}

func (s *Server) opOpen(r *request) error {
	d := decoder{b: r.body}
	oflags := d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	n, err := s.store.openNode(r.hdr.NodeID, false)
	if err != nil {
		return err
	}
	fh, flags, bid, err := s.openFile(r, n, OpenInfo{Path: r.path, NodeID: n.id, Flags: oflags, PID: r.hdr.PID})
	if err != nil {
		s.store.closeNode(n)
		return err
	}
	r.out.openOut(fh, flags, bid)
	return nil
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
	n, a, err := s.store.create(r.hdr.NodeID, name, mode, r.hdr.UID, r.hdr.GID, oflags&syscall.O_EXCL != 0)
	if err != nil {
		return err
	}
	s.undoLookup(r, n)
	fh, flags, bid, err := s.openFile(r, n, OpenInfo{Path: r.path, NodeID: n.id, Flags: oflags, Create: true, PID: r.hdr.PID})
	if err != nil {
		s.store.closeNode(n)
		s.store.forget(n.id, 1)
		r.onError = nil
		return err
	}
	s.entryReply(r, n, &a)
	r.out.openOut(fh, flags, bid)
	return nil
}

func (s *Server) opRead(r *request) error {
	d := decoder{b: r.body}
	d.skip(8) // fh
	off := d.u64()
	size := d.u32()
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
	c, err := s.store.readAt(r.hdr.NodeID, int64(off), r.out.b[start:need])
	if err != nil {
		return err
	}
	r.out.b = r.out.b[:start+c]
	return nil
}

func (s *Server) opWrite(r *request) error {
	d := decoder{b: r.body}
	d.skip(8) // fh
	off := d.u64()
	size := d.u32()
	if s.minor() >= 9 {
		d.skip(4 + 8 + 4 + 4) // write_flags, lock_owner, flags, padding
	} else {
		d.skip(4) // write_flags
	}
	data := d.bytes(int(size))
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	c, err := s.store.writeAt(r.hdr.NodeID, int64(off), data)
	if err != nil {
		return err
	}
	r.out.u32(uint32(c))
	r.out.u32(0)
	return nil
}

func (s *Server) opFlush(r *request) error { return s.expectBody(r, flushInSize) }

func (s *Server) opFsync(r *request) error { return s.expectBody(r, fsyncInSize) }

// expectBody answers success for operations with nothing to do beyond a
// well-formed request.
func (s *Server) expectBody(r *request, n int) error {
	if len(r.body) < n {
		return Errno(syscall.EIO)
	}
	if _, err := s.store.getattr(r.hdr.NodeID); err != nil {
		return err
	}
	return nil
}

func (s *Server) opRelease(r *request) error {
	d := decoder{b: r.body}
	fh := d.u64()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	s.releaseHandle(fh)
	return nil
}

func (s *Server) opFallocate(r *request) error {
	d := decoder{b: r.body}
	d.skip(8) // fh
	off, length, mode := d.u64(), d.u64(), d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	if off > maxFileSize || length > maxFileSize {
		return Errno(syscall.EFBIG)
	}
	return s.store.fallocate(r.hdr.NodeID, mode, int64(off), int64(length))
}

func (s *Server) opLseek(r *request) error {
	d := decoder{b: r.body}
	d.skip(8) // fh
	off, whence := d.u64(), d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	if off > maxFileSize {
		return Errno(syscall.ENXIO)
	}
	pos, err := s.store.lseek(r.hdr.NodeID, int64(off), whence)
	if err != nil {
		return err
	}
	r.out.u64(uint64(pos))
	return nil
}
