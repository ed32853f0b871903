package fuse

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	devFusePath      = "/dev/fuse"
	fusectlDir       = "/sys/fs/fuse/connections"
	mountinfoPath    = "/proc/self/mountinfo"
	rootModeDirOctal = "40000"
)

// openDevice opens /dev/fuse non-blocking, so the Go poller can wait for
// requests and Close can interrupt a worker blocked in a read.
func openDevice() (int, error) {
	fd, err := unix.Open(devFusePath, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", devFusePath, err)
	}
	return fd, nil
}

// cloneDevice opens /dev/fuse again and attaches it to the session of
// sessionFd with FUSE_DEV_IOC_CLONE, giving a worker its own request channel
// (replies must go to the descriptor the request was read from).
func cloneDevice(sessionFd int) (int, error) {
	fd, err := openDevice()
	if err != nil {
		return -1, err
	}
	src := uint32(sessionFd)
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), iocClone, uintptr(unsafe.Pointer(&src))); e != 0 {
		unix.Close(fd)
		return -1, fmt.Errorf("FUSE_DEV_IOC_CLONE: %w", e)
	}
	return fd, nil
}

// mountOptions builds the fuse mount data string.
func mountOptions(fd int, cfg *Config) string {
	o := fmt.Sprintf("fd=%d,rootmode=%s,user_id=%d,group_id=%d,allow_other,max_read=%d",
		fd, rootModeDirOctal, cfg.UID, cfg.GID, cfg.MaxRead)
	if cfg.DefaultPermissions {
		o += ",default_permissions"
	}
	return o
}

// mountFuse mounts the session fd on dir with mount(2).
func mountFuse(dir string, fd int, cfg *Config) error {
	fstype := "fuse"
	if cfg.Subtype != "" {
		fstype += "." + cfg.Subtype
	}
	opts := mountOptions(fd, cfg)
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV)
	if cfg.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount(cfg.FSName, dir, fstype, flags, opts); err != nil {
		return fmt.Errorf("mount %s on %s (%s): %w", fstype, dir, opts, err)
	}
	return nil
}

// unmount detaches the mount at dir, lazily if it is busy. A mount that is
// already gone is not an error.
func unmount(dir string) error {
	err := unix.Unmount(dir, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(dir, unix.MNT_DETACH)
	}
	if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("unmount %s: %w", dir, err)
}

// mountDevMinor finds the st_dev minor of the fuse mount at dir from
// /proc/self/mountinfo. Reading mountinfo instead of stat(2) matters: stat
// on the mount would send GETATTR to a server that may be wedged.
func mountDevMinor(dir string) (uint32, error) {
	f, err := os.Open(mountinfoPath)
	if err != nil {
		return 0, fmt.Errorf("find fuse connection: %w", err)
	}
	defer f.Close()
	var found uint32
	ok := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent major:minor root mountpoint opts [optional...] - fstype source superopts
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || unescapeMountinfo(fields[4]) != dir {
			continue
		}
		sep := -1
		for i, x := range fields {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) || !strings.HasPrefix(fields[sep+1], "fuse") {
			continue
		}
		_, minStr, cut := strings.Cut(fields[2], ":")
		if !cut {
			continue
		}
		m, err := strconv.ParseUint(minStr, 10, 32)
		if err != nil {
			continue
		}
		found, ok = uint32(m), true // the last match is the top of the mount stack
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", mountinfoPath, err)
	}
	if !ok {
		return 0, fmt.Errorf("no fuse mount at %s in %s", dir, mountinfoPath)
	}
	return found, nil
}

// unescapeMountinfo undoes the octal escapes (\040 for space...).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ensureFusectl mounts the fuse control file system if nothing is mounted
// on /sys/fs/fuse/connections (minimal guests and some hosts do not).
func ensureFusectl() error {
	var st, parent unix.Stat_t
	if err := unix.Stat(fusectlDir, &st); err != nil {
		return fmt.Errorf("fusectl: %w", err)
	}
	if err := unix.Stat(filepath.Dir(fusectlDir), &parent); err != nil {
		return fmt.Errorf("fusectl: %w", err)
	}
	if st.Dev != parent.Dev {
		return nil // already a mount point
	}
	err := unix.Mount("fusectl", fusectlDir, "fusectl", 0, "")
	if err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount fusectl on %s: %w", fusectlDir, err)
	}
	return nil
}

// abortConnection writes to /sys/fs/fuse/connections/<minor>/abort.
func abortConnection(minor uint32) error {
	if err := ensureFusectl(); err != nil {
		return err
	}
	p := filepath.Join(fusectlDir, strconv.FormatUint(uint64(minor), 10), "abort")
	if err := os.WriteFile(p, []byte("1"), 0); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("abort: connection %d gone: %w", minor, err)
		}
		return fmt.Errorf("abort connection %d: %w", minor, err)
	}
	return nil
}
