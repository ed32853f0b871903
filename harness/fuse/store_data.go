package fuse

import (
	"errors"
	"io"
	"syscall"
	"time"
)

// maxFileSize bounds sizes so a bogus offset cannot make the store allocate
// absurd amounts of memory.
const maxFileSize = 1 << 40

// readAt copies file content at off into dst and returns the byte count.
func (s *store) readAt(id uint64, off int64, dst []byte) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, err := s.get(id)
	if err != nil {
		return 0, err
	}
	if n.isDir() {
		return 0, Errno(syscall.EISDIR)
	}
	return s.readNode(n, off, dst)
}

// readNode reads from a node; the caller holds mu.
func (s *store) readNode(n *node, off int64, dst []byte) (int, error) {
	if off < 0 {
		return 0, Errno(syscall.EINVAL)
	}
	if n.backing != nil {
		c, err := n.backing.file.ReadAt(dst, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return c, err
		}
		return c, nil
	}
	if off >= n.size {
		return 0, nil
	}
	want := min(int64(len(dst)), n.size-off)
	n.data.readAt(dst[:want], off)
	return int(want), nil
}

// writeAt stores src at off and returns the byte count.
func (s *store) writeAt(id uint64, off int64, src []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.get(id)
	if err != nil {
		return 0, err
	}
	if n.isDir() {
		return 0, Errno(syscall.EISDIR)
	}
	c, err := s.writeNode(n, off, src)
	if c > 0 {
		now := time.Now()
		n.mtime, n.ctime = now, now
	}
	return c, err
}

// writeNode writes into a node; the caller holds mu.
func (s *store) writeNode(n *node, off int64, src []byte) (int, error) {
	end := off + int64(len(src))
	if off < 0 || end > maxFileSize {
		return 0, Errno(syscall.EFBIG)
	}
	if n.backing != nil {
		return n.backing.file.WriteAt(src, off)
	}
	n.data.writeAt(src, off)
	if end > n.size {
		n.size = end
	}
	return len(src), nil
}

// truncate sets the size of a node; the caller holds mu.
func (s *store) truncate(n *node, size int64) error {
	if size < 0 || size > maxFileSize {
		return Errno(syscall.EFBIG)
	}
	if n.backing != nil {
		return n.backing.file.Truncate(size)
	}
	if size < n.size {
		n.data.truncate(size)
	}
	n.size = size
	return nil
}

// fallocate implements mode 0, KEEP_SIZE, PUNCH_HOLE and ZERO_RANGE.
func (s *store) fallocate(id uint64, mode uint32, off, length int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.get(id)
	if err != nil {
		return err
	}
	if !n.isReg() {
		return Errno(syscall.ENODEV)
	}
	end := off + length
	if off < 0 || length <= 0 || end > maxFileSize {
		return Errno(syscall.EINVAL)
	}
	if mode&^(fallocKeepSize|fallocPunchHole|fallocZeroRange) != 0 {
		return Errno(syscall.EOPNOTSUPP)
	}
	if n.backing != nil {
		return syscall.Fallocate(int(n.backing.file.Fd()), mode, off, length)
	}
	if mode&(fallocPunchHole|fallocZeroRange) != 0 {
		if mode&fallocPunchHole != 0 && mode&fallocKeepSize == 0 {
			return Errno(syscall.EINVAL)
		}
		n.data.zero(off, min(end, n.size))
	}
	if mode&fallocKeepSize == 0 && end > n.size {
		n.size = end
	}
	now := time.Now()
	n.mtime, n.ctime = now, now
	return nil
}

// lseek answers SEEK_DATA and SEEK_HOLE: the whole file is data.
func (s *store) lseek(id uint64, off int64, whence uint32) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, err := s.get(id)
	if err != nil {
		return 0, err
	}
	size := int64(s.attrOf(n).Size)
	if off < 0 {
		return 0, Errno(syscall.EINVAL)
	}
	switch whence {
	case seekData:
		if off >= size {
			return 0, Errno(syscall.ENXIO)
		}
		return off, nil
	case seekHole:
		if off >= size {
			return 0, Errno(syscall.ENXIO)
		}
		return size, nil
	}
	return 0, Errno(syscall.EINVAL)
}

// content returns a copy of a regular file's bytes.
func (s *store) content(p string) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, err := s.resolve(p)
	if err != nil {
		return nil, err
	}
	if !n.isReg() {
		return nil, Errno(syscall.EISDIR)
	}
	size := int64(s.attrOf(n).Size)
	if size > maxFileSize {
		return nil, Errno(syscall.EFBIG)
	}
	buf := make([]byte, size)
	c, err := s.readNode(n, 0, buf)
	return buf[:c], err
}

// writeFile replaces (or creates, with parents) a regular file's content,
// padded with zeros to size when size is larger than data.
func (s *store) writeFile(p string, data []byte, size int64, perm uint32) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p = cleanPath(p)
	segs := splitPath(p)
	if len(segs) == 0 {
		return 0, Errno(syscall.EISDIR)
	}
	parentPath := "/"
	for _, seg := range segs[:len(segs)-1] {
		parentPath += seg + "/"
	}
	d, err := s.mkdirAll(parentPath, 0o755)
	if err != nil {
		return 0, err
	}
	name := segs[len(segs)-1]
	n, ok := d.children[name]
	if !ok {
		if perm == 0 {
			perm = 0o644
		}
		n = s.newNode(d, name, syscall.S_IFREG|perm&0o7777, 0, s.uid, s.gid)
	}
	if !n.isReg() {
		return 0, Errno(syscall.EISDIR)
	}
	if err := s.truncate(n, 0); err != nil {
		return 0, err
	}
	if _, err := s.writeNode(n, 0, data); err != nil {
		return 0, err
	}
	if size > int64(len(data)) {
		if err := s.truncate(n, size); err != nil {
			return 0, err
		}
	}
	now := time.Now()
	n.mtime, n.ctime = now, now
	return n.id, nil
}

// mkdirPath creates a directory and its parents.
func (s *store) mkdirPath(p string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.mkdirAll(cleanPath(p), 0o755)
	return err
}
