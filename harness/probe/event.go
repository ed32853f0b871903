package probe

import (
	"encoding/binary"
	"fmt"
	"strings"
	"syscall"
	"time"
)

// InodeID identifies an inode as the kernel does: the superblock's dev_t in
// kernel encoding (major<<20 | minor) and i_ino.
type InodeID struct {
	Dev uint32
	Ino uint64
}

func (id InodeID) String() string {
	return fmt.Sprintf("%d:%d/%d", id.Dev>>20, id.Dev&(1<<20-1), id.Ino)
}

// Event is one record from the ring buffer. The meaning of Ret, A0-A2, Aux
// and the counters depends on Kind; see the Kind constants.
type Event struct {
	// TS is CLOCK_MONOTONIC at the probe (bpf_ktime_get_ns).
	TS    time.Duration
	PID   uint32 // thread group id
	TID   uint32
	Inode InodeID
	Kind  Kind
	// Path is the innermost context function the thread was inside
	// before this event; Within is the set of all of them.
	Path      Func
	Within    FuncSet
	Ret       int64
	A0        uint64
	A1        uint64
	A2        uint64
	CtrBefore int32
	CtrAfter  int32
	Flags     Flags
	Aux       uint32
}

// eventSize is sizeof(struct event) in bpf/common.h.
const eventSize = 88

// Field offsets of struct event (checked against bpf/common.h by
// TestEventLayoutMatchesC).
var eventOffsets = map[string]int{
	"ts_ns": 0, "ino": 8, "ret": 16, "a0": 24, "a1": 32, "a2": 40,
	"pid": 48, "tid": 52, "dev": 56, "within": 60, "ctr_before": 64,
	"ctr_after": 68, "flags": 72, "aux": 76, "kind": 80, "path": 82, "_pad": 84,
}

// decodeEvent decodes a ring-buffer record.
func decodeEvent(b []byte) (Event, error) {
	if len(b) < eventSize {
		return Event{}, fmt.Errorf("probe: short event record: %d bytes, want %d", len(b), eventSize)
	}
	le := binary.LittleEndian
	u64 := func(f string) uint64 { return le.Uint64(b[eventOffsets[f]:]) }
	u32 := func(f string) uint32 { return le.Uint32(b[eventOffsets[f]:]) }
	u16 := func(f string) uint16 { return le.Uint16(b[eventOffsets[f]:]) }
	e := Event{
		TS:        time.Duration(u64("ts_ns")),
		PID:       u32("pid"),
		TID:       u32("tid"),
		Inode:     InodeID{Dev: u32("dev"), Ino: u64("ino")},
		Kind:      Kind(u16("kind")),
		Path:      Func(u16("path")),
		Within:    FuncSet(u32("within")),
		Ret:       int64(u64("ret")),
		A0:        u64("a0"),
		A1:        u64("a1"),
		A2:        u64("a2"),
		CtrBefore: int32(u32("ctr_before")),
		CtrAfter:  int32(u32("ctr_after")),
		Flags:     Flags(u32("flags")) &^ flagInternal,
		Aux:       u32("aux"),
	}
	if e.Kind == KindNone || int(e.Kind) >= kindMax {
		return e, fmt.Errorf("probe: event with unknown kind %d", e.Kind)
	}
	return e, nil
}

// encodeEvent is the inverse of decodeEvent; used by tests.
func encodeEvent(e Event) []byte {
	b := make([]byte, eventSize)
	le := binary.LittleEndian
	le.PutUint64(b[eventOffsets["ts_ns"]:], uint64(e.TS))
	le.PutUint64(b[eventOffsets["ino"]:], e.Inode.Ino)
	le.PutUint64(b[eventOffsets["ret"]:], uint64(e.Ret))
	le.PutUint64(b[eventOffsets["a0"]:], e.A0)
	le.PutUint64(b[eventOffsets["a1"]:], e.A1)
	le.PutUint64(b[eventOffsets["a2"]:], e.A2)
	le.PutUint32(b[eventOffsets["pid"]:], e.PID)
	le.PutUint32(b[eventOffsets["tid"]:], e.TID)
	le.PutUint32(b[eventOffsets["dev"]:], e.Inode.Dev)
	le.PutUint32(b[eventOffsets["within"]:], uint32(e.Within))
	le.PutUint32(b[eventOffsets["ctr_before"]:], uint32(e.CtrBefore))
	le.PutUint32(b[eventOffsets["ctr_after"]:], uint32(e.CtrAfter))
	le.PutUint32(b[eventOffsets["flags"]:], uint32(e.Flags))
	le.PutUint32(b[eventOffsets["aux"]:], e.Aux)
	le.PutUint16(b[eventOffsets["kind"]:], uint16(e.Kind))
	le.PutUint16(b[eventOffsets["path"]:], uint16(e.Path))
	return b
}

// Func returns Aux as a context function (write, invalidation, buffered
// events).
func (e Event) Func() Func { return Func(e.Aux) }

// LockFn returns Aux as the rwsem function of a lock event.
func (e Event) LockFn() LockFn { return LockFn(e.Aux) }

// Errno returns -Ret as an errno when Ret is a negative error code, else 0.
func (e Event) Errno() syscall.Errno {
	if e.Ret < 0 && e.Ret >= -4095 {
		return syscall.Errno(-e.Ret)
	}
	return 0
}

// Opcode returns the FUSE opcode of a request event.
func (e Event) Opcode() uint32 { return e.Aux }

func retString(r int64) string {
	if r < 0 && r >= -4095 {
		name := syscall.Errno(-r).Error()
		if en := errnoName(syscall.Errno(-r)); en != "" {
			name = en
		}
		return fmt.Sprintf("%d(%s)", r, name)
	}
	return fmt.Sprint(r)
}

func errnoName(e syscall.Errno) string {
	switch e {
	case syscall.ENOTBLK:
		return "ENOTBLK"
	case syscall.EBUSY:
		return "EBUSY"
	case syscall.EIO:
		return "EIO"
	case syscall.ENOMEM:
		return "ENOMEM"
	case syscall.EAGAIN:
		return "EAGAIN"
	case syscall.ETXTBSY:
		return "ETXTBSY"
	case syscall.EINVAL:
		return "EINVAL"
	case syscall.EINTR:
		return "EINTR"
	case syscall.ENODEV:
		return "ENODEV"
	}
	return ""
}

// detail renders the kind-specific fields.
func (e Event) detail() string {
	ctr := func() string {
		if !e.Flags.Has(FlagCtrValid) {
			return "ctr=?"
		}
		cb := func(f Flags) string {
			if e.Flags.Has(f) {
				return "+C"
			}
			return ""
		}
		return fmt.Sprintf("ctr=%d%s->%d%s", e.CtrBefore, cb(FlagCacheIOBefore), e.CtrAfter, cb(FlagCacheIOAfter))
	}
	switch e.Kind {
	case KindMarker:
		return fmt.Sprintf("cookie=%d", e.A0)
	case KindWriteEnter:
		return fmt.Sprintf("%s pos=%d count=%d ki_flags=%#x open_flags=%#x", e.Func(), e.A0, e.A1, uint32(e.A2), uint32(e.A2>>32))
	case KindWriteExit:
		return fmt.Sprintf("%s ret=%s pos=%d seen=[%s]", e.Func(), retString(e.Ret), e.A0, e.Flags)
	case KindLockShared, KindLockExclusive, KindLockTryFailed, KindLockUpgraded,
		KindUnlockShared, KindUnlockExclusive, KindLockDowngrade:
		s := e.LockFn().String()
		if e.Flags != 0 {
			s += " [" + e.Flags.String() + "]"
		}
		if e.Kind == KindLockTryFailed {
			s += " ret=" + retString(e.Ret)
		}
		return s
	case KindCachedIOOpenEnter, KindUncachedIOStartEnter, KindUncachedIOEndEnter,
		KindFileIOOpenEnter, KindFileIOReleaseEnter, KindFuseMmapEnter:
		s := ctr()
		if e.Flags.Has(FlagSharedMap) {
			s += " shared"
		}
		return s
	case KindCachedIOOpenExit, KindUncachedIOStartExit, KindUncachedIOEndExit,
		KindFileIOOpenExit, KindFileIOReleaseExit, KindFuseMmapExit:
		return fmt.Sprintf("ret=%s %s", retString(e.Ret), ctr())
	case KindInvalidateEnter, KindKiocbInvalidateEnter, KindKiocbInvalidatePostEnter,
		KindWriteAndWaitEnter:
		return fmt.Sprintf("range=[%d,%d]", int64(e.A0), int64(e.A1))
	case KindLaunderEnter:
		return fmt.Sprintf("index=%d", e.A0)
	case KindFuseDirectIOEnter:
		return fmt.Sprintf("pos=%d count=%d [%s]", e.A0, e.A1, e.Flags)
	case KindInvalidateExit, KindKiocbInvalidateExit, KindKiocbInvalidatePostExit,
		KindWriteAndWaitExit, KindLaunderExit, KindFuseDirectIOExit, KindIomapDioRw:
		return "ret=" + retString(e.Ret)
	case KindIomapDioRwInner:
		switch {
		case e.Flags.Has(FlagErrPtr):
			return "ERR_PTR(" + retString(e.Ret) + ")"
		case e.Flags.Has(FlagNull):
			return "NULL"
		}
		return "dio"
	case KindDIOBegin:
		return fmt.Sprintf("pos=%d count=%d done_before=%d dio_flags=%#x", e.A0, e.A1, e.A2, e.Aux)
	case KindDIOComplete:
		return fmt.Sprintf("ret=%s error=%s", retString(e.Ret), retString(int64(e.A1)))
	case KindDIOInvalidateFail:
		return fmt.Sprintf("off=%d len=%d", e.A0, e.A1)
	case KindBufferedWrite:
		return fmt.Sprintf("%s pos=%d count=%d", e.Func(), e.A0, e.A1)
	case KindExt4WriteBegin:
		name := "ext4_write_begin"
		if e.Aux == 1 {
			name = "ext4_da_write_begin"
		}
		return fmt.Sprintf("%s pos=%d len=%d", name, e.A0, e.A1)
	case KindXfsIomapInvalid, KindXfsIomapValidFalse:
		return fmt.Sprintf("off=%d len=%d cookie=%d", e.A0, e.A1, e.A2)
	case KindFuseRequestSend:
		return fmt.Sprintf("%s unique=%d nodeid=%d", fuseOpcodeName(e.Opcode()), e.A0, e.A1)
	case KindFuseRequestEnd:
		return fmt.Sprintf("%s unique=%d error=%s", fuseOpcodeName(e.Opcode()), e.A0, retString(e.Ret))
	case KindTraceIOMode:
		return fmt.Sprintf("%s err=%s %s", IOModeEvent(e.Aux), retString(e.Ret), ctr())
	case KindTraceDIOWriteLock:
		mode := "shared"
		if e.Flags.Has(FlagExclusive) {
			mode = "exclusive"
		}
		return fmt.Sprintf("%s %s pos=%d count=%d", mode, DIOLockReason(e.Aux), e.A0, e.A1)
	case KindFaultInjected:
		return fmt.Sprintf("%s ret=%s left=%d within=%s", Site(e.Aux), retString(e.Ret), int64(e.A0), Func(e.A1))
	}
	return ""
}

// String renders the event on one line, e.g.
// "+1.234567ms 812/813 0:52/2 LockShared down_read path=fuse_file_write_iter".
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d %s %s", e.PID, e.TID, e.Inode, e.Kind)
	if d := e.detail(); d != "" {
		b.WriteString(" ")
		b.WriteString(d)
	}
	if e.Path != FuncNone {
		fmt.Fprintf(&b, " path=%s", e.Path)
	}
	return b.String()
}

var fuseOpcodes = map[uint32]string{
	1: "LOOKUP", 2: "FORGET", 3: "GETATTR", 4: "SETATTR", 5: "READLINK", 6: "SYMLINK",
	8: "MKNOD", 9: "MKDIR", 10: "UNLINK", 11: "RMDIR", 12: "RENAME", 13: "LINK",
	14: "OPEN", 15: "READ", 16: "WRITE", 17: "STATFS", 18: "RELEASE", 20: "FSYNC",
	21: "SETXATTR", 22: "GETXATTR", 23: "LISTXATTR", 24: "REMOVEXATTR", 25: "FLUSH",
	26: "INIT", 27: "OPENDIR", 28: "READDIR", 29: "RELEASEDIR", 30: "FSYNCDIR",
	31: "GETLK", 32: "SETLK", 33: "SETLKW", 34: "ACCESS", 35: "CREATE", 36: "INTERRUPT",
	37: "BMAP", 38: "DESTROY", 39: "IOCTL", 40: "POLL", 41: "NOTIFY_REPLY",
	42: "BATCH_FORGET", 43: "FALLOCATE", 44: "READDIRPLUS", 45: "RENAME2", 46: "LSEEK",
	47: "COPY_FILE_RANGE", 48: "SETUPMAPPING", 49: "REMOVEMAPPING", 50: "SYNCFS",
	51: "TMPFILE", 52: "STATX",
}

func fuseOpcodeName(op uint32) string {
	if n, ok := fuseOpcodes[op]; ok {
		return n
	}
	return fmt.Sprintf("op%d", op)
}

// FUSE opcodes used in queries.
const (
	FuseOpOpen    uint32 = 14
	FuseOpRead    uint32 = 15
	FuseOpWrite   uint32 = 16
	FuseOpRelease uint32 = 18
	FuseOpFlush   uint32 = 25
)
