package scenarios

import (
	"bytes"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"dioharness/harness/scenario"
)

const page = 4096

// alignedBuf returns a page-aligned buffer filled with a pattern derived
// from seed, as O_DIRECT needs.
func alignedBuf(t *scenario.T, size int, seed byte) []byte {
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	t.Check(err, "allocate %d aligned bytes", size)
	t.Cleanup(func() { unix.Munmap(b) })
	fill(b, seed)
	return b
}

// fill writes a pattern that differs per seed and per offset, so a
// misplaced or stale page is detected.
func fill(b []byte, seed byte) {
	for i := range b {
		b[i] = seed ^ byte(i*7+i/page)
	}
}

func pattern(size int, seed byte) []byte {
	b := make([]byte, size)
	fill(b, seed)
	return b
}

// openFile opens path with flags and closes it when t ends.
func openFile(t *scenario.T, path string, flags int) *os.File {
	f, err := os.OpenFile(path, flags, 0o644)
	t.Check(err, "open %s", path)
	t.Cleanup(func() { f.Close() })
	return f
}

// pwriteFull writes b at off and fails the scenario on a short write.
func pwriteFull(t *scenario.T, f *os.File, b []byte, off int64) {
	n, err := unix.Pwrite(int(f.Fd()), b, off)
	t.Check(err, "pwrite %d bytes at %d to %s", len(b), off, f.Name())
	if n != len(b) {
		t.Fatalf("pwrite to %s: wrote %d of %d bytes", f.Name(), n, len(b))
	}
}

// preadFull reads size bytes at off.
func preadFull(t *scenario.T, f *os.File, buf []byte, off int64) []byte {
	n, err := unix.Pread(int(f.Fd()), buf, off)
	t.Check(err, "pread %d bytes at %d from %s", len(buf), off, f.Name())
	return buf[:n]
}

// mapShared maps length bytes of f shared and unmaps when t ends.
func mapShared(t *scenario.T, f *os.File, length int) []byte {
	m, err := unix.Mmap(int(f.Fd()), 0, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	t.Check(err, "mmap MAP_SHARED %s", f.Name())
	t.Cleanup(func() { unix.Munmap(m) })
	return m
}

// sameBytes fails the scenario when got differs from want, naming the
// first differing offset.
func sameBytes(t *scenario.T, what string, got, want []byte) {
	if bytes.Equal(got, want) {
		return
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d bytes, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: differs at byte %d (page %d): got %#x, want %#x", what, i, i/page, got[i], want[i])
		}
	}
}

func errnoOf(err error) string {
	if err == nil {
		return "success"
	}
	if e, ok := err.(unix.Errno); ok {
		return unix.ErrnoName(e)
	}
	return fmt.Sprint(err)
}
