package fuse

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkSeqDirect1MiB measures sequential 1 MiB O_DIRECT writes and
// reads on the host mount, through the page-cache open mode (the kernel
// turns O_DIRECT into direct WRITE/READ requests) and with FOPEN_DIRECT_IO.
//
//	go test -run '^$' -bench SeqDirect1MiB -benchtime 2000x ./harness/fuse/
func BenchmarkSeqDirect1MiB(b *testing.B) {
	const (
		block = 1 << 20
		span  = 256 << 20 // offsets cycle over 256 MiB
	)
	for _, mode := range []struct {
		name string
		pol  OpenPolicy
	}{
		{"odirect", OpenPolicy{}},
		{"fopen-direct-io", OpenPolicy{DirectIO: true}},
	} {
		s, mnt := mountTest(b, Config{
			LogLimit: -1,
			Rules:    []OpenRule{{Glob: "", OpenPolicy: mode.pol}},
		})
		f, err := os.OpenFile(filepath.Join(mnt, "bench"), os.O_CREATE|os.O_RDWR|unix.O_DIRECT, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		buf := alignedBuf(b, block)
		for i := range buf {
			buf[i] = byte(i)
		}
		// Populate the span so reads move real bytes.
		for off := int64(0); off < span; off += block {
			if _, err := f.WriteAt(buf, off); err != nil {
				b.Fatal(err)
			}
		}
		for _, dir := range []string{"write", "read"} {
			b.Run(dir+"/"+mode.name, func(b *testing.B) {
				b.SetBytes(block)
				for i := 0; b.Loop(); i++ {
					off := int64(i) * block % span
					var n int
					var err error
					if dir == "write" {
						n, err = f.WriteAt(buf, off)
					} else {
						n, err = f.ReadAt(buf, off)
					}
					if err != nil || n != block {
						b.Fatalf("%s at %d: %d, %v", dir, off, n, err)
					}
				}
			})
		}
		f.Close()
		s.Close()
	}
}
