package fstests

import (
	"strconv"
	"strings"
)

// Watched are the kernel functions whose calls each test reports: the
// direct I/O engines of iomap and FUSE, FUSE's mmap, and the page cache
// invalidation and writeback a direct write does first. The counts show
// which of the paths the series changes a test went through; fstests
// itself cannot tell.
var Watched = []string{
	"__iomap_dio_rw",
	"fuse_direct_io",
	"fuse_file_mmap",
	"kiocb_invalidate_pages",
	"invalidate_inode_pages2_range",
	"filemap_write_and_wait_range",
}

// PathPrefix starts the KTAP diagnostic that carries a test's counts:
// "kernel path: fn=N fn=N ...".
const PathPrefix = "kernel path: "

// ParsePath reads a PathPrefix diagnostic back: function -> calls.
func ParsePath(diag string) (map[string]uint64, bool) {
	rest, ok := strings.CutPrefix(diag, PathPrefix)
	if !ok || strings.Contains(rest, " not counted: ") {
		return nil, false
	}
	m := map[string]uint64{}
	for _, kv := range strings.Fields(rest) {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 64)
		if !ok || err != nil {
			return nil, false
		}
		m[k] = n
	}
	return m, true
}
