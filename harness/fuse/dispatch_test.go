package fuse

import (
	"encoding/binary"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// captureReplier collects replies written by the dispatcher.
type captureReplier struct{ ch chan []byte }

func newCapture() *captureReplier { return &captureReplier{ch: make(chan []byte, 64)} }

func (c *captureReplier) writeReply(msg []byte) error {
	c.ch <- append([]byte(nil), msg...)
	return nil
}

// reply is a decoded fuse_out_header plus payload.
type reply struct {
	Len     uint32
	Errno   Errno
	Unique  uint64
	Payload int // payload length
}

func decodeReply(t *testing.T, b []byte) (reply, []byte) {
	t.Helper()
	if len(b) < outHeaderSize {
		t.Fatalf("reply of %d bytes", len(b))
	}
	return reply{
		Len:     ne.Uint32(b),
		Errno:   Errno(-int32(ne.Uint32(b[4:]))),
		Unique:  ne.Uint64(b[8:]),
		Payload: len(b) - outHeaderSize,
	}, b[outHeaderSize:]
}

// next returns the next reply or fails after a second.
func (c *captureReplier) next(t *testing.T) (reply, []byte) {
	t.Helper()
	select {
	case b := <-c.ch:
		return decodeReply(t, b)
	case <-time.After(time.Second):
		t.Fatal("no reply")
	}
	return reply{}, nil
}

// none asserts that no reply was written.
func (c *captureReplier) none(t *testing.T) {
	t.Helper()
	select {
	case b := <-c.ch:
		r, _ := decodeReply(t, b)
		t.Fatalf("unexpected reply %+v", r)
	default:
	}
}

// msg builds a raw request with a correct header.
func msg(op Opcode, unique, nodeID uint64, body ...[]byte) []byte {
	var args []byte
	for _, b := range body {
		args = append(args, b...)
	}
	b := make([]byte, inHeaderSize, inHeaderSize+len(args))
	ne.PutUint32(b[0:], uint32(inHeaderSize+len(args)))
	ne.PutUint32(b[4:], uint32(op))
	ne.PutUint64(b[8:], unique)
	ne.PutUint64(b[16:], nodeID)
	ne.PutUint32(b[32:], 4242) // pid
	return append(b, args...)
}

func u32s(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.NativeEndian.AppendUint32(b, x)
	}
	return b
}

func u64s(v ...uint64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.NativeEndian.AppendUint64(b, x)
	}
	return b
}

func cstr(s string) []byte { return append([]byte(s), 0) }

// initBody is a fuse_init_in of a kernel speaking 7.minor with flags.
func initBody(minor uint32, flags uint64) []byte {
	b := u32s(7, minor, 128<<10, uint32(flags), uint32(flags>>32))
	return append(b, make([]byte, 44)...)
}

// newDispatchServer returns an unmounted server that has completed INIT.
func newDispatchServer(t *testing.T, cfg Config) (*Server, *captureReplier) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	w := newCapture()
	s.dispatch(msg(OpInit, 1, 0, initBody(41, CapInitExt|CapAsyncRead|CapPassthrough|CapMaxPages)), w, nil)
	if r, _ := w.next(t); r.Errno != 0 {
		t.Fatalf("INIT: %v", r.Errno)
	}
	return s, w
}

func TestDispatchMalformed(t *testing.T) {
	good := msg(OpGetattr, 7, RootID, make([]byte, getattrInSize))
	lenMismatch := append([]byte(nil), good...)
	ne.PutUint32(lenMismatch, uint32(len(good)+100))
	badExt := append([]byte(nil), good...)
	ne.PutUint16(badExt[36:], 1000) // total_extlen past the end
	tests := []struct {
		name string
		in   []byte
		want *reply // nil: no reply possible
	}{
		{"empty", nil, nil},
		{"short header", good[:20], nil},
		{"len mismatch", lenMismatch, &reply{Len: 16, Errno: Errno(syscall.EIO), Unique: 7}},
		{"extensions past end", badExt, &reply{Len: 16, Errno: Errno(syscall.EIO), Unique: 7}},
		{"unknown opcode", msg(Opcode(9999), 8, RootID), &reply{Len: 16, Errno: Errno(syscall.ENOSYS), Unique: 8}},
		{"unimplemented opcode", msg(OpSymlink, 9, RootID, cstr("a"), cstr("b")), &reply{Len: 16, Errno: Errno(syscall.ENOSYS), Unique: 9}},
		{"lookup without NUL", msg(OpLookup, 10, RootID, []byte("abc")), &reply{Len: 16, Errno: Errno(syscall.EIO), Unique: 10}},
		{"lookup empty name", msg(OpLookup, 11, RootID, []byte{0}), &reply{Len: 16, Errno: Errno(syscall.EIO), Unique: 11}},
		{"read short body", msg(OpRead, 12, RootID, u64s(1)), &reply{Len: 16, Errno: Errno(syscall.EIO), Unique: 12}},
		{"write size past body", msg(OpWrite, 13, RootID, u64s(0, 0), u32s(4096, 0), u64s(0), u32s(0, 0), []byte("xy")), &reply{Len: 16, Errno: Errno(syscall.EIO), Unique: 13}},
		{"setattr short", msg(OpSetattr, 14, RootID, u32s(1)), &reply{Len: 16, Errno: Errno(syscall.EIO), Unique: 14}},
		{"batch forget count lies", msg(OpBatchForget, 15, 0, u32s(1000, 0), u64s(5, 1)), nil},
		{"rename missing new name", msg(OpRename, 16, RootID, u64s(RootID), cstr("a")), &reply{Len: 16, Errno: Errno(syscall.EIO), Unique: 16}},
		{"mkdir on unknown node", msg(OpMkdir, 17, 999, u32s(0o755, 0), cstr("d")), &reply{Len: 16, Errno: Errno(syscall.ENOENT), Unique: 17}},
		{"readdir bad fh", msg(OpReaddir, 18, RootID, u64s(12345, 0), u32s(4096, 0), u64s(0), u32s(0, 0)), &reply{Len: 16, Errno: Errno(syscall.EBADF), Unique: 18}},
		{"interrupt short", msg(OpInterrupt, 19|intReqBit, 0, []byte{1}), nil},
		{"read huge size", msg(OpRead, 20, RootID, u64s(0, 0), u32s(1<<31, 0), u64s(0), u32s(0, 0)), &reply{Len: 16, Errno: Errno(syscall.EINVAL), Unique: 20}},
	}
	s, w := newDispatchServer(t, Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.dispatch(tc.in, w, nil) // must not panic
			if tc.want == nil {
				w.none(t)
				return
			}
			got, _ := w.next(t)
			if diff := cmp.Diff(*tc.want, got); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
		})
	}
	if m := s.Stats().Malformed; m < 4 {
		t.Errorf("Malformed = %d, want >= 4", m)
	}
}

// TestDispatchGarbage feeds pseudo-random messages with valid lengths: the
// dispatcher must answer or drop each without panicking.
func TestDispatchGarbage(t *testing.T) {
	s, w := newDispatchServer(t, Config{})
	seed := uint64(0x9e3779b97f4a7c15)
	rnd := func() uint64 {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return seed
	}
	ops := []Opcode{OpLookup, OpGetattr, OpSetattr, OpMknod, OpMkdir, OpUnlink, OpRmdir, OpRename,
		OpRename2, OpOpen, OpCreate, OpRead, OpWrite, OpFlush, OpFsync, OpRelease, OpOpendir,
		OpReaddir, OpReaddirplus, OpReleasedir, OpStatfs, OpFallocate, OpLseek, OpForget,
		OpBatchForget, OpInterrupt, OpInit, OpDestroy}
	for i := range 3000 {
		body := make([]byte, rnd()%200)
		for j := range body {
			body[j] = byte(rnd())
		}
		op := ops[rnd()%uint64(len(ops))]
		node := rnd() % 4
		s.dispatch(msg(op, uint64(100+2*i), node, body), w, nil)
		for len(w.ch) > 0 {
			<-w.ch
		}
	}
}

func TestDispatchInitNegotiation(t *testing.T) {
	tests := []struct {
		name      string
		minor     uint32
		offered   uint64
		caps      Capabilities
		wantMinor uint32
		wantSize  int
		wantFlags uint64 // granted
	}{
		{
			name: "7.41 full", minor: 41,
			offered:   CapInitExt | CapAsyncRead | CapBigWrites | CapMaxPages | CapPassthrough | CapDirectIOAllowMmap | CapParallelDirops,
			caps:      Capabilities{Passthrough: true, DirectIOAllowMmap: true},
			wantMinor: 41, wantSize: initOutSize,
			wantFlags: CapInitExt | CapAsyncRead | CapBigWrites | CapMaxPages | CapPassthrough | CapDirectIOAllowMmap,
		},
		{
			name: "newer kernel 7.45", minor: 45, offered: CapInitExt | CapAsyncDIO | CapWritebackCache,
			caps:      Capabilities{AsyncDIO: true, WritebackCache: true},
			wantMinor: 41, wantSize: initOutSize, wantFlags: CapInitExt | CapAsyncDIO | CapWritebackCache,
		},
		{
			name: "7.36 without INIT_EXT drops flags2", minor: 36, offered: CapAsyncRead | CapDirectIOAllowMmap,
			caps:      Capabilities{DirectIOAllowMmap: true},
			wantMinor: 36, wantSize: initOutSize, wantFlags: CapAsyncRead,
		},
		{
			name: "7.22 compat size", minor: 22, offered: CapAsyncRead | CapBigWrites,
			wantMinor: 22, wantSize: compat22InitOutSize, wantFlags: CapAsyncRead | CapBigWrites,
		},
		{
			name: "7.4 compat size", minor: 4, offered: CapAsyncRead,
			wantMinor: 4, wantSize: compatInitOutSize, wantFlags: CapAsyncRead,
		},
		{
			name: "disabled and extra", minor: 41, offered: CapInitExt | CapDoReaddirplus | CapPosixLocks | CapAsyncRead,
			caps:      Capabilities{Disabled: CapDoReaddirplus, Extra: CapPosixLocks},
			wantMinor: 41, wantSize: initOutSize, wantFlags: CapInitExt | CapPosixLocks | CapAsyncRead,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Config{Capabilities: tc.caps})
			if err != nil {
				t.Fatal(err)
			}
			w := newCapture()
			s.dispatch(msg(OpInit, 1, 0, initBody(tc.minor, tc.offered)), w, nil)
			r, p := w.next(t)
			if r.Errno != 0 || r.Payload != tc.wantSize {
				t.Fatalf("reply %+v, want payload %d", r, tc.wantSize)
			}
			d := decoder{b: p}
			major, minor := d.u32(), d.u32()
			if major != 7 || minor != tc.wantMinor {
				t.Errorf("version %d.%d, want 7.%d", major, minor, tc.wantMinor)
			}
			info := s.Init()
			if info.Granted != tc.wantFlags {
				t.Errorf("granted %#x, want %#x", info.Granted, tc.wantFlags)
			}
			if tc.wantSize == initOutSize {
				d.skip(4)
				flags := uint64(d.u32())
				d.skip(12)
				maxPages := d.u16()
				d.skip(2)
				flags |= uint64(d.u32()) << 32
				if flags != tc.wantFlags {
					t.Errorf("wire flags %#x, want %#x", flags, tc.wantFlags)
				}
				if maxPages != 256 {
					t.Errorf("max_pages %d", maxPages)
				}
			}
		})
	}
}

func TestDispatchBeforeInit(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	w := newCapture()
	s.dispatch(msg(OpGetattr, 3, RootID, make([]byte, 16)), w, nil)
	if r, _ := w.next(t); r.Errno != Errno(syscall.EIO) {
		t.Errorf("GETATTR before INIT: %v", r.Errno)
	}
}

// TestDispatchFileLifecycle drives create/write/read/readdir through raw
// messages and checks the store.
func TestDispatchFileLifecycle(t *testing.T) {
	s, w := newDispatchServer(t, Config{})
	s.dispatch(msg(OpCreate, 2, RootID, u32s(uint32(syscall.O_RDWR|syscall.O_CREAT), 0o644, 0, 0), cstr("f")), w, nil)
	r, p := w.next(t)
	if r.Errno != 0 || r.Payload != entryOutSize+openOutSize {
		t.Fatalf("CREATE: %+v", r)
	}
	node := ne.Uint64(p)
	fh := ne.Uint64(p[entryOutSize:])
	s.dispatch(msg(OpWrite, 4, node, u64s(fh, 3), u32s(5, 0), u64s(0), u32s(0, 0), []byte("hello")), w, nil)
	if r, p := w.next(t); r.Errno != 0 || ne.Uint32(p) != 5 {
		t.Fatalf("WRITE: %+v", r)
	}
	s.dispatch(msg(OpRead, 6, node, u64s(fh, 0), u32s(100, 0), u64s(0), u32s(0, 0)), w, nil)
	r, p = w.next(t)
	if diff := cmp.Diff("\x00\x00\x00hello", string(p)); r.Errno != 0 || diff != "" {
		t.Fatalf("READ %v (-want +got):\n%s", r.Errno, diff)
	}
	got, err := s.FileContent("/f")
	if err != nil || string(got) != "\x00\x00\x00hello" {
		t.Fatalf("FileContent = %q, %v", got, err)
	}
	s.dispatch(msg(OpRelease, 8, node, u64s(fh), u32s(0, 0), u64s(0)), w, nil)
	if r, _ := w.next(t); r.Errno != 0 {
		t.Fatalf("RELEASE: %v", r.Errno)
	}
	s.dispatch(msg(OpForget, 10, node, u64s(1)), w, nil)
	w.none(t)
	if st := s.Stats(); st.Count(OpForget) != 1 || st.Count(OpWrite) != 1 {
		t.Errorf("counts %v", st.Counts)
	}
}

// TestDispatchGateAsync shows a held request does not block the worker:
// later requests are answered while the gated one waits.
func TestDispatchGateAsync(t *testing.T) {
	s, w := newDispatchServer(t, Config{})
	if err := s.ArmGate("g", OpGetattr, "/"); err != nil {
		t.Fatal(err)
	}
	s.dispatch(msg(OpGetattr, 2, RootID, make([]byte, 16)), w, nil)
	if _, err := s.WaitHeld("g", 1, time.Second); err != nil {
		t.Fatal(err)
	}
	s.dispatch(msg(OpStatfs, 4, RootID), w, nil)
	if r, _ := w.next(t); r.Unique != 4 {
		t.Fatalf("got reply for %d first, want STATFS (4)", r.Unique)
	}
	// The held request is the one the server has not answered, with
	// the gate that holds it; the answered STATFS is not.
	p := s.Pending()
	if len(p) != 1 || p[0].Unique != 2 || p[0].Op != OpGetattr || p[0].Gate != "g" || !p[0].End.IsZero() {
		t.Errorf("Pending = %+v, want the held GETATTR 2 at gate g", p)
	}
	// An INTERRUPT for the held request ends it with EINTR.
	s.dispatch(msg(OpInterrupt, 6|intReqBit, 0, u64s(2)), w, nil)
	if r, _ := w.next(t); r.Unique != 2 || r.Errno != Errno(syscall.EINTR) {
		t.Fatalf("interrupted reply %+v", r)
	}
	if st, _ := s.Stats().Gate("g"); st.Held != 0 {
		t.Errorf("held after interrupt = %d", st.Held)
	}
	if p := s.Pending(); len(p) != 0 {
		t.Errorf("Pending after the interrupt = %+v, want none", p)
	}
}

// TestHandlerSets: both file systems are served by one handler set; the
// in-memory tree answers ENOSYS to links, FSYNCDIR and xattrs, which it
// does not implement, and the directory backend to READDIRPLUS.
func TestHandlerSets(t *testing.T) {
	posix := []Opcode{OpSymlink, OpReadlink, OpLink, OpFsyncdir, OpGetxattr, OpListxattr, OpSetxattr, OpRemovexattr}
	mem, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	dir, err := New(Config{Source: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	for _, op := range posix {
		if _, ok := mem.ops[op]; ok {
			t.Errorf("the in-memory tree serves %v", op)
		}
		if _, ok := dir.ops[op]; !ok {
			t.Errorf("the directory backend does not serve %v", op)
		}
	}
	if _, ok := mem.ops[OpReaddirplus]; !ok {
		t.Errorf("the in-memory tree does not serve READDIRPLUS")
	}
	if _, ok := dir.ops[OpReaddirplus]; ok {
		t.Errorf("the directory backend serves READDIRPLUS")
	}
	for op := range mem.ops {
		if _, ok := dir.ops[op]; !ok && op != OpReaddirplus {
			t.Errorf("%v is served by the in-memory tree only", op)
		}
	}
}
