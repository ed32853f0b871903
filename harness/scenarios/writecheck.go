package scenarios

import (
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// Assertions on the probe events of one write call on a block
// filesystem: its iomap direct I/O calls, its return value, the absence
// of a buffered fallback and the pre-write invalidation.

// IOMAP_DIO_* flags (include/linux/iomap.h) as dio_flags of iomap_dio_rw_begin.
const (
	dioForceWait     = 1 << 0
	dioOverwriteOnly = 1 << 1
)

// dioBegins returns the iomap_dio_rw_begin events.
func dioBegins(ev probe.Events) probe.Events { return ev.Of(probe.KindDIOBegin) }

// oneDIO checks exactly one iomap direct write with the given dio_flags
// that completed with ret.
func oneDIO(t *scenario.T, what string, ev probe.Events, pos, count int64, flags uint32, ret int64) {
	b := dioBegins(ev)
	c := ev.Of(probe.KindDIOComplete)
	if len(b) != 1 || len(c) != 1 {
		t.Fatalf("%s: %d iomap_dio_rw_begin and %d iomap_dio_complete, want 1 each\n%s", what, len(b), len(c), ev)
	}
	if int64(b[0].A0) != pos || int64(b[0].A1) != count || b[0].Aux != flags {
		t.Fatalf("%s: iomap_dio_rw_begin %s, want pos=%d count=%d dio_flags=%#x\n%s", what, b[0], pos, count, flags, ev)
	}
	if c[0].Ret != ret {
		t.Fatalf("%s: iomap_dio_complete %s, want ret=%d\n%s", what, c[0], ret, ev)
	}
}

// noBuffered fails if the write went through a buffered path.
func noBuffered(t *scenario.T, what string, ev probe.Events) {
	if bw := ev.Of(probe.KindBufferedWrite, probe.KindExt4WriteBegin, probe.KindDIOInvalidateFail); len(bw) > 0 {
		t.Fatalf("%s: unexpected buffered fallback\n%s", what, ev)
	}
}

// writeExit returns the (single) exit event of the write path fn.
func writeExit(t *scenario.T, what string, ev probe.Events, fn probe.Func) probe.Event {
	ex := ev.Of(probe.KindWriteExit).Where(func(e probe.Event) bool { return e.Func() == fn })
	if len(ex) != 1 {
		t.Fatalf("%s: %d exits of %s, want 1\n%s", what, len(ex), fn, ev)
	}
	return ex[0]
}

// wantExit checks the write call's return value.
func wantExit(t *scenario.T, what string, ev probe.Events, fn probe.Func, ret int64) probe.Event {
	e := writeExit(t, what, ev, fn)
	if e.Ret != ret {
		t.Fatalf("%s: %s returned %d, want %d\n%s", what, fn, e.Ret, ret, ev)
	}
	return e
}

// preInvalidation returns the exits of invalidate_inode_pages2_range
// called from kiocb_invalidate_pages (the pre-write invalidation).
func preInvalidation(ev probe.Events) probe.Events {
	return ev.Of(probe.KindInvalidateExit).Where(func(e probe.Event) bool {
		return e.Within.Has(probe.FuncKiocbInvalidatePages)
	})
}
