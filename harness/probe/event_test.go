package probe

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeEventRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
	}{
		{"lock", Event{TS: 1234 * time.Microsecond, PID: 10, TID: 11, Inode: InodeID{Dev: 8<<20 | 1, Ino: 12},
			Kind: KindLockShared, Path: FuncExt4FileWriteIter, Within: 1 << FuncExt4FileWriteIter, Aux: uint32(LockDownRead)}},
		{"negative-fields", Event{PID: 1, TID: 1, Kind: KindCachedIOOpenExit, Ret: -16, CtrBefore: -1, CtrAfter: -2,
			Flags: FlagCtrValid | FlagCacheIOBefore, A0: ^uint64(0)}},
		{"all-a", Event{Kind: KindDIOBegin, A0: 1, A1: 2, A2: 3, Aux: 7}},
		{"fault", Event{Kind: KindFaultInjected, Ret: -12, A0: 0, A1: uint64(FuncFuseLaunderFolio), Aux: uint32(SiteFailslab)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeEvent(encodeEvent(tt.ev))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.ev, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeEventErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"short", make([]byte, eventSize-1), "short event record"},
		{"kind-none", encodeEvent(Event{}), "unknown kind 0"},
		{"kind-unknown", encodeEvent(Event{Kind: Kind(FamilyFault)<<8 | 0xff}), "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeEvent(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeMasksInternalFlags(t *testing.T) {
	got, err := decodeEvent(encodeEvent(Event{Kind: KindWriteExit, Flags: FlagSharedSeen | flagInternal}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Flags != FlagSharedSeen {
		t.Errorf("flags = %v, want only shared", got.Flags)
	}
}

func TestEventString(t *testing.T) {
	dev := uint32(0<<20 | 52)
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{PID: 5, TID: 6, Inode: InodeID{dev, 2}, Kind: KindLockShared, Aux: uint32(LockDownRead), Path: FuncFuseFileWriteIter},
			"5/6 0:52/2 LockShared down_read i_size=0 path=fuse_file_write_iter"},
		{Event{PID: 5, TID: 6, Inode: InodeID{dev, 2}, Kind: KindLockTryFailed, Aux: uint32(LockDownWriteTrylock), Flags: FlagTrylock | FlagFailed},
			"5/6 0:52/2 LockTryFailed down_write_trylock [trylock|failed] ret=0"},
		{Event{Kind: KindCachedIOOpenExit, Ret: 0, CtrBefore: 0, CtrAfter: 1, Flags: FlagCtrValid | FlagCacheIOAfter, Path: FuncFuseFileMmap},
			"0/0 0:0/0 CachedIOOpenExit ret=0 ctr=0->1+C path=fuse_file_mmap"},
		{Event{Kind: KindUncachedIOStartExit, Ret: -26},
			"0/0 0:0/0 UncachedIOStartExit ret=-26(ETXTBSY) ctr=?"},
		{Event{Kind: KindInvalidateExit, Ret: -16, Path: FuncFuseDirectIO},
			"0/0 0:0/0 InvalidateExit ret=-16(EBUSY) path=fuse_direct_io"},
		{Event{Kind: KindIomapDIORwInner, Ret: -15, Flags: FlagErrPtr},
			"0/0 0:0/0 IomapDIORwInner ERR_PTR(-15(ENOTBLK))"},
		{Event{Kind: KindFuseRequestEnd, Aux: FuseOpWrite, A0: 42, Ret: -5},
			"0/0 0:0/0 FuseRequestEnd WRITE unique=42 error=-5(EIO)"},
		{Event{Kind: KindTraceDIOWriteLock, Flags: FlagExclusive, Aux: uint32(DIOLockCachedIOMode), A0: 4096, A1: 4096},
			"0/0 0:0/0 TraceDIOWriteLock exclusive CACHED_IO_MODE pos=4096 count=4096"},
		{Event{Kind: KindFaultInjected, Aux: uint32(SiteFailslab), Ret: -12, A0: 0, A1: uint64(FuncFuseLaunderFolio)},
			"0/0 0:0/0 FaultInjected should_failslab ret=-12(ENOMEM) left=0 within=fuse_launder_folio"},
		{Event{Kind: KindWriteExit, Aux: uint32(FuncExt4FileWriteIter), Ret: 4096, A0: 8192, Flags: FlagSharedSeen | FlagExclSeen | FlagUpgraded},
			"0/0 0:0/0 WriteExit ext4_file_write_iter ret=4096 pos=8192 i_size=0 seen=[upgraded|shared|excl]"},
	}
	for _, tt := range tests {
		t.Run(tt.ev.Kind.String(), func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.ev.String()); diff != "" {
				t.Errorf("String (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKernelDev(t *testing.T) {
	tests := []struct {
		major, minor uint32
	}{{0, 52}, {8, 1}, {7, 300}, {259, 1048575}}
	for _, tt := range tests {
		st := uint64(tt.minor&0xff) | uint64(tt.major&0xfff)<<8 | uint64(tt.minor&^0xff)<<12 | uint64(tt.major&^0xfff)<<32
		if got, want := KernelDev(st), tt.major<<20|tt.minor; got != want {
			t.Errorf("KernelDev(%d:%d) = %#x, want %#x", tt.major, tt.minor, got, want)
		}
	}
}

func TestKindFamilies(t *testing.T) {
	tests := map[Kind]Family{
		KindMarker: FamilyInternal, KindWriteEnter: FamilyLock, KindLockDowngrade: FamilyLock,
		KindCachedIOOpenEnter: FamilyIOMode, KindFuseMmapExit: FamilyIOMode,
		KindInvalidateEnter: FamilyInvalidate, KindFuseDirectIOExit: FamilyInvalidate,
		KindDIOBegin: FamilyFallback, KindDIOWarnStale: FamilyFallback,
		KindXFSIomapInvalid: FamilyXFS, KindFuseRequestEnd: FamilyRequest,
		KindTraceIOMode: FamilyPatched, KindFaultInjected: FamilyFault,
	}
	for k, want := range tests {
		if got := k.Family(); got != want {
			t.Errorf("%s.Family() = %s, want %s", k, got, want)
		}
	}
	for k := range kindNames {
		if strings.HasPrefix(k.Family().String(), "Family(") {
			t.Errorf("kind %s is of no family", k)
		}
	}
}

func TestFuncByName(t *testing.T) {
	for f := Func(1); f < funcMax; f++ {
		got, ok := FuncByName(f.String())
		if !ok || got != f {
			t.Errorf("FuncByName(%q) = %v, %v", f, got, ok)
		}
	}
	if _, ok := FuncByName("nope"); ok {
		t.Error("FuncByName(nope) found something")
	}
	s := FuncSet(1<<FuncExt4FileWriteIter | 1<<FuncIomapDioRwInner)
	if diff := cmp.Diff("{ext4_file_write_iter,__iomap_dio_rw}", s.String()); diff != "" {
		t.Error(diff)
	}
}
