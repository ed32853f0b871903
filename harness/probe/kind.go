package probe

import (
	"fmt"
	"strings"
)

// Kind says what an Event records. Values are ABI with enum event_kind in
// bpf/common.h (checked by TestKindsMatchC).
type Kind uint16

// Event kinds. The comment of each says which Event fields it fills beyond
// the common ones (time, pid, tid, inode, Path, Within).
const (
	KindNone Kind = 0
	// KindMarker is the internal drain marker; Stop never returns it.
	KindMarker Kind = 1

	// Family 1: write paths and i_rwsem.

	// KindWriteEnter: a write-path function was entered. Aux=Func of the
	// function, A0=pos, A1=count, A2=ki_flags | FUSE open_flags<<32.
	KindWriteEnter Kind = 2
	// KindWriteExit: Aux=Func, Ret=return value, A0=ki_pos after, Flags=
	// summary of the call (FlagSharedSeen, FlagExclSeen, FlagUpgraded, ...).
	KindWriteExit Kind = 3
	// KindLockShared: i_rwsem of the written inode acquired shared.
	// Aux=LockFn, Flags may have FlagTrylock.
	KindLockShared Kind = 4
	// KindLockExclusive: acquired exclusive. Flags may have FlagUpgraded.
	KindLockExclusive Kind = 5
	// KindLockTryFailed: a trylock (or killable lock) did not get the lock.
	// Aux=LockFn, A0=1 if exclusive, Ret=the function's return value.
	KindLockTryFailed Kind = 6
	// KindLockUpgraded: an exclusive acquisition followed a shared one
	// within the same write call (e.g. ext4's restart); once per call.
	KindLockUpgraded Kind = 7
	// KindUnlockShared / KindUnlockExclusive: up_read / up_write.
	KindUnlockShared    Kind = 8
	KindUnlockExclusive Kind = 9
	// KindLockDowngrade: downgrade_write.
	KindLockDowngrade Kind = 10

	// Family 2: FUSE io modes. Enter events carry CtrBefore (= CtrAfter)
	// and FlagCacheIOBefore; exit events carry Ret, CtrBefore (from the
	// entry), CtrAfter and FlagCacheIOBefore/After. FlagCtrValid says the
	// counter was readable.
	KindCachedIOOpenEnter    Kind = 11
	KindCachedIOOpenExit     Kind = 12
	KindUncachedIOStartEnter Kind = 13
	KindUncachedIOStartExit  Kind = 14
	KindUncachedIOEndEnter   Kind = 15
	KindUncachedIOEndExit    Kind = 16
	KindFileIOOpenEnter      Kind = 17
	KindFileIOOpenExit       Kind = 18
	KindFileIOReleaseEnter   Kind = 19
	KindFileIOReleaseExit    Kind = 20
	KindFuseMmapEnter        Kind = 21 // Flags may have FlagSharedMap
	KindFuseMmapExit         Kind = 22
	kindFamily2Last               = KindFuseMmapExit
	kindFamily3First              = KindInvalidateEnter
	kindFamily3Last               = KindFuseDirectIOExit
	kindFamily4First              = KindDIOBegin
	kindFamily4Last               = KindDIOWarnStale

	// Family 3: invalidation and flushing. Enter events: Aux=Func of the
	// function, A0/A1=its range; exit events: Aux=Func, Ret.
	// Path/Within tell the caller's context (e.g. FuncFuseFileMmap).

	// KindInvalidateEnter: invalidate_inode_pages2_range, A0=start, A1=end (page indices).
	KindInvalidateEnter Kind = 23
	KindInvalidateExit  Kind = 24
	// KindKiocbInvalidateEnter: kiocb_invalidate_pages, A0=pos, A1=count.
	KindKiocbInvalidateEnter Kind = 25
	KindKiocbInvalidateExit  Kind = 26
	// KindKiocbInvalidatePostEnter: kiocb_invalidate_post_direct_write, A0=pos, A1=count.
	KindKiocbInvalidatePostEnter Kind = 27
	KindKiocbInvalidatePostExit  Kind = 28
	// KindWriteAndWaitEnter: filemap_write_and_wait_range, A0=start, A1=end (bytes).
	KindWriteAndWaitEnter Kind = 29
	KindWriteAndWaitExit  Kind = 30
	// KindLaunderEnter: fuse_launder_folio, A0=folio index.
	KindLaunderEnter Kind = 31
	KindLaunderExit  Kind = 32
	// KindFuseDirectIOEnter: fuse_direct_io, A0=pos, A1=count, FlagWrite.
	KindFuseDirectIOEnter Kind = 33
	KindFuseDirectIOExit  Kind = 34

	// Family 4: iomap direct I/O and buffered fallback.

	// KindDIOBegin: tracepoint iomap_dio_rw_begin, A0=pos, A1=count,
	// A2=done_before, Aux=dio_flags.
	KindDIOBegin Kind = 35
	// KindDIOComplete: tracepoint iomap_dio_complete, Ret=ret, A1=error.
	KindDIOComplete Kind = 36
	// KindDIOInvalidateFail: tracepoint iomap_dio_invalidate_fail, A0=offset, A1=length.
	KindDIOInvalidateFail Kind = 37
	// KindIomapDioRwInner: exit of __iomap_dio_rw. Ret=error when
	// FlagErrPtr (e.g. -ENOTBLK), FlagNull for NULL, else 0.
	KindIomapDioRwInner Kind = 38
	// KindIomapDioRw: exit of iomap_dio_rw, Ret=its ssize_t result.
	KindIomapDioRw Kind = 39
	// KindBufferedWrite: entry of a buffered write path, Aux=Func
	// (FuncGenericPerformWrite, FuncFusePerformWrite,
	// FuncIomapFileBufferedWrite), A0=pos, A1=count.
	KindBufferedWrite Kind = 40
	// KindExt4WriteBegin: tracepoint ext4_write_begin (Aux=0) or
	// ext4_da_write_begin (Aux=1), A0=pos, A1=len; once per write call.
	KindExt4WriteBegin Kind = 41
	// KindDIOWarnStale: dio_warn_stale_pagecache was called.
	KindDIOWarnStale Kind = 42

	// Family 5: XFS stale iomap.

	// KindXfsIomapInvalid: tracepoint xfs_iomap_invalid, A0=offset,
	// A1=length, A2=validity_cookie, Aux=iomap type.
	KindXfsIomapInvalid Kind = 43
	// KindXfsIomapValidFalse: xfs_iomap_valid returned false, A0..A2 as above.
	KindXfsIomapValidFalse Kind = 44

	// Family 6: FUSE requests.

	// KindFuseRequestSend: Aux=opcode, A0=unique (0 on 6.12, whose
	// tracepoint fires before the unique is assigned), A1=nodeid,
	// A2=request identity (pairs a send with its end).
	KindFuseRequestSend Kind = 45
	// KindFuseRequestEnd: Aux=opcode, A0=unique, A1=nodeid, A2=request
	// identity, Ret=error. Recorded only for requests whose send was.
	KindFuseRequestEnd Kind = 46

	// Family 7: tracepoints from the project's kernel patches.

	// KindTraceIOMode: fuse_iomode, Aux=IOModeEvent, CtrBefore=prev_ctr,
	// CtrAfter=iocachectr read at the tracepoint, Ret=err.
	KindTraceIOMode Kind = 47
	// KindTraceDIOWriteLock: fuse_dio_write_lock, A0=pos, A1=count,
	// FlagExclusive, Aux=DIOLockReason.
	KindTraceDIOWriteLock Kind = 48

	// KindFaultInjected: a fault was injected. Aux=Site, Ret=-errno,
	// A0=injections left (-1 unlimited), A1=the Within Func.
	KindFaultInjected Kind = 49

	kindMax = 50
)

var kindNames = [kindMax]string{
	KindNone:                     "None",
	KindMarker:                   "Marker",
	KindWriteEnter:               "WriteEnter",
	KindWriteExit:                "WriteExit",
	KindLockShared:               "LockShared",
	KindLockExclusive:            "LockExclusive",
	KindLockTryFailed:            "LockTryFailed",
	KindLockUpgraded:             "LockUpgraded",
	KindUnlockShared:             "UnlockShared",
	KindUnlockExclusive:          "UnlockExclusive",
	KindLockDowngrade:            "LockDowngrade",
	KindCachedIOOpenEnter:        "CachedIOOpenEnter",
	KindCachedIOOpenExit:         "CachedIOOpenExit",
	KindUncachedIOStartEnter:     "UncachedIOStartEnter",
	KindUncachedIOStartExit:      "UncachedIOStartExit",
	KindUncachedIOEndEnter:       "UncachedIOEndEnter",
	KindUncachedIOEndExit:        "UncachedIOEndExit",
	KindFileIOOpenEnter:          "FileIOOpenEnter",
	KindFileIOOpenExit:           "FileIOOpenExit",
	KindFileIOReleaseEnter:       "FileIOReleaseEnter",
	KindFileIOReleaseExit:        "FileIOReleaseExit",
	KindFuseMmapEnter:            "FuseMmapEnter",
	KindFuseMmapExit:             "FuseMmapExit",
	KindInvalidateEnter:          "InvalidateEnter",
	KindInvalidateExit:           "InvalidateExit",
	KindKiocbInvalidateEnter:     "KiocbInvalidateEnter",
	KindKiocbInvalidateExit:      "KiocbInvalidateExit",
	KindKiocbInvalidatePostEnter: "KiocbInvalidatePostEnter",
	KindKiocbInvalidatePostExit:  "KiocbInvalidatePostExit",
	KindWriteAndWaitEnter:        "WriteAndWaitEnter",
	KindWriteAndWaitExit:         "WriteAndWaitExit",
	KindLaunderEnter:             "LaunderEnter",
	KindLaunderExit:              "LaunderExit",
	KindFuseDirectIOEnter:        "FuseDirectIOEnter",
	KindFuseDirectIOExit:         "FuseDirectIOExit",
	KindDIOBegin:                 "DIOBegin",
	KindDIOComplete:              "DIOComplete",
	KindDIOInvalidateFail:        "DIOInvalidateFail",
	KindIomapDioRwInner:          "IomapDioRwInner",
	KindIomapDioRw:               "IomapDioRw",
	KindBufferedWrite:            "BufferedWrite",
	KindExt4WriteBegin:           "Ext4WriteBegin",
	KindDIOWarnStale:             "DIOWarnStale",
	KindXfsIomapInvalid:          "XfsIomapInvalid",
	KindXfsIomapValidFalse:       "XfsIomapValidFalse",
	KindFuseRequestSend:          "FuseRequestSend",
	KindFuseRequestEnd:           "FuseRequestEnd",
	KindTraceIOMode:              "TraceIOMode",
	KindTraceDIOWriteLock:        "TraceDIOWriteLock",
	KindFaultInjected:            "FaultInjected",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint16(k))
}

// Family groups probes by the question they answer.
type Family uint8

// Probe families; see the package documentation.
const (
	FamilyInternal   Family = iota // the drain marker
	FamilyLock                     // 1: write paths and i_rwsem
	FamilyIOMode                   // 2: FUSE io modes
	FamilyInvalidate               // 3: invalidation, flushing, laundering
	FamilyFallback                 // 4: iomap direct I/O and buffered fallback
	FamilyXFS                      // 5: XFS stale iomap
	FamilyRequest                  // 6: FUSE requests
	FamilyPatched                  // 7: tracepoints from our kernel patches
	FamilyFault                    // fault injection
)

var familyNames = [...]string{"internal", "lock", "iomode", "invalidate", "fallback", "xfs", "request", "patched", "fault"}

func (f Family) String() string {
	if int(f) < len(familyNames) {
		return familyNames[f]
	}
	return fmt.Sprintf("Family(%d)", uint8(f))
}

// Family of an event kind.
func (k Kind) Family() Family {
	switch {
	case k == KindMarker || k == KindNone:
		return FamilyInternal
	case k <= KindLockDowngrade:
		return FamilyLock
	case k <= kindFamily2Last:
		return FamilyIOMode
	case k >= kindFamily3First && k <= kindFamily3Last:
		return FamilyInvalidate
	case k >= kindFamily4First && k <= kindFamily4Last:
		return FamilyFallback
	case k == KindXfsIomapInvalid || k == KindXfsIomapValidFalse:
		return FamilyXFS
	case k == KindFuseRequestSend || k == KindFuseRequestEnd:
		return FamilyRequest
	case k >= KindTraceIOMode && k <= KindTraceDIOWriteLock:
		return FamilyPatched
	default:
		return FamilyFault
	}
}

// Func identifies a kernel function that defines a call context: a write
// path, fuse_file_mmap, fuse_launder_folio, an invalidation or flush, or an
// iomap/buffered write function. Values are ABI with enum ctx_fn.
type Func uint8

// Context functions.
const (
	FuncNone                           Func = 0
	FuncFuseFileWriteIter              Func = 1
	FuncFuseDirectWriteIter            Func = 2
	FuncFuseCacheWriteIter             Func = 3
	FuncExt4FileWriteIter              Func = 4
	FuncXfsFileWriteIter               Func = 5
	FuncFuseFileMmap                   Func = 6
	FuncFuseLaunderFolio               Func = 7
	FuncFuseDirectIO                   Func = 8
	FuncInvalidateInodePages2Range     Func = 9
	FuncFilemapWriteAndWaitRange       Func = 10
	FuncKiocbInvalidatePages           Func = 11
	FuncKiocbInvalidatePostDirectWrite Func = 12
	FuncIomapDioRw                     Func = 13
	FuncIomapDioRwInner                Func = 14 // __iomap_dio_rw
	FuncFusePerformWrite               Func = 15
	FuncGenericPerformWrite            Func = 16
	FuncIomapFileBufferedWrite         Func = 17
	funcMax                                 = 18
)

// funcSymbols are the kernel symbols of the context functions.
var funcSymbols = [funcMax]string{
	FuncNone:                           "",
	FuncFuseFileWriteIter:              "fuse_file_write_iter",
	FuncFuseDirectWriteIter:            "fuse_direct_write_iter",
	FuncFuseCacheWriteIter:             "fuse_cache_write_iter",
	FuncExt4FileWriteIter:              "ext4_file_write_iter",
	FuncXfsFileWriteIter:               "xfs_file_write_iter",
	FuncFuseFileMmap:                   "fuse_file_mmap",
	FuncFuseLaunderFolio:               "fuse_launder_folio",
	FuncFuseDirectIO:                   "fuse_direct_io",
	FuncInvalidateInodePages2Range:     "invalidate_inode_pages2_range",
	FuncFilemapWriteAndWaitRange:       "filemap_write_and_wait_range",
	FuncKiocbInvalidatePages:           "kiocb_invalidate_pages",
	FuncKiocbInvalidatePostDirectWrite: "kiocb_invalidate_post_direct_write",
	FuncIomapDioRw:                     "iomap_dio_rw",
	FuncIomapDioRwInner:                "__iomap_dio_rw",
	FuncFusePerformWrite:               "fuse_perform_write",
	FuncGenericPerformWrite:            "generic_perform_write",
	FuncIomapFileBufferedWrite:         "iomap_file_buffered_write",
}

func (f Func) String() string {
	if f == FuncNone {
		return "-"
	}
	if int(f) < len(funcSymbols) {
		return funcSymbols[f]
	}
	return fmt.Sprintf("Func(%d)", uint8(f))
}

// FuncByName returns the context function with the given kernel symbol.
func FuncByName(symbol string) (Func, bool) {
	for i, s := range funcSymbols {
		if s != "" && s == symbol {
			return Func(i), true
		}
	}
	return FuncNone, false
}

// FuncSet is a set of context functions (bit f set for Func f).
type FuncSet uint32

// Has reports whether f is in the set.
func (s FuncSet) Has(f Func) bool { return f < 32 && s&(1<<f) != 0 }

func (s FuncSet) String() string {
	var parts []string
	for f := Func(1); f < 32; f++ {
		if s.Has(f) {
			parts = append(parts, f.String())
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// LockFn names the rwsem function behind a lock event. ABI with enum lock_fn.
type LockFn uint8

// rwsem functions.
const (
	LockDownRead          LockFn = 1
	LockDownWrite         LockFn = 2
	LockDownReadTrylock   LockFn = 3
	LockDownWriteTrylock  LockFn = 4
	LockDownReadNested    LockFn = 5
	LockDownWriteNested   LockFn = 6
	LockDownReadKillable  LockFn = 7
	LockDownWriteKillable LockFn = 8
	LockUpRead            LockFn = 9
	LockUpWrite           LockFn = 10
	LockDowngradeWrite    LockFn = 11
)

var lockFnNames = [...]string{"", "down_read", "down_write", "down_read_trylock", "down_write_trylock",
	"down_read_nested", "down_write_nested", "down_read_killable", "down_write_killable",
	"up_read", "up_write", "downgrade_write"}

func (l LockFn) String() string {
	if int(l) < len(lockFnNames) && lockFnNames[l] != "" {
		return lockFnNames[l]
	}
	return fmt.Sprintf("LockFn(%d)", uint8(l))
}

// Flags are event flag bits. ABI with enum event_flag.
type Flags uint32

// Event flags.
const (
	FlagTrylock       Flags = 1 << 0
	FlagFailed        Flags = 1 << 1
	FlagUpgraded      Flags = 1 << 2
	FlagSharedSeen    Flags = 1 << 3
	FlagExclSeen      Flags = 1 << 4
	FlagBufferedSeen  Flags = 1 << 5
	FlagENOTBLKSeen   Flags = 1 << 6
	FlagInvalFailSeen Flags = 1 << 7
	FlagDIOSeen       Flags = 1 << 8
	FlagCacheIOBefore Flags = 1 << 9
	FlagCacheIOAfter  Flags = 1 << 10
	FlagCtrValid      Flags = 1 << 11
	FlagExclusive     Flags = 1 << 12
	FlagWrite         Flags = 1 << 13
	FlagSharedMap     Flags = 1 << 14
	FlagFaultSeen     Flags = 1 << 15
	FlagErrPtr        Flags = 1 << 16
	FlagNull          Flags = 1 << 17
	// flagInternal marks bits the BPF side uses for its own bookkeeping.
	flagInternal Flags = 1 << 31
)

var flagNames = [...]string{"trylock", "failed", "upgraded", "shared", "excl", "buffered",
	"enotblk", "invalfail", "dio", "cacheio-before", "cacheio-after", "ctr", "exclusive",
	"write", "sharedmap", "fault", "errptr", "null"}

// Has reports whether all bits of g are set.
func (f Flags) Has(g Flags) bool { return f&g == g }

func (f Flags) String() string {
	var parts []string
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if f&flagInternal != 0 {
		parts = append(parts, "internal")
	}
	return strings.Join(parts, "|")
}

// Site is a fault-injection site. ABI with enum fault_site.
type Site uint8

// Fault sites: kernel functions marked ALLOW_ERROR_INJECTION.
const (
	SiteFailslab Site = 0 // should_failslab: slab allocations fail (-ENOMEM)
	SiteFailBio  Site = 1 // should_fail_bio: bio submission fails (-EIO)
	siteMax           = 2
)

var siteSymbols = [siteMax]string{"should_failslab", "should_fail_bio"}

func (s Site) String() string {
	if int(s) < len(siteSymbols) {
		return siteSymbols[s]
	}
	return fmt.Sprintf("Site(%d)", uint8(s))
}

// IOModeEvent is the event argument of the patched fuse_iomode tracepoint.
type IOModeEvent uint32

// fuse_iomode events.
const (
	IOModeCachedOpen     IOModeEvent = 0
	IOModeCachedClose    IOModeEvent = 1
	IOModeUncachedStart  IOModeEvent = 2
	IOModeUncachedEnd    IOModeEvent = 3
	IOModeCachedDenied   IOModeEvent = 4
	IOModeUncachedDenied IOModeEvent = 5
)

var ioModeNames = [...]string{"CACHED_OPEN", "CACHED_CLOSE", "UNCACHED_START", "UNCACHED_END", "CACHED_DENIED", "UNCACHED_DENIED"}

func (m IOModeEvent) String() string {
	if int(m) < len(ioModeNames) {
		return ioModeNames[m]
	}
	return fmt.Sprintf("IOModeEvent(%d)", uint32(m))
}

// DIOLockReason is the reason argument of the patched fuse_dio_write_lock tracepoint.
type DIOLockReason uint32

// fuse_dio_write_lock reasons.
const (
	DIOLockParallel        DIOLockReason = 0
	DIOLockNoParallelFlag  DIOLockReason = 1
	DIOLockAppend          DIOLockReason = 2
	DIOLockExtending       DIOLockReason = 3
	DIOLockCachedIOMode    DIOLockReason = 4
	DIOLockUncachedRefused DIOLockReason = 5
)

var dioLockNames = [...]string{"PARALLEL", "NO_PARALLEL_FLAG", "APPEND", "EXTENDING", "CACHED_IO_MODE", "UNCACHED_REFUSED"}

func (r DIOLockReason) String() string {
	if int(r) < len(dioLockNames) {
		return dioLockNames[r]
	}
	return fmt.Sprintf("DIOLockReason(%d)", uint32(r))
}
