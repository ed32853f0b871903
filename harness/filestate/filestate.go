// Package filestate reads what the kernel holds for a file, as the
// scenarios on block filesystems assert it: which pages are in the page
// cache (mincore on a fresh mapping) and how the file's blocks are mapped
// (FS_IOC_FIEMAP). Unlike harness/probe it observes state at one moment,
// not the path the kernel took to get there.
package filestate

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Pages is page-cache residency, one entry per page of a range.
type Pages []bool

// String renders residency one character per page: R resident, . not.
func (p Pages) String() string {
	var b strings.Builder
	for _, v := range p {
		if v {
			b.WriteByte('R')
		} else {
			b.WriteByte('.')
		}
	}
	return b.String()
}

// Resident reports, per page of [off, off+n), whether it is in the page
// cache: mincore(2) on a fresh shared read-only mapping, which reports
// page-cache residency of file pages without faulting any in. off must
// be page aligned.
func Resident(f *os.File, off int64, n int) (Pages, error) {
	m, err := unix.Mmap(int(f.Fd()), off, n, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s for mincore: %w", f.Name(), err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (n+page-1)/page)
	_, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(n), uintptr(unsafe.Pointer(&vec[0])))
	if e != 0 {
		return nil, fmt.Errorf("mincore %s: %w", f.Name(), e)
	}
	out := make(Pages, len(vec))
	for i, v := range vec {
		out[i] = v&1 != 0
	}
	return out, nil
}

// Extent is one FIEMAP extent (struct fiemap_extent).
type Extent struct {
	Logical, Physical, Length uint64
	Flags                     uint32
}

// FIEMAP constants (include/uapi/linux/fiemap.h, fs.h).
const (
	fsIocFiemap    = 0xC020660B
	fiemapFlagSync = 0x1 // FIEMAP_FLAG_SYNC: write back before mapping
	// ExtentUnwritten (FIEMAP_EXTENT_UNWRITTEN) marks an allocated
	// extent that reads as zeros.
	ExtentUnwritten = 0x800
)

// struct fiemap is a 32-byte header followed by 56-byte extents.
const (
	fiemapHeader  = 32
	fiemapExtent  = 56
	fiemapExtents = 32 // extents asked for; scenario files have a few
)

// Extents returns the extents of [off, off+n) after syncing the file.
func Extents(f *os.File, off, n int64) ([]Extent, error) {
	buf := fiemapRequest(off, n)
	_, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), fsIocFiemap, uintptr(unsafe.Pointer(&buf[0])))
	runtime.KeepAlive(buf)
	if e != 0 {
		return nil, fmt.Errorf("FS_IOC_FIEMAP %s: %w", f.Name(), e)
	}
	return decodeFiemap(buf), nil
}

// fiemapRequest is the ioctl buffer asking for the extents of [off, off+n).
func fiemapRequest(off, n int64) []byte {
	buf := make([]byte, fiemapHeader+fiemapExtents*fiemapExtent)
	ne := binary.NativeEndian
	ne.PutUint64(buf[0:], uint64(off))     // fm_start
	ne.PutUint64(buf[8:], uint64(n))       // fm_length
	ne.PutUint32(buf[16:], fiemapFlagSync) // fm_flags
	ne.PutUint32(buf[24:], fiemapExtents)  // fm_extent_count
	return buf
}

// decodeFiemap reads the extents the kernel filled in.
func decodeFiemap(buf []byte) []Extent {
	ne := binary.NativeEndian
	cnt := min(int(ne.Uint32(buf[20:])), (len(buf)-fiemapHeader)/fiemapExtent) // fm_mapped_extents
	out := make([]Extent, 0, cnt)
	for i := 0; i < cnt; i++ {
		p := buf[fiemapHeader+i*fiemapExtent:]
		out = append(out, Extent{
			Logical:  ne.Uint64(p[0:]),
			Physical: ne.Uint64(p[8:]),
			Length:   ne.Uint64(p[16:]),
			Flags:    ne.Uint32(p[40:]),
		})
	}
	return out
}

// Range states returned by MapState.
const (
	Hole      = "hole"
	Unwritten = "unwritten"
	Written   = "written"
	Mixed     = "mixed"
)

// MapState says how extents map [off, off+n): Hole (nothing), Unwritten
// or Written (all of it, one kind) or Mixed (partly mapped, or both
// kinds).
func MapState(exts []Extent, off, n int64) string {
	covered := uint64(0)
	unwritten, written := false, false
	for _, e := range exts {
		lo, hi := max(e.Logical, uint64(off)), min(e.Logical+e.Length, uint64(off+n))
		if hi <= lo {
			continue
		}
		covered += hi - lo
		if e.Flags&ExtentUnwritten != 0 {
			unwritten = true
		} else {
			written = true
		}
	}
	switch {
	case covered == 0:
		return Hole
	case covered < uint64(n) || (unwritten && written):
		return Mixed
	case unwritten:
		return Unwritten
	}
	return Written
}
