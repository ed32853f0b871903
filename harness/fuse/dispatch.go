package fuse

import (
	"errors"
	"fmt"
	"runtime/debug"
	"syscall"
	"time"
)

// replier writes one reply message. The device implementation writes to the
// /dev/fuse descriptor the request was read from (the kernel looks the
// request up in that descriptor's processing queue); tests capture replies.
type replier interface {
	writeReply(msg []byte) error
}

// request is one parsed request on its way through the dispatcher.
type request struct {
	hdr  inHeader
	body []byte // arguments after the header, extensions stripped
	w    replier
	// out holds the reply: outHeaderSize bytes reserved, then the payload.
	out     encoder
	seq     uint64
	path    string
	noReply bool
	// replyFlags is logged for OPEN/CREATE/OPENDIR.
	replyFlags uint32
	// afterReply runs once the reply has been written (INIT readiness).
	afterReply func()
	// onError runs if the reply carries an error or could not be written
	// (undo of side effects such as an open handle).
	onError func()
}

// handler runs one opcode. It appends the reply payload to r.out and
// returns nil, or returns an error that becomes the reply's errno.
type handler func(s *Server, r *request) error

// dispatch handles one message read from the device. buf is only valid
// during the call; requests that must wait (gate, delay) are copied and
// finished on their own goroutine so the worker keeps reading. out is
// scratch space for the reply that the caller owns.
func (s *Server) dispatch(buf []byte, w replier, out []byte) {
	if len(buf) < inHeaderSize {
		s.malformed("short message: %d bytes", len(buf))
		return
	}
	hdr, _ := decodeInHeader(buf)
	if cap(out) < outHeaderSize {
		out = make([]byte, 0, outHeaderSize+512)
	}
	r := &request{hdr: hdr, w: w, out: encoder{b: out[:outHeaderSize]}}
	if int(hdr.Len) != len(buf) {
		s.malformed("%v unique %d: header len %d, read %d", hdr.Opcode, hdr.Unique, hdr.Len, len(buf))
		s.replyRaw(r, Errno(syscall.EIO))
		return
	}
	ext := int(hdr.TotalExtlen) * 8
	if ext > len(buf)-inHeaderSize {
		s.malformed("%v unique %d: extensions %d bytes past the end", hdr.Opcode, hdr.Unique, ext)
		s.replyRaw(r, Errno(syscall.EIO))
		return
	}
	r.body = buf[inHeaderSize : len(buf)-ext]

	if hdr.Opcode == OpInterrupt {
		s.opInterrupt(r)
		return
	}
	h, ok := s.ops[hdr.Opcode]
	if !ok {
		s.begin(r)
		s.finish(r, Errno(syscall.ENOSYS))
		return
	}
	if hdr.Opcode != OpInit && !s.initialized() {
		s.malformed("%v unique %d before INIT", hdr.Opcode, hdr.Unique)
		s.replyRaw(r, Errno(syscall.EIO))
		return
	}
	if s.isPollHack(r) {
		if err := s.pollHackRequest(r); !r.noReply {
			s.replyRaw(r, toErrno(err))
		}
		return
	}
	r.path = s.requestPath(r)
	s.begin(r)
	if hdr.Opcode.noReply() {
		r.noReply = true
		s.run(h, r)
		return
	}

	gateName, hold := s.gates.hold(hdr.Opcode, r.path, hdr.Unique)
	fault, faulty := s.faults.match(hdr.Opcode, r.path)
	if hold == nil && (!faulty || fault.Delay <= 0) {
		if faulty {
			// A fault without delay or errno only marks the record.
			s.annotateFault(r, fault)
			if fault.Errno != 0 {
				s.finish(r, fault.Errno)
				return
			}
		}
		s.run(h, r)
		return
	}

	// Waiting must not block the worker: copy what the request borrows
	// from the worker's buffers and finish it on its own goroutine.
	r.body = append([]byte(nil), r.body...)
	r.out = encoder{b: make([]byte, outHeaderSize, outHeaderSize+512)}
	if hold != nil {
		s.recorder.annotate(r.seq, func(rec *Record) { rec.Gate = gateName })
	}
	intr := s.interrupts.track(hdr.Unique)
	s.reqWG.Add(1)
	go func() {
		defer s.reqWG.Done()
		defer s.interrupts.untrack(hdr.Unique)
		if hold != nil && !s.waitGate(r, gateName, hold, intr) {
			return
		}
		if faulty {
			s.annotateFault(r, fault)
			if fault.Delay > 0 && !s.sleep(r, fault.Delay.D(), intr) {
				return
			}
			if fault.Errno != 0 {
				s.finish(r, fault.Errno)
				return
			}
		}
		s.run(h, r)
	}()
}

// run calls the handler and sends its reply. A panic in a handler becomes
// an EIO reply, so one malformed request cannot take the server down.
func (s *Server) run(h handler, r *request) {
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				s.logf("panic handling %v unique %d: %v\n%s", r.hdr.Opcode, r.hdr.Unique, p, debug.Stack())
				err = Errno(syscall.EIO)
				r.out.b = r.out.b[:outHeaderSize]
			}
		}()
		err = h(s, r)
	}()
	s.finish(r, err)
}

// begin logs and counts the request.
func (s *Server) begin(r *request) {
	rec := Record{
		Op: r.hdr.Opcode, Unique: r.hdr.Unique, NodeID: r.hdr.NodeID, Path: r.path,
		PID: r.hdr.PID, Start: time.Now(),
	}
	if wk, ok := r.w.(interface{ worker() int }); ok {
		rec.Worker = wk.worker()
	}
	describe(&rec, r.body)
	r.seq = s.recorder.begin(rec)
}

// finish completes the record and writes the reply (unless the opcode has
// none). The record is completed first: once the reply is written the
// kernel may send the caller's next request, or return to the caller, and
// neither must observe this request as still in flight.
func (s *Server) finish(r *request, err error) {
	errno := toErrno(err)
	s.recorder.end(r.seq, r.hdr.NodeID, r.hdr.Opcode, func(rec *Record) {
		rec.End = time.Now()
		rec.Errno = errno
		rec.Reply = r.replyFlags
	})
	if !r.noReply {
		if werr := s.replyRaw(r, errno); werr != nil && errno == 0 {
			errno = Errno(syscall.EIO)
			s.recorder.annotate(r.seq, func(rec *Record) { rec.Errno = errno })
		}
	}
	if errno != 0 && r.onError != nil {
		r.onError()
	}
	if errno == 0 && r.afterReply != nil {
		r.afterReply()
	}
}

// replyRaw fills the out header and writes the reply; an error reply
// carries no payload.
func (s *Server) replyRaw(r *request, errno Errno) error {
	b := r.out.b
	if len(b) < outHeaderSize {
		b = make([]byte, outHeaderSize)
	}
	if errno != 0 {
		b = b[:outHeaderSize]
	}
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint32(b[4:], uint32(-int32(errno)))
	ne.PutUint64(b[8:], r.hdr.Unique)
	err := r.w.writeReply(b)
	if err != nil && !errors.Is(err, syscall.ENOENT) {
		// ENOENT means the kernel no longer waits for this reply
		// (interrupted or aborted): expected, not worth a log line.
		s.logf("reply to %v unique %d: %v", r.hdr.Opcode, r.hdr.Unique, err)
	}
	return err
}

func (s *Server) annotateFault(r *request, f Fault) {
	name := f.Name
	if name == "" {
		name = fmt.Sprintf("%v %s", f.Op, f.Glob)
	}
	s.recorder.annotate(r.seq, func(rec *Record) { rec.Fault = name })
}

func (s *Server) malformed(format string, args ...any) {
	s.recorder.addMalformed()
	s.logf("malformed request: "+format, args...)
}

// requestPath is the path rules and faults match: the target name for
// operations that name an entry, else the node's own path.
func (s *Server) requestPath(r *request) string {
	path, childPath := s.fs.path, s.fs.childPath
	var nameOff int
	switch r.hdr.Opcode {
	case OpLookup, OpUnlink, OpRmdir:
		nameOff = 0
	case OpMkdir, OpRename:
		nameOff = 8
	case OpMknod, OpCreate:
		nameOff = mknodInSize
		if s.minor() < 12 {
			nameOff = compatMknodInSize
		}
	case OpRename2:
		nameOff = rename2InSize
	default:
		return path(r.hdr.NodeID)
	}
	d := decoder{b: r.body}
	d.skip(nameOff)
	name := d.name()
	if d.err != nil {
		return path(r.hdr.NodeID)
	}
	return childPath(r.hdr.NodeID, name)
}

// describe extracts offset, size and flags for the log without failing on
// short bodies (the handler reports those).
func describe(rec *Record, body []byte) {
	d := decoder{b: body}
	switch rec.Op {
	case OpRead, OpWrite, OpReaddir, OpReaddirplus:
		d.skip(8)
		rec.Offset = d.u64()
		rec.Size = d.u32()
		rec.Flags = d.u32() // read_flags / write_flags
	case OpFallocate:
		d.skip(8)
		rec.Offset = d.u64()
		rec.Size = uint32(min(d.u64(), 1<<32-1))
		rec.Flags = d.u32()
	case OpLseek:
		d.skip(8)
		rec.Offset = d.u64()
		rec.Flags = d.u32()
	case OpOpen, OpOpendir, OpCreate:
		rec.Flags = d.u32()
	case OpSetattr:
		rec.Flags = d.u32() // valid
		d.skip(12)
		rec.Offset = d.u64() // size
	case OpFsync:
		d.skip(8)
		rec.Flags = d.u32()
	}
}
