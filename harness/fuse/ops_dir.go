package fuse

import (
	"syscall"
)

func (s *Server) opOpendir(r *request) error {
	d := decoder{b: r.body}
	oflags := d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	n, err := s.store.openNode(r.hdr.NodeID, true)
	if err != nil {
		return err
	}
	entries, err := s.store.readdir(n.id)
	if err != nil {
		s.store.closeNode(n)
		return err
	}
	pol := s.rules.resolve(OpenInfo{Path: r.path, NodeID: n.id, Flags: oflags, Dir: true, PID: r.hdr.PID})
	flags := pol.Flags() & dirOpenMask
	fh := s.handles.add(&handle{node: n, dir: true, entries: entries})
	r.replyFlags = flags
	r.onError = func() { s.releaseHandle(fh) }
	r.out.openOut(fh, flags, 0)
	return nil
}

func (s *Server) opReleasedir(r *request) error { return s.opRelease(r) }

func (s *Server) opReaddir(r *request) error { return s.readdir(r, false) }

func (s *Server) opReaddirplus(r *request) error { return s.readdir(r, true) }

// readdir answers READDIR and READDIRPLUS from the snapshot taken at
// OPENDIR. An entry's off is its index + 1, the offset to resume after it.
func (s *Server) readdir(r *request, plus bool) error {
	d := decoder{b: r.body}
	fh, off, size := d.u64(), d.u64(), d.u32()
	if d.err != nil {
		return Errno(syscall.EIO)
	}
	h := s.handles.get(fh)
	if h == nil || !h.dir {
		return Errno(syscall.EBADF)
	}
	size = min(size, maxReplyData)
	entryT, attrT := s.cfg.timeouts()
	used := 0
	for i := off; i < uint64(len(h.entries)); i++ {
		e := h.entries[i]
		rec := direntSize + len(e.name)
		if plus {
			rec += entryOutSize
		}
		padded := (rec + 7) &^ 7
		if used+padded > int(size) {
			break
		}
		if plus {
			dot := e.name == "." || e.name == ".."
			var a attr
			ok := false
			if !dot {
				// The kernel links (and so references) every
				// non-dot entry with a nodeid: count it as a lookup.
				a, ok = s.store.lookupForPlus(h.node.id, e)
			}
			if ok {
				r.out.entryOut(e.id, 1, entryT, attrT, &a)
			} else {
				// nodeid 0: "no attributes for this entry".
				r.out.zero(entryOutSize)
			}
		}
		r.out.u64(e.id)
		r.out.u64(i + 1)
		r.out.u32(uint32(len(e.name)))
		r.out.u32((e.mode & syscall.S_IFMT) >> 12)
		r.out.b = append(r.out.b, e.name...)
		r.out.zero(padded - rec)
		used += padded
	}
	return nil
}
