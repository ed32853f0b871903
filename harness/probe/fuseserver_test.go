package probe

// A minimal FUSE responder for the host and guest tests: one directory with
// a few fixed files held in memory. It runs in its own process (the test
// binary re-executed with probeFUSEServerEnv set) because a workload that
// faults on a FUSE mapping must never share a process with its server.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const probeFUSEServerEnv = "PROBE_FUSE_SERVER"

// FUSE protocol constants (include/uapi/linux/fuse.h).
const (
	fuseLookup      = 1
	fuseForget      = 2
	fuseGetattr     = 3
	fuseSetattr     = 4
	fuseOpen        = 14
	fuseRead        = 15
	fuseWrite       = 16
	fuseStatfs      = 17
	fuseRelease     = 18
	fuseFsync       = 20
	fuseFlush       = 25
	fuseInit        = 26
	fuseInterrupt   = 36
	fuseDestroy     = 38
	fuseBatchForget = 42

	fopenDirectIO         = 1 << 0
	fopenParallelDIOWrite = 1 << 6

	fuseInitExt             = 1 << 30
	fuseMaxPages            = 1 << 22
	fuseDirectIOAllowMmapHi = 1 << (36 - 32) // in flags2

	fattrSize = 1 << 3

	fuseInHeaderLen = 40
	testFileSize    = 1 << 20
)

// fuseTestFile is a file of the test file system.
type fuseTestFile struct {
	name      string
	nodeid    uint64
	openFlags uint32
}

// The fixed namespace: "cached" opens with no FOPEN flags (page cache),
// "direct" and "other" with FOPEN_DIRECT_IO|FOPEN_PARALLEL_DIRECT_WRITES.
var fuseTestFiles = []fuseTestFile{
	{"cached", 2, 0},
	{"direct", 3, fopenDirectIO | fopenParallelDIOWrite},
	{"other", 4, fopenDirectIO | fopenParallelDIOWrite},
	{"serial", 5, fopenDirectIO},
}

// serveFUSE answers requests on dev until the file system is unmounted.
func serveFUSE(dev *os.File) error {
	data := map[uint64][]byte{}
	for _, f := range fuseTestFiles {
		data[f.nodeid] = make([]byte, testFileSize)
	}
	buf := make([]byte, 1<<20+4096)
	le := binary.LittleEndian
	for {
		n, err := unix.Read(int(dev.Fd()), buf)
		if errors.Is(err, syscall.ENODEV) {
			return nil // unmounted
		}
		if errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.ENOENT) {
			continue // interrupted or aborted request
		}
		if err != nil {
			return fmt.Errorf("fuse server: read: %w", err)
		}
		req := buf[:n]
		op := le.Uint32(req[4:])
		unique := le.Uint64(req[8:])
		nodeid := le.Uint64(req[16:])
		in := req[fuseInHeaderLen:]
		var out []byte
		errno := syscall.Errno(0)
		switch op {
		case fuseInit:
			out = make([]byte, 64)
			le.PutUint32(out[0:], 7)
			le.PutUint32(out[4:], 38)
			le.PutUint32(out[8:], le.Uint32(in[8:])) // max_readahead
			le.PutUint32(out[12:], fuseInitExt|fuseMaxPages)
			le.PutUint16(out[16:], 16)    // max_background
			le.PutUint16(out[18:], 12)    // congestion_threshold
			le.PutUint32(out[20:], 1<<20) // max_write
			le.PutUint32(out[24:], 1)     // time_gran
			le.PutUint16(out[28:], 256)   // max_pages
			le.PutUint32(out[32:], fuseDirectIOAllowMmapHi)
		case fuseLookup:
			name := string(in[:len(in)-1])
			errno = syscall.ENOENT
			for _, f := range fuseTestFiles {
				if nodeid == 1 && f.name == name {
					out = make([]byte, 40+88)
					le.PutUint64(out[0:], f.nodeid)
					le.PutUint64(out[16:], 3600) // entry_valid
					le.PutUint64(out[24:], 3600) // attr_valid
					putFUSEAttr(out[40:], f.nodeid, uint64(len(data[f.nodeid])))
					errno = 0
				}
			}
		case fuseGetattr, fuseSetattr:
			if op == fuseSetattr && le.Uint32(in[0:])&fattrSize != 0 {
				size := le.Uint64(in[16:])
				d := data[nodeid]
				if uint64(len(d)) >= size {
					data[nodeid] = d[:size]
				} else {
					data[nodeid] = append(d, make([]byte, size-uint64(len(d)))...)
				}
			}
			out = make([]byte, 16+88)
			le.PutUint64(out[0:], 3600)
			putFUSEAttr(out[16:], nodeid, uint64(len(data[nodeid])))
		case fuseOpen:
			out = make([]byte, 16)
			for _, f := range fuseTestFiles {
				if f.nodeid == nodeid {
					le.PutUint32(out[8:], f.openFlags)
				}
			}
		case fuseRead:
			off, size := le.Uint64(in[8:]), uint64(le.Uint32(in[16:]))
			d := data[nodeid]
			if off < uint64(len(d)) {
				out = append([]byte(nil), d[off:min(off+size, uint64(len(d)))]...)
			}
		case fuseWrite:
			off, size := le.Uint64(in[8:]), uint64(le.Uint32(in[16:]))
			payload := in[40 : 40+size]
			d := data[nodeid]
			if end := off + size; end > uint64(len(d)) {
				d = append(d, make([]byte, end-uint64(len(d)))...)
			}
			copy(d[off:], payload)
			data[nodeid] = d
			out = make([]byte, 8)
			le.PutUint32(out[0:], uint32(size))
		case fuseStatfs:
			out = make([]byte, 80)
			le.PutUint32(out[40:], 4096) // bsize
			le.PutUint32(out[44:], 255)  // namelen
		case fuseRelease, fuseFlush, fuseFsync:
			out = nil
		case fuseForget, fuseBatchForget, fuseInterrupt:
			continue // no reply
		case fuseDestroy:
			out = nil
		default:
			errno = syscall.ENOSYS
		}
		if errno != 0 {
			out = nil
		}
		reply := make([]byte, 16+len(out))
		le.PutUint32(reply[0:], uint32(len(reply)))
		le.PutUint32(reply[4:], uint32(-int32(errno)))
		le.PutUint64(reply[8:], unique)
		copy(reply[16:], out)
		if _, err := unix.Write(int(dev.Fd()), reply); err != nil && !errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("fuse server: reply to op %d: %w", op, err)
		}
	}
}

func putFUSEAttr(b []byte, nodeid, size uint64) {
	le := binary.LittleEndian
	mode := uint32(syscall.S_IFREG | 0o644)
	if nodeid == 1 {
		mode = syscall.S_IFDIR | 0o755
	}
	le.PutUint64(b[0:], nodeid) // ino
	le.PutUint64(b[8:], size)
	le.PutUint64(b[16:], (size+511)/512)
	le.PutUint32(b[60:], mode)
	le.PutUint32(b[64:], 1)    // nlink
	le.PutUint32(b[80:], 4096) // blksize
}

// mountTestFUSE mounts the test file system and returns its directory.
// The server process is stopped by unmounting at cleanup.
func mountTestFUSE(t *testing.T) string {
	t.Helper()
	dev, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no FUSE: %v", err)
	}
	defer dev.Close()
	dir := t.TempDir()
	opts := fmt.Sprintf("fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", dev.Fd())
	if err := unix.Mount("probe-test", dir, "fuse", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		t.Skipf("mount fuse: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), probeFUSEServerEnv+"=1")
	cmd.ExtraFiles = []*os.File{dev}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		unix.Unmount(dir, unix.MNT_DETACH)
		t.Fatalf("start fuse server: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
			unix.Unmount(dir, unix.MNT_DETACH)
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("fuse server: %v", err)
		}
	})
	// The first access waits for INIT, which proves the server is up.
	if _, err := os.Stat(filepath.Join(dir, "direct")); err != nil {
		t.Fatalf("fuse test fs not serving: %v", err)
	}
	return dir
}
