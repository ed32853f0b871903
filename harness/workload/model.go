package workload

// Model is the file's expected content: what a sequence's completed
// operations must have left, whatever path reads it.
type Model struct {
	data []byte
}

// Size is the expected file size.
func (m *Model) Size() int64 { return int64(len(m.data)) }

// Bytes is the expected content (not a copy).
func (m *Model) Bytes() []byte { return m.data }

// Write stores b at off, growing the file (with zeros in any gap).
func (m *Model) Write(off int64, b []byte) {
	if end := off + int64(len(b)); end > m.Size() {
		m.data = append(m.data, make([]byte, end-m.Size())...)
	}
	copy(m.data[off:], b)
}

// Store overwrites [off, off+len(b)) within the size (a mapping cannot
// grow the file).
func (m *Model) Store(off int64, b []byte) {
	if off >= m.Size() {
		return
	}
	copy(m.data[off:], b)
}

// Truncate sets the size; growing adds zeros.
func (m *Model) Truncate(size int64) {
	if size <= m.Size() {
		m.data = m.data[:size]
		return
	}
	m.data = append(m.data, make([]byte, size-m.Size())...)
}

// Fallocate applies fallocate(mode, off, n): a punched or zeroed range
// reads as zeros; without FALLOC_FL_KEEP_SIZE the file grows to cover
// the range.
func (m *Model) Fallocate(mode uint32, off, n int64) {
	end := off + n
	if mode&(FallocPunchHole|FallocZeroRange) != 0 {
		for i := off; i < min(end, m.Size()); i++ {
			m.data[i] = 0
		}
	}
	if mode&FallocKeepSize == 0 && end > m.Size() {
		m.Truncate(end)
	}
}

// Read is what a read of n bytes at off returns.
func (m *Model) Read(off, n int64) []byte {
	if off >= m.Size() {
		return nil
	}
	return m.data[off:min(off+n, m.Size())]
}
