package fuse

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// The protocol is in the host's byte order; FUSE never crosses machines.
var ne = binary.NativeEndian

// errShort reports a request body shorter than its opcode requires.
var errShort = errors.New("request body too short")

// errName reports a name argument that is not NUL-terminated or empty.
var errName = errors.New("malformed name argument")

// decoder reads fixed-size fields from a request body. It never panics: once
// a read runs past the end it records errShort and returns zeros, so handlers
// check d.err once after decoding everything.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) need(n int) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || d.off+n > len(d.b) {
		d.err = errShort
		return false
	}
	return true
}

func (d *decoder) u16() uint16 {
	if !d.need(2) {
		return 0
	}
	v := ne.Uint16(d.b[d.off:])
	d.off += 2
	return v
}

func (d *decoder) u32() uint32 {
	if !d.need(4) {
		return 0
	}
	v := ne.Uint32(d.b[d.off:])
	d.off += 4
	return v
}

func (d *decoder) u64() uint64 {
	if !d.need(8) {
		return 0
	}
	v := ne.Uint64(d.b[d.off:])
	d.off += 8
	return v
}

func (d *decoder) skip(n int) {
	if d.need(n) {
		d.off += n
	}
}

// bytes returns the next n bytes without copying.
func (d *decoder) bytes(n int) []byte {
	if !d.need(n) {
		return nil
	}
	v := d.b[d.off : d.off+n]
	d.off += n
	return v
}

// name returns the next NUL-terminated string.
func (d *decoder) name() string {
	if d.err != nil {
		return ""
	}
	rest := d.b[d.off:]
	i := bytes.IndexByte(rest, 0)
	if i <= 0 {
		d.err = errName
		return ""
	}
	d.off += i + 1
	return string(rest[:i])
}

// decodeInHeader parses struct fuse_in_header from the start of buf.
func decodeInHeader(buf []byte) (inHeader, error) {
	d := decoder{b: buf}
	h := inHeader{
		Len:    d.u32(),
		Opcode: Opcode(d.u32()),
		Unique: d.u64(),
		NodeID: d.u64(),
		UID:    d.u32(),
		GID:    d.u32(),
		PID:    d.u32(),
	}
	h.TotalExtlen = d.u16()
	d.skip(2)
	return h, d.err
}

func decodeSetattrIn(d *decoder) setattrIn {
	var s setattrIn
	s.Valid = d.u32()
	d.skip(4)
	s.Fh = d.u64()
	s.Size = d.u64()
	d.skip(8) // lock_owner
	s.Atime = d.u64()
	s.Mtime = d.u64()
	s.Ctime = d.u64()
	s.Atimensec = d.u32()
	s.Mtimensec = d.u32()
	s.Ctimensec = d.u32()
	s.Mode = d.u32()
	d.skip(4)
	s.UID = d.u32()
	s.GID = d.u32()
	d.skip(4)
	return s
}

// encoder appends fixed-size fields to a reply.
type encoder struct {
	b []byte
}

func (e *encoder) u16(v uint16) { e.b = ne.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = ne.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = ne.AppendUint64(e.b, v) }
func (e *encoder) i32(v int32)  { e.b = ne.AppendUint32(e.b, uint32(v)) }
func (e *encoder) zero(n int) {
	for range n {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) attr(a *attr) {
	e.u64(a.Ino)
	e.u64(a.Size)
	e.u64(a.Blocks)
	e.u64(a.Atime)
	e.u64(a.Mtime)
	e.u64(a.Ctime)
	e.u32(a.Atimensec)
	e.u32(a.Mtimensec)
	e.u32(a.Ctimensec)
	e.u32(a.Mode)
	e.u32(a.Nlink)
	e.u32(a.UID)
	e.u32(a.GID)
	e.u32(a.Rdev)
	e.u32(a.Blksize)
	e.u32(a.Flags)
}

// entryOut appends struct fuse_entry_out.
func (e *encoder) entryOut(nodeID, gen uint64, entryValid, attrValid timeout, a *attr) {
	e.u64(nodeID)
	e.u64(gen)
	e.u64(entryValid.sec)
	e.u64(attrValid.sec)
	e.u32(entryValid.nsec)
	e.u32(attrValid.nsec)
	e.attr(a)
}

// attrOut appends struct fuse_attr_out.
func (e *encoder) attrOut(attrValid timeout, a *attr) {
	e.u64(attrValid.sec)
	e.u32(attrValid.nsec)
	e.u32(0)
	e.attr(a)
}

// openOut appends struct fuse_open_out.
func (e *encoder) openOut(fh uint64, flags uint32, backingID int32) {
	e.u64(fh)
	e.u32(flags)
	e.i32(backingID)
}

// timeout is a cache validity in the protocol's (sec, nsec) split.
type timeout struct {
	sec  uint64
	nsec uint32
}
