package fuse

import "os"

// chunkSize is the allocation unit of file content. Chunks make sparse
// files cheap: a write at offset 10 GiB of a file pre-populated by size
// allocates one chunk, not 10 GiB, which matters inside a small guest.
const chunkSize = 64 << 10

// sparse is file content as chunks; missing chunks read as zeros. The
// file size is kept by the node, not here.
type sparse struct {
	chunks map[int64][]byte // chunk index -> chunkSize bytes
}

// readAt fills dst from offset off (zeros where nothing was written).
func (s *sparse) readAt(dst []byte, off int64) {
	for len(dst) > 0 {
		idx, in := off/chunkSize, int(off%chunkSize)
		n := min(len(dst), chunkSize-in)
		if c, ok := s.chunks[idx]; ok {
			copy(dst[:n], c[in:])
		} else {
			clear(dst[:n])
		}
		dst, off = dst[n:], off+int64(n)
	}
}

// writeAt stores src at off, allocating chunks as needed.
func (s *sparse) writeAt(src []byte, off int64) {
	if s.chunks == nil {
		s.chunks = map[int64][]byte{}
	}
	for len(src) > 0 {
		idx, in := off/chunkSize, int(off%chunkSize)
		n := min(len(src), chunkSize-in)
		c, ok := s.chunks[idx]
		if !ok {
			c = make([]byte, chunkSize)
			s.chunks[idx] = c
		}
		copy(c[in:in+n], src[:n])
		src, off = src[n:], off+int64(n)
	}
}

// zero clears [off, end): whole chunks are dropped, partial ones cleared.
func (s *sparse) zero(off, end int64) {
	for off < end {
		idx, in := off/chunkSize, int(off%chunkSize)
		n := min(end-off, int64(chunkSize-in))
		if c, ok := s.chunks[idx]; ok {
			if n == chunkSize {
				delete(s.chunks, idx)
			} else {
				clear(c[in : in+int(n)])
			}
		}
		off += n
	}
}

// truncate discards content at and beyond size so a later extension reads
// zeros, not old data.
func (s *sparse) truncate(size int64) {
	for idx, c := range s.chunks {
		start := idx * chunkSize
		switch {
		case start >= size:
			delete(s.chunks, idx)
		case start+chunkSize > size:
			clear(c[size-start:])
		}
	}
}

// writeTo copies the content of a size-byte file into f.
func (s *sparse) writeTo(f *os.File, size int64) error {
	for idx, c := range s.chunks {
		start := idx * chunkSize
		if start >= size {
			continue
		}
		if _, err := f.WriteAt(c[:min(chunkSize, size-start)], start); err != nil {
			return err
		}
	}
	return f.Truncate(size)
}

// allocated returns the number of bytes allocated (for tests).
func (s *sparse) allocated() int { return len(s.chunks) * chunkSize }
