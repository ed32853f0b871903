package fuse

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// backing is a passthrough backing file of a node. The kernel knows it by
// id (FUSE_DEV_IOC_BACKING_OPEN) while opens that use it may still be
// completing; the id is closed when the last such open is released, which is
// safe because the kernel's inode holds its own reference by then.
type backing struct {
	file  *os.File
	path  string
	id    int32
	users int
}

// backingMap is struct fuse_backing_map.
type backingMap struct {
	Fd      int32
	Flags   uint32
	Padding uint64
}

// attachBacking gives n a registered backing file and returns its id.
func (s *Server) attachBacking(n *node, p string, pol OpenPolicy) (*backing, error) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	if n.backing == nil {
		bp := pol.BackingPath
		if bp == "" {
			dir, err := s.backingDir()
			if err != nil {
				return nil, err
			}
			if p == "" {
				p = fmt.Sprintf("/.unlinked-%d", n.id)
			}
			bp = filepath.Join(dir, filepath.FromSlash(p))
		}
		if err := os.MkdirAll(filepath.Dir(bp), 0o755); err != nil {
			return nil, fmt.Errorf("backing dir: %w", err)
		}
		f, err := s.store.openBackingFile(n, bp)
		if err != nil {
			return nil, fmt.Errorf("open backing file: %w", err)
		}
		n.backing = &backing{file: f, path: bp}
	}
	b := n.backing
	if b.id == 0 {
		id, err := s.backingOpen(b.file)
		if err != nil {
			return nil, err
		}
		b.id = id
	}
	b.users++
	return b, nil
}

// detachBacking drops one open's use of the backing id.
func (s *Server) detachBacking(b *backing) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	b.users--
	if b.users <= 0 && b.id != 0 {
		if err := s.backingClose(b.id); err != nil {
			s.logf("%v", err)
		}
		b.id = 0
	}
}

// backingDir returns Config.BackingDir or a private temporary directory.
func (s *Server) backingDir() (string, error) {
	if s.cfg.BackingDir != "" {
		return s.cfg.BackingDir, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tmpBacking == "" {
		d, err := os.MkdirTemp("", "fuse-backing-")
		if err != nil {
			return "", fmt.Errorf("backing dir: %w", err)
		}
		s.tmpBacking = d
	}
	return s.tmpBacking, nil
}

// backingOpen registers f with FUSE_DEV_IOC_BACKING_OPEN.
func (s *Server) backingOpen(f *os.File) (int32, error) {
	m := backingMap{Fd: int32(f.Fd())}
	var id uintptr
	var errno syscall.Errno
	err := s.devControl(func(fd uintptr) {
		id, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, iocBackingOpen, uintptr(unsafe.Pointer(&m)))
	})
	runtime.KeepAlive(f)
	if err != nil {
		return 0, fmt.Errorf("FUSE_DEV_IOC_BACKING_OPEN: %w", err)
	}
	if errno != 0 {
		return 0, fmt.Errorf("FUSE_DEV_IOC_BACKING_OPEN %s: %w", f.Name(), errno)
	}
	return int32(id), nil
}

// backingClose unregisters id with FUSE_DEV_IOC_BACKING_CLOSE.
func (s *Server) backingClose(id int32) error {
	v := uint32(id)
	var errno syscall.Errno
	err := s.devControl(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, iocBackingClose, uintptr(unsafe.Pointer(&v)))
	})
	if err != nil {
		return fmt.Errorf("FUSE_DEV_IOC_BACKING_CLOSE %d: %w", id, err)
	}
	if errno != 0 {
		return fmt.Errorf("FUSE_DEV_IOC_BACKING_CLOSE %d: %w", id, errno)
	}
	return nil
}
