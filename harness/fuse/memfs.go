package fuse

import (
	"syscall"
)

// memFS serves the in-memory tree (store): the fileSystem of a server
// without Config.Source. Reads and writes go by node, whatever the
// handle; a handle records the open (for the node's open count and its
// passthrough backing) and a directory's snapshot.
type memFS struct {
	st      *store
	handles handleTable[*handle]
	// backer registers passthrough backing files with the kernel.
	backer backer
}

// backer registers a node's backing file with the kernel and drops it:
// the server, which holds the /dev/fuse descriptor.
type backer interface {
	attachBacking(n *node, path string, pol OpenPolicy) (*backing, error)
	detachBacking(b *backing)
}

var (
	_ fileSystem    = (*memFS)(nil)
	_ passthroughFS = (*memFS)(nil)
	_ plusFS        = (*memFS)(nil)
)

func (m *memFS) path(id uint64) string { return m.st.path(id) }

func (m *memFS) childPath(parent uint64, name string) string { return m.st.childPath(parent, name) }

func entryOf(n *node, a attr) entry { return entry{id: n.id, gen: n.gen, attr: a} }

func (m *memFS) lookup(parent uint64, name string) (entry, error) {
	n, a, err := m.st.lookup(parent, name)
	if err != nil {
		return entry{}, err
	}
	return entryOf(n, a), nil
}

func (m *memFS) forget(id, n uint64) { m.st.forget(id, n) }

func (m *memFS) getattr(id uint64) (attr, error) { return m.st.getattr(id) }

func (m *memFS) setattr(id uint64, in setattrIn) (attr, error) { return m.st.setattr(id, in) }

func (m *memFS) mknod(parent uint64, name string, mode, rdev uint32, c caller) (entry, error) {
	n, a, err := m.st.mknod(parent, name, mode, rdev, c.uid, c.gid)
	if err != nil {
		return entry{}, err
	}
	return entryOf(n, a), nil
}

func (m *memFS) mkdir(parent uint64, name string, mode uint32, c caller) (entry, error) {
	return m.mknod(parent, name, syscall.S_IFDIR|mode&0o7777, 0, c)
}

func (m *memFS) remove(parent uint64, name string, dir bool) error {
	return m.st.remove(parent, name, dir)
}

func (m *memFS) rename(parent uint64, name string, newParent uint64, newName string, flags uint32) error {
	return m.st.rename(parent, name, newParent, newName, flags)
}

// open records an open of node id; a directory's entries are snapshot
// now, so offsets stay stable while the handle is open.
func (m *memFS) open(id uint64, _ uint32, dir bool) (uint64, error) {
	n, err := m.st.openNode(id, dir)
	if err != nil {
		return 0, err
	}
	h := &handle{node: n, dir: dir}
	if dir {
		if h.entries, err = m.st.readdir(n.id); err != nil {
			m.st.closeNode(n)
			return 0, err
		}
	}
	return m.handles.add(h), nil
}

func (m *memFS) create(parent uint64, name string, oflags, mode uint32, c caller) (entry, uint64, error) {
	n, a, err := m.st.create(parent, name, mode, c.uid, c.gid, oflags&syscall.O_EXCL != 0)
	if err != nil {
		return entry{}, 0, err
	}
	return entryOf(n, a), m.handles.add(&handle{node: n}), nil
}

// attach gives the open a passthrough backing file.
func (m *memFS) attach(fh uint64, path string, pol OpenPolicy) (int32, error) {
	h, ok := m.handles.get(fh)
	if !ok {
		return 0, Errno(syscall.EBADF)
	}
	b, err := m.backer.attachBacking(h.node, path, pol)
	if err != nil {
		return 0, err
	}
	h.backing = b
	return b.id, nil
}

// release drops an open handle and its uses.
func (m *memFS) release(fh uint64) {
	h, ok := m.handles.remove(fh)
	if !ok {
		return
	}
	if h.backing != nil {
		m.backer.detachBacking(h.backing)
	}
	m.st.closeNode(h.node)
}

func (m *memFS) read(id, _ uint64, off int64, dst []byte) (int, error) {
	return m.st.readAt(id, off, dst)
}

func (m *memFS) write(id, _ uint64, off int64, src []byte) (int, error) {
	return m.st.writeAt(id, off, src)
}

// flush and fsync have nothing to do beyond checking the node exists.
func (m *memFS) flush(id, _ uint64) error {
	_, err := m.st.getattr(id)
	return err
}

func (m *memFS) fsync(id, _ uint64, _ bool) error {
	_, err := m.st.getattr(id)
	return err
}

func (m *memFS) fallocate(id, _ uint64, mode uint32, off, length int64) error {
	if uint64(off) > maxFileSize || uint64(length) > maxFileSize {
		return Errno(syscall.EFBIG)
	}
	return m.st.fallocate(id, mode, off, length)
}

func (m *memFS) lseek(id, _ uint64, off int64, whence uint32) (int64, error) {
	if uint64(off) > maxFileSize {
		return 0, Errno(syscall.ENXIO)
	}
	return m.st.lseek(id, off, whence)
}

// entries is the snapshot taken at OPENDIR.
func (m *memFS) entries(fh, _ uint64) ([]dirEntry, error) {
	h, ok := m.handles.get(fh)
	if !ok || !h.dir {
		return nil, Errno(syscall.EBADF)
	}
	return h.entries, nil
}

func (m *memFS) lookupForPlus(parent uint64, e dirEntry) (attr, bool) {
	return m.st.lookupForPlus(parent, e)
}

// statfs numbers are fixed: the store has no real capacity.
func (m *memFS) statfs() (statfsOut, error) {
	const blocks = 1 << 30 // 4 TiB of 4 KiB blocks: never the limit of a test
	return statfsOut{
		blocks: blocks, bfree: blocks, bavail: blocks,
		files: m.st.counts() + 1<<20, ffree: 1 << 20,
		bsize: pageSize, namelen: 255, frsize: pageSize,
	}, nil
}

func (m *memFS) close() { m.st.closeBackings() }
