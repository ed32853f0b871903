package fuse

import (
	"os"
	"sort"
	"sync"
	"syscall"
	"time"
)

// node is one inode of the in-memory tree. Each node has at most one parent
// (there is no LINK), so its path is well defined.
type node struct {
	id       uint64
	gen      uint64
	mode     uint32 // S_IF* | permission bits
	rdev     uint32
	uid, gid uint32
	atime    time.Time
	mtime    time.Time
	ctime    time.Time

	// data holds the bytes of a regular file up to size; unwritten
	// ranges read as zeros.
	data sparse
	size int64

	parent   *node
	name     string
	children map[string]*node

	lookups  uint64 // kernel references (LOOKUP, CREATE, READDIRPLUS...)
	opens    int    // open file handles
	unlinked bool

	// backing, when set, is the passthrough backing file and the authority
	// for the content: the kernel reads and writes it directly.
	backing *backing
}

func (n *node) isDir() bool { return n.mode&syscall.S_IFMT == syscall.S_IFDIR }
func (n *node) isReg() bool { return n.mode&syscall.S_IFMT == syscall.S_IFREG }

// store is the in-memory file system. One RWMutex guards the tree, the
// metadata and the data: simple, and the memcpy under it is short next to a
// FUSE round trip.
type store struct {
	mu     sync.RWMutex
	nodes  map[uint64]*node
	nextID uint64
	uid    uint32
	gid    uint32
}

func newStore(uid, gid uint32) *store {
	now := time.Now()
	root := &node{
		id: RootID, gen: 1, mode: syscall.S_IFDIR | 0o777, uid: uid, gid: gid,
		atime: now, mtime: now, ctime: now, children: map[string]*node{},
		lookups: 1,
	}
	return &store{nodes: map[uint64]*node{RootID: root}, nextID: RootID + 1, uid: uid, gid: gid}
}

// get returns the live node with id; the caller holds mu.
func (s *store) get(id uint64) (*node, error) {
	n, ok := s.nodes[id]
	if !ok {
		return nil, Errno(syscall.ENOENT)
	}
	return n, nil
}

// dir returns the live directory with id; the caller holds mu.
func (s *store) dir(id uint64) (*node, error) {
	n, err := s.get(id)
	if err != nil {
		return nil, err
	}
	if !n.isDir() {
		return nil, Errno(syscall.ENOTDIR)
	}
	return n, nil
}

// pathOf returns the absolute path of n, or "" for an unlinked node.
func pathOf(n *node) string {
	if n.id == RootID {
		return "/"
	}
	var segs []string
	for c := n; c != nil && c.id != RootID; c = c.parent {
		if c.unlinked || c.parent == nil {
			return ""
		}
		segs = append(segs, c.name)
	}
	p := ""
	for i := len(segs) - 1; i >= 0; i-- {
		p += "/" + segs[i]
	}
	return p
}

// path returns the path of node id ("" if unknown or unlinked).
func (s *store) path(id uint64) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, ok := s.nodes[id]
	if !ok {
		return ""
	}
	return pathOf(n)
}

// childPath returns the path of name inside directory parent.
func (s *store) childPath(parent uint64, name string) string {
	p := s.path(parent)
	if p == "" {
		return ""
	}
	if p == "/" {
		return "/" + name
	}
	return p + "/" + name
}

// resolve walks an absolute path; the caller holds mu.
func (s *store) resolve(p string) (*node, error) {
	n := s.nodes[RootID]
	for _, seg := range splitPath(cleanPath(p)) {
		if !n.isDir() {
			return nil, Errno(syscall.ENOTDIR)
		}
		c, ok := n.children[seg]
		if !ok {
			return nil, Errno(syscall.ENOENT)
		}
		n = c
	}
	return n, nil
}

// newNode links a fresh node into parent; the caller holds mu and has
// checked that name is free.
func (s *store) newNode(parent *node, name string, mode, rdev, uid, gid uint32) *node {
	now := time.Now()
	n := &node{
		id: s.nextID, gen: 1, mode: mode, rdev: rdev, uid: uid, gid: gid,
		atime: now, mtime: now, ctime: now, parent: parent, name: name,
	}
	s.nextID++
	if n.isDir() {
		n.children = map[string]*node{}
	}
	s.nodes[n.id] = n
	parent.children[name] = n
	parent.mtime, parent.ctime = now, now
	return n
}

// maybeDrop frees an unlinked node nobody references any more.
func (s *store) maybeDrop(n *node) {
	if n.id == RootID || !n.unlinked || n.lookups > 0 || n.opens > 0 {
		return
	}
	delete(s.nodes, n.id)
	n.data = sparse{}
	if n.backing != nil {
		n.backing.file.Close()
		n.backing = nil
	}
}

// attrOf fills a fuse_attr for n; the caller holds mu (read is enough).
func (s *store) attrOf(n *node) attr {
	size := n.size
	mtime, ctime := n.mtime, n.ctime
	if n.backing != nil {
		if fi, err := n.backing.file.Stat(); err == nil {
			size = fi.Size()
			mtime = fi.ModTime()
			if ctime.Before(mtime) {
				ctime = mtime
			}
		}
	}
	nlink := uint32(1)
	if n.isDir() {
		nlink = 2
		for _, c := range n.children {
			if c.isDir() {
				nlink++
			}
		}
	}
	if n.unlinked {
		nlink = 0
	}
	return attr{
		Ino:       n.id,
		Size:      uint64(size),
		Blocks:    uint64((size + 511) / 512),
		Atime:     uint64(n.atime.Unix()),
		Mtime:     uint64(mtime.Unix()),
		Ctime:     uint64(ctime.Unix()),
		Atimensec: uint32(n.atime.Nanosecond()),
		Mtimensec: uint32(mtime.Nanosecond()),
		Ctimensec: uint32(ctime.Nanosecond()),
		Mode:      n.mode,
		Nlink:     nlink,
		UID:       n.uid,
		GID:       n.gid,
		Rdev:      n.rdev,
		Blksize:   pageSize,
	}
}

// lookup finds name in parent and takes a kernel reference on it.
func (s *store) lookup(parent uint64, name string) (*node, attr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.dir(parent)
	if err != nil {
		return nil, attr{}, err
	}
	c, ok := d.children[name]
	if !ok {
		return nil, attr{}, Errno(syscall.ENOENT)
	}
	c.lookups++
	return c, s.attrOf(c), nil
}

// forget drops n kernel references to id.
func (s *store) forget(id, n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	nd, ok := s.nodes[id]
	if !ok || id == RootID {
		return
	}
	if n > nd.lookups {
		n = nd.lookups
	}
	nd.lookups -= n
	s.maybeDrop(nd)
}

// getattr returns the attributes of id.
func (s *store) getattr(id uint64) (attr, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, err := s.get(id)
	if err != nil {
		return attr{}, err
	}
	return s.attrOf(n), nil
}

// setattr applies a SETATTR (mode, owner, size, times).
func (s *store) setattr(id uint64, in setattrIn) (attr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.get(id)
	if err != nil {
		return attr{}, err
	}
	now := time.Now()
	if in.Valid&fattrMode != 0 {
		n.mode = n.mode&syscall.S_IFMT | in.Mode&^uint32(syscall.S_IFMT)
	}
	if in.Valid&fattrUID != 0 {
		n.uid = in.UID
	}
	if in.Valid&fattrGID != 0 {
		n.gid = in.GID
	}
	if in.Valid&fattrSize != 0 {
		if n.isDir() {
			return attr{}, Errno(syscall.EISDIR)
		}
		if err := s.truncate(n, int64(in.Size)); err != nil {
			return attr{}, err
		}
		n.mtime = now
	}
	switch {
	case in.Valid&fattrAtimeNow != 0:
		n.atime = now
	case in.Valid&fattrAtime != 0:
		n.atime = time.Unix(int64(in.Atime), int64(in.Atimensec))
	}
	switch {
	case in.Valid&fattrMtimeNow != 0:
		n.mtime = now
	case in.Valid&fattrMtime != 0:
		n.mtime = time.Unix(int64(in.Mtime), int64(in.Mtimensec))
	}
	if in.Valid&fattrCtime != 0 {
		n.ctime = time.Unix(int64(in.Ctime), int64(in.Ctimensec))
	} else {
		n.ctime = now
	}
	return s.attrOf(n), nil
}

// mknod creates a node of any type (regular files and directories carry
// content; other types are metadata only). It takes a kernel reference.
func (s *store) mknod(parent uint64, name string, mode, rdev, uid, gid uint32) (*node, attr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.dir(parent)
	if err != nil {
		return nil, attr{}, err
	}
	if d.unlinked {
		return nil, attr{}, Errno(syscall.ENOENT)
	}
	if _, ok := d.children[name]; ok {
		return nil, attr{}, Errno(syscall.EEXIST)
	}
	n := s.newNode(d, name, mode, rdev, uid, gid)
	n.lookups++
	return n, s.attrOf(n), nil
}

// create opens or creates a regular file for CREATE: an existing file is
// reused unless excl, mirroring open(2) with O_CREAT.
func (s *store) create(parent uint64, name string, mode, uid, gid uint32, excl bool) (*node, attr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.dir(parent)
	if err != nil {
		return nil, attr{}, err
	}
	if c, ok := d.children[name]; ok {
		if excl {
			return nil, attr{}, Errno(syscall.EEXIST)
		}
		if c.isDir() {
			return nil, attr{}, Errno(syscall.EISDIR)
		}
		c.lookups++
		c.opens++
		return c, s.attrOf(c), nil
	}
	n := s.newNode(d, name, syscall.S_IFREG|mode&^uint32(syscall.S_IFMT), 0, uid, gid)
	n.lookups++
	n.opens++
	return n, s.attrOf(n), nil
}

// unlink removes a non-directory (dir=false) or an empty directory.
func (s *store) remove(parent uint64, name string, dir bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.dir(parent)
	if err != nil {
		return err
	}
	c, ok := d.children[name]
	if !ok {
		return Errno(syscall.ENOENT)
	}
	switch {
	case dir && !c.isDir():
		return Errno(syscall.ENOTDIR)
	case !dir && c.isDir():
		return Errno(syscall.EISDIR)
	case dir && len(c.children) > 0:
		return Errno(syscall.ENOTEMPTY)
	}
	s.detach(c)
	return nil
}

// detach unlinks c from its parent; the caller holds mu.
func (s *store) detach(c *node) {
	now := time.Now()
	delete(c.parent.children, c.name)
	c.parent.mtime, c.parent.ctime = now, now
	c.unlinked = true
	c.ctime = now
	s.maybeDrop(c)
}

// rename implements RENAME and RENAME2 (RENAME_NOREPLACE, RENAME_EXCHANGE).
func (s *store) rename(oldParent uint64, oldName string, newParent uint64, newName string, flags uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if flags&^(renameNoreplace|renameExchange) != 0 || flags == renameNoreplace|renameExchange {
		return Errno(syscall.EINVAL)
	}
	od, err := s.dir(oldParent)
	if err != nil {
		return err
	}
	nd, err := s.dir(newParent)
	if err != nil {
		return err
	}
	src, ok := od.children[oldName]
	if !ok {
		return Errno(syscall.ENOENT)
	}
	// Moving a directory below itself would detach a cycle from the tree.
	for a := nd; a != nil; a = a.parent {
		if a == src {
			return Errno(syscall.EINVAL)
		}
	}
	dst, exists := nd.children[newName]
	now := time.Now()
	if flags&renameExchange != 0 {
		if !exists {
			return Errno(syscall.ENOENT)
		}
		if src.isDir() {
			for a := od; a != nil; a = a.parent {
				if a == dst {
					return Errno(syscall.EINVAL)
				}
			}
		}
		od.children[oldName], nd.children[newName] = dst, src
		src.parent, src.name, dst.parent, dst.name = nd, newName, od, oldName
		od.mtime, nd.mtime, src.ctime, dst.ctime = now, now, now, now
		return nil
	}
	if exists {
		if dst == src {
			return nil
		}
		switch {
		case flags&renameNoreplace != 0:
			return Errno(syscall.EEXIST)
		case dst.isDir() && !src.isDir():
			return Errno(syscall.EISDIR)
		case !dst.isDir() && src.isDir():
			return Errno(syscall.ENOTDIR)
		case dst.isDir() && len(dst.children) > 0:
			return Errno(syscall.ENOTEMPTY)
		}
		s.detach(dst)
	}
	delete(od.children, oldName)
	nd.children[newName] = src
	src.parent, src.name = nd, newName
	od.mtime, od.ctime, nd.mtime, nd.ctime, src.ctime = now, now, now, now, now
	return nil
}

// readdir snapshots a directory: ".", "..", then children sorted by name, so
// offsets stay stable while the handle is open.
func (s *store) readdir(id uint64) ([]dirEntry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.dir(id)
	if err != nil {
		return nil, err
	}
	parent := d
	if d.parent != nil {
		parent = d.parent
	}
	out := []dirEntry{entryFor(".", d), entryFor("..", parent)}
	names := make([]string, 0, len(d.children))
	for name := range d.children {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		out = append(out, entryFor(name, d.children[name]))
	}
	return out, nil
}

// entryFor is n's entry in a listing, named name.
func entryFor(name string, n *node) dirEntry {
	return dirEntry{name: name, ino: n.id, typ: (n.mode & syscall.S_IFMT) >> 12}
}

// lookupForPlus takes a kernel reference on a READDIRPLUS entry if it still
// exists under that name.
func (s *store) lookupForPlus(parent uint64, e dirEntry) (attr, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.nodes[parent]
	if !ok || !d.isDir() {
		return attr{}, false
	}
	c, ok := d.children[e.name]
	if !ok || c.id != e.ino {
		return attr{}, false
	}
	c.lookups++
	return s.attrOf(c), true
}

// openNode records an open handle on id and checks its type.
func (s *store) openNode(id uint64, dir bool) (*node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.get(id)
	if err != nil {
		return nil, err
	}
	if dir && !n.isDir() {
		return nil, Errno(syscall.ENOTDIR)
	}
	if !dir && n.isDir() {
		return nil, Errno(syscall.EISDIR)
	}
	n.opens++
	return n, nil
}

// closeNode drops an open handle.
func (s *store) closeNode(n *node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.opens > 0 {
		n.opens--
	}
	s.maybeDrop(n)
}

// mkdirAll creates the directories of p (absolute); the caller holds mu.
func (s *store) mkdirAll(p string, perm uint32) (*node, error) {
	n := s.nodes[RootID]
	for _, seg := range splitPath(p) {
		c, ok := n.children[seg]
		if !ok {
			c = s.newNode(n, seg, syscall.S_IFDIR|perm, 0, s.uid, s.gid)
		}
		if !c.isDir() {
			return nil, Errno(syscall.ENOTDIR)
		}
		n = c
	}
	return n, nil
}

// nodeID returns the node ID of a path.
func (s *store) nodeID(p string) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, err := s.resolve(p)
	if err != nil {
		return 0, err
	}
	return n.id, nil
}

// statfs numbers are fixed: the store has no real capacity.
func (s *store) counts() (files uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return uint64(len(s.nodes))
}

// closeBackings closes every backing file (server shutdown).
func (s *store) closeBackings() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.nodes {
		if n.backing != nil {
			n.backing.file.Close()
			n.backing = nil
		}
	}
}

// openBackingFile opens (creating if needed) a backing file for n, seeding
// a new one with the store's content so a first passthrough open sees the
// same bytes a server READ would have returned. The caller holds mu.
func (s *store) openBackingFile(n *node, p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err == nil {
		return f, nil
	}
	if !os.IsNotExist(err) {
		return nil, err
	}
	f, err = os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	if err := n.data.writeTo(f, n.size); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
