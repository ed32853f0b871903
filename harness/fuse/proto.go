package fuse

// Wire constants from include/uapi/linux/fuse.h (Linux 6.12, protocol 7.41).
// They are spelled out here rather than taken from x/sys/unix because unix
// does not carry the FUSE protocol.

// Protocol version this server speaks.
const (
	KernelVersion      = 7
	KernelMinorVersion = 41
)

// RootID is the node ID of the root directory.
const RootID = 1

// Sizes of fixed protocol structures.
const (
	inHeaderSize  = 40
	outHeaderSize = 16

	attrSize            = 88
	entryOutSize        = 40 + attrSize // 128
	compatEntryOutSize  = 120           // FUSE_COMPAT_ENTRY_OUT_SIZE (minor < 9)
	attrOutSize         = 16 + attrSize // 104
	compatAttrOutSize   = 96            // FUSE_COMPAT_ATTR_OUT_SIZE (minor < 9)
	openOutSize         = 16
	writeOutSize        = 8
	statfsOutSize       = 80
	compatStatfsSize    = 48 // FUSE_COMPAT_STATFS_SIZE (minor < 4)
	lseekOutSize        = 8
	initOutSize         = 64
	compatInitOutSize   = 8  // FUSE_COMPAT_INIT_OUT_SIZE (minor < 5)
	compat22InitOutSize = 24 // FUSE_COMPAT_22_INIT_OUT_SIZE (minor < 23)
	direntSize          = 24 // fuse_dirent without name
	readInSize          = 40
	compatReadInSize    = 24
	writeInSize         = 40
	compatWriteInSize   = 24 // FUSE_COMPAT_WRITE_IN_SIZE
	setattrInSize       = 88
	mknodInSize         = 16
	compatMknodInSize   = 8 // FUSE_COMPAT_MKNOD_IN_SIZE
	createInSize        = 16
	releaseInSize       = 24
	flushInSize         = 24
	fsyncInSize         = 16
	fallocateInSize     = 32
	lseekInSize         = 24
	getattrInSize       = 16
	openInSize          = 8
	mkdirInSize         = 8
	renameInSize        = 8
	rename2InSize       = 16
	forgetInSize        = 8
	batchForgetInSize   = 8
	forgetOneSize       = 16
	interruptInSize     = 8
	initInMinSize       = 16 // major, minor, max_readahead, flags
	initInFlags2Off     = 16
)

// minReadBuffer is FUSE_MIN_READ_BUFFER: the kernel refuses smaller reads.
const minReadBuffer = 8192

// FUSE_INT_REQ_BIT marks the unique of an INTERRUPT request.
const intReqBit = 1

// INIT capability flags (fuse_init_in/out flags, flags2 shifted up by 32).
const (
	CapAsyncRead         uint64 = 1 << 0
	CapPosixLocks        uint64 = 1 << 1
	CapFileOps           uint64 = 1 << 2
	CapAtomicOTrunc      uint64 = 1 << 3
	CapExportSupport     uint64 = 1 << 4
	CapBigWrites         uint64 = 1 << 5
	CapDontMask          uint64 = 1 << 6
	CapSpliceWrite       uint64 = 1 << 7
	CapSpliceMove        uint64 = 1 << 8
	CapSpliceRead        uint64 = 1 << 9
	CapFlockLocks        uint64 = 1 << 10
	CapHasIoctlDir       uint64 = 1 << 11
	CapAutoInvalData     uint64 = 1 << 12
	CapDoReaddirplus     uint64 = 1 << 13
	CapReaddirplusAuto   uint64 = 1 << 14
	CapAsyncDIO          uint64 = 1 << 15
	CapWritebackCache    uint64 = 1 << 16
	CapNoOpenSupport     uint64 = 1 << 17
	CapParallelDirops    uint64 = 1 << 18
	CapHandleKillpriv    uint64 = 1 << 19
	CapPosixACL          uint64 = 1 << 20
	CapAbortError        uint64 = 1 << 21
	CapMaxPages          uint64 = 1 << 22
	CapCacheSymlinks     uint64 = 1 << 23
	CapNoOpendirSupport  uint64 = 1 << 24
	CapExplicitInvalData uint64 = 1 << 25
	CapMapAlignment      uint64 = 1 << 26
	CapSubmounts         uint64 = 1 << 27
	CapHandleKillprivV2  uint64 = 1 << 28
	CapSetxattrExt       uint64 = 1 << 29
	CapInitExt           uint64 = 1 << 30
	CapInitReserved      uint64 = 1 << 31
	CapSecurityCtx       uint64 = 1 << 32
	CapHasInodeDAX       uint64 = 1 << 33
	CapCreateSuppGroup   uint64 = 1 << 34
	CapHasExpireOnly     uint64 = 1 << 35
	CapDirectIOAllowMmap uint64 = 1 << 36
	CapPassthrough       uint64 = 1 << 37
	CapNoExportSupport   uint64 = 1 << 38
	CapHasResend         uint64 = 1 << 39
	CapAllowIdmap        uint64 = 1 << 40
	// CapParallelODirectWrites is FUSE_PARALLEL_ODIRECT_WRITES (protocol
	// 7.47, the pdio RFC): FOPEN_PARALLEL_DIRECT_WRITES also applies to
	// O_DIRECT opens without FOPEN_DIRECT_IO.
	CapParallelODirectWrites uint64 = 1 << 44
	capFlags2Shift                  = 32
	capLowMask               uint64 = 1<<32 - 1
)

// FOPEN_* flags of fuse_open_out.open_flags.
const (
	FopenDirectIO             uint32 = 1 << 0
	FopenKeepCache            uint32 = 1 << 1
	FopenNonseekable          uint32 = 1 << 2
	FopenCacheDir             uint32 = 1 << 3
	FopenStream               uint32 = 1 << 4
	FopenNoflush              uint32 = 1 << 5
	FopenParallelDirectWrites uint32 = 1 << 6
	FopenPassthrough          uint32 = 1 << 7
)

// fuse_setattr_in.valid bits.
const (
	fattrMode     = 1 << 0
	fattrUID      = 1 << 1
	fattrGID      = 1 << 2
	fattrSize     = 1 << 3
	fattrAtime    = 1 << 4
	fattrMtime    = 1 << 5
	fattrFh       = 1 << 6
	fattrAtimeNow = 1 << 7
	fattrMtimeNow = 1 << 8
	fattrCtime    = 1 << 10
)

// Device ioctls: _IOR/_IOW(FUSE_DEV_IOC_MAGIC=229, nr, size).
const (
	iocClone        = 0x8004e500 // _IOR(229, 0, uint32_t)
	iocBackingOpen  = 0x4010e501 // _IOW(229, 1, struct fuse_backing_map)
	iocBackingClose = 0x4004e502 // _IOW(229, 2, uint32_t)
)

// Flags of RENAME2 and FALLOCATE that the store understands.
const (
	renameNoreplace = 1 << 0
	renameExchange  = 1 << 1

	fallocKeepSize  = 0x01
	fallocPunchHole = 0x02
	fallocZeroRange = 0x10

	seekData = 3
	seekHole = 4
)

// inHeader is struct fuse_in_header.
type inHeader struct {
	Len         uint32
	Opcode      Opcode
	Unique      uint64
	NodeID      uint64
	UID         uint32
	GID         uint32
	PID         uint32
	TotalExtlen uint16
}

// attr is struct fuse_attr.
type attr struct {
	Ino       uint64
	Size      uint64
	Blocks    uint64
	Atime     uint64
	Mtime     uint64
	Ctime     uint64
	Atimensec uint32
	Mtimensec uint32
	Ctimensec uint32
	Mode      uint32
	Nlink     uint32
	UID       uint32
	GID       uint32
	Rdev      uint32
	Blksize   uint32
	Flags     uint32
}

// setattrIn is struct fuse_setattr_in.
type setattrIn struct {
	Valid     uint32
	Fh        uint64
	Size      uint64
	Atime     uint64
	Mtime     uint64
	Ctime     uint64
	Atimensec uint32
	Mtimensec uint32
	Ctimensec uint32
	Mode      uint32
	UID       uint32
	GID       uint32
}
