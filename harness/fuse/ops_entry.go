package fuse

import (
	"syscall"
)

// entryReply appends fuse_entry_out (compat size for minor < 9).
func (s *Server) entryReply(r *request, n *node, a *attr) {
	entry, attrT := s.cfg.timeouts()
	r.out.entryOut(n.id, n.gen, entry, attrT, a)
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

// undoLookup makes the store forget the kernel reference an entry reply
// would have given, if that reply is never delivered.
func (s *Server) undoLookup(r *request, n *node) {
	r.onError = func() { s.store.forget(n.id, 1) }
}

func (s *Server) opLookup(r *request) error {
	d := decoder{b: r.body}
	name := d.name()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	n, a, err := s.store.lookup(r.hdr.NodeID, name)
	if err != nil {
		return err
	}
	s.undoLookup(r, n)
	s.entryReply(r, n, &a)
	return nil
}

func (s *Server) opGetattr(r *request) error {
	a, err := s.store.getattr(r.hdr.NodeID)
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
	a, err := s.store.setattr(r.hdr.NodeID, in)
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
	n, a, err := s.store.mknod(r.hdr.NodeID, name, mode, rdev, r.hdr.UID, r.hdr.GID)
	if err != nil {
		return err
	}
	s.undoLookup(r, n)
	s.entryReply(r, n, &a)
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
	mode = syscall.S_IFDIR | mode&0o7777
	n, a, err := s.store.mknod(r.hdr.NodeID, name, mode, 0, r.hdr.UID, r.hdr.GID)
	if err != nil {
		return err
	}
	s.undoLookup(r, n)
	s.entryReply(r, n, &a)
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
	return s.store.remove(r.hdr.NodeID, name, dir)
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
	return s.store.rename(r.hdr.NodeID, oldName, newDir, newName, flags)
}
