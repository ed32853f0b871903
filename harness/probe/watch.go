package probe

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Watch flags, mirroring enum watch_flag.
const (
	watchRecord uint32 = 1 << 0
	watchCtx    uint32 = 1 << 1
)

// KernelDev converts a user-space st_dev to the kernel's internal dev_t
// encoding used by sb->s_dev: major<<20 | minor.
func KernelDev(stDev uint64) uint32 {
	return unix.Major(stDev)<<20 | unix.Minor(stDev)
}

// InodeOf returns the inode identity of an open file.
func InodeOf(f *os.File) (InodeID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return InodeID{}, fmt.Errorf("probe: fstat %s: %w", f.Name(), err)
	}
	return InodeID{Dev: KernelDev(st.Dev), Ino: st.Ino}, nil
}

// InodeOfPath returns the inode identity of a path (following symlinks).
func InodeOfPath(path string) (InodeID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return InodeID{}, fmt.Errorf("probe: stat %s: %w", path, err)
	}
	return InodeID{Dev: KernelDev(st.Dev), Ino: st.Ino}, nil
}

// Watch registers open files: events about their inodes are recorded,
// whichever task causes them.
func (s *Set) Watch(files ...*os.File) error {
	for _, f := range files {
		id, err := InodeOf(f)
		if err != nil {
			return err
		}
		if err := s.WatchInode(id); err != nil {
			return err
		}
	}
	return nil
}

// WatchPath registers files by path, like Watch.
func (s *Set) WatchPath(paths ...string) error {
	for _, p := range paths {
		id, err := InodeOfPath(p)
		if err != nil {
			return err
		}
		if err := s.WatchInode(id); err != nil {
			return err
		}
	}
	return nil
}

// WatchInode registers an inode by identity.
func (s *Set) WatchInode(id InodeID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := probesInodeKey{Dev: id.Dev, Ino: id.Ino}
	if err := s.maps["inodes"].Put(key, uint32(1)); err != nil {
		return fmt.Errorf("probe: watch inode %s: %w", id, err)
	}
	return s.setTracking()
}

// UnwatchInode removes an inode registered with Watch*.
func (s *Set) UnwatchInode(id InodeID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.maps["inodes"].Delete(probesInodeKey{Dev: id.Dev, Ino: id.Ino}); err != nil {
		return fmt.Errorf("probe: unwatch inode %s: %w", id, err)
	}
	return nil
}

// WatchTask registers a process (thread group id): all its events on the
// probed paths are recorded, whichever file they concern.
func (s *Set) WatchTask(pid int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addTgidFlags(pid, watchRecord)
}

// UnwatchTask stops recording a process registered with WatchTask (fault
// context tracking armed by ArmFault stays).
func (s *Set) UnwatchTask(pid int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur uint32
	if err := s.maps["tgids"].Lookup(uint32(pid), &cur); err != nil {
		return nil // not watched
	}
	var err error
	if cur &^= watchRecord; cur == 0 {
		err = s.maps["tgids"].Delete(uint32(pid))
	} else {
		err = s.maps["tgids"].Put(uint32(pid), cur)
	}
	if err != nil {
		return fmt.Errorf("probe: unwatch task %d: %w", pid, err)
	}
	return nil
}

// addTgidFlags ors flags into a process's entry; callers hold s.mu.
func (s *Set) addTgidFlags(pid int, flags uint32) error {
	var cur uint32
	if err := s.maps["tgids"].Lookup(uint32(pid), &cur); err != nil {
		cur = 0
	}
	if err := s.maps["tgids"].Put(uint32(pid), cur|flags); err != nil {
		return fmt.Errorf("probe: watch task %d: %w", pid, err)
	}
	return s.setTracking()
}

// setTracking opens the global gate the hot probes test first; callers
// hold s.mu. It is never closed again: stale per-task context must keep
// being unwound while anything may still be running.
func (s *Set) setTracking() error {
	if s.config.Tracking == 1 {
		return nil
	}
	s.config.Tracking = 1
	return s.writeConfig()
}
