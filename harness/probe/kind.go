package probe

import (
	"fmt"
	"strings"
)

// Kind says what an Event records. The kinds are enum event_kind of
// bpf/common.h, which says which Event fields each fills beyond the
// common ones (time, pid, tid, inode, Path, Within); make generate
// names them in Go (kinds.go: KIND_DIO_BEGIN is KindDIOBegin). A kind's
// value is its family << 8 | its number in the family.
type Kind uint16

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("Kind(%d)", uint16(k))
}

// known reports whether k is a kind of bpf/common.h.
func (k Kind) known() bool {
	_, ok := kindNames[k]
	return ok
}

// Family of an event kind.
func (k Kind) Family() Family { return Family(k >> 8) }

// Family groups probes by the question they answer: enum probe_family of
// bpf/common.h (kinds.go names them).
type Family uint8

func (f Family) String() string {
	if n, ok := familyNames[f]; ok {
		return n
	}
	return fmt.Sprintf("Family(%d)", uint8(f))
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
	// FlagAsync: a write entry of an asynchronous kiocb (ki_complete
	// set: libaio, io_uring), whose result its completion carries.
	FlagAsync Flags = 1 << 18
	// flagInternal marks bits the BPF side uses for its own bookkeeping.
	flagInternal Flags = 1 << 31
)

var flagNames = [...]string{"trylock", "failed", "upgraded", "shared", "excl", "buffered",
	"enotblk", "invalfail", "dio", "cacheio-before", "cacheio-after", "ctr", "exclusive",
	"write", "sharedmap", "fault", "errptr", "null", "async"}

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
	// IOModeCachedDeferred: a file whose O_DIRECT open deferred caching
	// io mode entered it before using the page cache (the pdio RFC).
	IOModeCachedDeferred IOModeEvent = 6
)

var ioModeNames = [...]string{"CACHED_OPEN", "CACHED_CLOSE", "UNCACHED_START", "UNCACHED_END", "CACHED_DENIED", "UNCACHED_DENIED", "CACHED_DEFERRED"}

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
	// DIOLockRemovePrivs: an O_DIRECT write through a file that deferred
	// caching io mode must remove file privileges (the pdio RFC).
	DIOLockRemovePrivs DIOLockReason = 6
)

var dioLockNames = [...]string{"PARALLEL", "NO_PARALLEL_FLAG", "APPEND", "EXTENDING", "CACHED_IO_MODE", "UNCACHED_REFUSED", "REMOVE_PRIVS"}

func (r DIOLockReason) String() string {
	if int(r) < len(dioLockNames) {
		return dioLockNames[r]
	}
	return fmt.Sprintf("DIOLockReason(%d)", uint32(r))
}
