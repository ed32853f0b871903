package filestate

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestPagesString(t *testing.T) {
	tests := []struct {
		in   Pages
		want string
	}{
		{nil, ""},
		{Pages{true}, "R"},
		{Pages{false, false, false, true}, "...R"},
		{Pages{true, false, true}, "R.R"},
	}
	for _, tc := range tests {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("%v.String() = %q, want %q", []bool(tc.in), got, tc.want)
		}
	}
}

func TestMapState(t *testing.T) {
	w := func(off, n uint64) Extent { return Extent{Logical: off, Length: n} }
	u := func(off, n uint64) Extent { return Extent{Logical: off, Length: n, Flags: ExtentUnwritten | 0x1} }
	tests := []struct {
		name   string
		exts   []Extent
		off, n int64
		want   string
	}{
		{"no extents", nil, 0, 4096, Hole},
		{"extent outside the range", []Extent{w(8192, 4096)}, 0, 4096, Hole},
		{"extent ending where the range starts", []Extent{w(0, 4096)}, 4096, 4096, Hole},
		{"written covers the range", []Extent{w(0, 16384)}, 4096, 4096, Written},
		{"written in two pieces", []Extent{w(0, 2048), w(2048, 2048)}, 0, 4096, Written},
		{"unwritten covers the range", []Extent{u(0, 65536)}, 20480, 4096, Unwritten},
		{"partly mapped", []Extent{w(0, 2048)}, 0, 4096, Mixed},
		{"written and unwritten", []Extent{w(0, 2048), u(2048, 2048)}, 0, 4096, Mixed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MapState(tc.exts, tc.off, tc.n); got != tc.want {
				t.Errorf("MapState(%+v, %d, %d) = %s, want %s", tc.exts, tc.off, tc.n, got, tc.want)
			}
		})
	}
}

// TestDecodeFiemap fills a request buffer as the kernel would and decodes it.
func TestDecodeFiemap(t *testing.T) {
	buf := fiemapRequest(4096, 1<<20)
	ne := binary.NativeEndian
	got := map[string]uint64{"start": ne.Uint64(buf[0:]), "length": ne.Uint64(buf[8:]), "flags": uint64(ne.Uint32(buf[16:])), "count": uint64(ne.Uint32(buf[24:]))}
	if d := cmp.Diff(map[string]uint64{"start": 4096, "length": 1 << 20, "flags": fiemapFlagSync, "count": fiemapExtents}, got); d != "" {
		t.Errorf("request header (-want +got):\n%s", d)
	}
	want := []Extent{
		{Logical: 0, Physical: 1 << 20, Length: 8192, Flags: 0},
		{Logical: 8192, Physical: 3 << 20, Length: 4096, Flags: ExtentUnwritten | 0x1},
	}
	ne.PutUint32(buf[20:], uint32(len(want))) // fm_mapped_extents
	for i, e := range want {
		p := buf[fiemapHeader+i*fiemapExtent:]
		ne.PutUint64(p[0:], e.Logical)
		ne.PutUint64(p[8:], e.Physical)
		ne.PutUint64(p[16:], e.Length)
		ne.PutUint32(p[40:], e.Flags)
	}
	if d := cmp.Diff(want, decodeFiemap(buf)); d != "" {
		t.Errorf("decodeFiemap (-want +got):\n%s", d)
	}
	ne.PutUint32(buf[20:], 1000) // more than the buffer holds
	if n := len(decodeFiemap(buf)); n != fiemapExtents {
		t.Errorf("decodeFiemap with an overlong count: %d extents, want %d", n, fiemapExtents)
	}
}

// tempFile is a file on the filesystem of the test's temporary directory
// with n pages written and synced. Each page is written on its own, so
// a filesystem with large folios still caches them as separate folios.
func tempFile(t *testing.T, pages int) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	for range pages {
		if _, err := f.Write(make([]byte, os.Getpagesize())); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestResident(t *testing.T) {
	page := int64(os.Getpagesize())
	f := tempFile(t, 3)
	// Clean page 1 leaves the cache (DONTNEED drains the LRU batches
	// and retries before giving up on a page).
	if err := unix.Fadvise(int(f.Fd()), page, page, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	r, err := Resident(f, 0, int(3*page))
	if err != nil {
		t.Fatal(err)
	}
	if r.String() != "R.R" {
		t.Errorf("Resident = %s, want R.R", r)
	}
	if _, err := Resident(f, 1, int(page)); err == nil {
		t.Error("Resident at an unaligned offset: no error")
	}
}

func TestExtents(t *testing.T) {
	page := int64(os.Getpagesize())
	f := tempFile(t, 2)
	fd := int(f.Fd())
	err := unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, page, page)
	if errors.Is(err, unix.EOPNOTSUPP) {
		t.Skipf("the test directory's filesystem cannot punch holes: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Fallocate(fd, 0, 2*page, page); err != nil {
		t.Fatal(err)
	}
	exts, err := Extents(f, 0, 3*page)
	if errors.Is(err, unix.EOPNOTSUPP) {
		t.Skipf("no FIEMAP on the test directory's filesystem: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for name, r := range map[string][2]int64{"page 0": {0, page}, "page 1": {page, page}, "page 2": {2 * page, page}, "all": {0, 3 * page}} {
		got[name] = MapState(exts, r[0], r[1])
	}
	want := map[string]string{"page 0": Written, "page 1": Hole, "page 2": Unwritten, "all": Mixed}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("map states (-want +got):\n%s\nextents %+v", d, exts)
	}
}
