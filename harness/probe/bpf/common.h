/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Maps, event layout and helpers shared by every probe object.
 *
 * All objects (probes.c, patched.c, fault.c) include this header so their map
 * definitions are byte-for-byte identical: the Go loader creates each map once
 * and hands the same map to every object (MapReplacements). bpf2go generates
 * the Go type of struct event (probesEvent) and the event kinds and probe
 * families (make generate: kinds.go) from this header; the Go names of the
 * other enums (harness/probe/kind.go) are checked against the object's BTF
 * by abi_test.go.
 */
#ifndef PROBE_COMMON_H
#define PROBE_COMMON_H

#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define EINVAL 22
#define ENOTBLK 15
#define MAX_ERRNO 4095

/* FUSE_I_CACHE_IO_MODE bit of fuse_inode.state (fs/fuse/fuse_i.h, 6.12). */
#define FUSE_I_CACHE_IO_MODE 5
/* VM_MAYSHARE (include/linux/mm.h). */
#define VM_MAYSHARE 0x80

/*
 * Probe families: what question a program answers. The Go side
 * (harness/probe) names them from this enum: FAMILY_IOMODE is
 * FamilyIOMode, "iomode" (make generate).
 */
enum probe_family {
	FAMILY_INTERNAL = 0,   /* the drain marker */
	FAMILY_LOCK = 1,       /* write paths and i_rwsem */
	FAMILY_IOMODE = 2,     /* FUSE io modes */
	FAMILY_INVALIDATE = 3, /* invalidation, flushing, laundering */
	FAMILY_FALLBACK = 4,   /* iomap direct I/O and buffered fallback */
	FAMILY_XFS = 5,        /* XFS stale iomap */
	FAMILY_REQUEST = 6,    /* FUSE requests */
	FAMILY_PATCHED = 7,    /* tracepoints from the project's kernel patches */
	FAMILY_FAULT = 8,      /* fault injection */
	FAMILY_CACHE = 9,      /* page-cache membership */
};

/* An event kind's value: its family, then its number in the family. */
#define KIND(family, n) ((family) << 8 | (n))

/*
 * What happened. The Go side names each kind from this enum
 * (KIND_DIO_BEGIN is probe.KindDIOBegin, make generate) and finds its
 * family in its value. The comment of each says which event fields it
 * fills beyond the common ones (time, pid, tid, inode, path, within).
 */
enum event_kind {
	KIND_NONE = 0,
	/* the internal drain marker; Stop never returns it */
	KIND_MARKER = KIND(FAMILY_INTERNAL, 1),

	/* a write-path function was entered: aux = its ctx_fn, a0 = pos,
	 * a1 = count, a2 = ki_flags | FUSE open_flags << 32 */
	KIND_WRITE_ENTER = KIND(FAMILY_LOCK, 1),
	/* aux = ctx_fn, ret, a0 = ki_pos after, a1 = i_size after,
	 * flags = summary of the call (F_SHARED_SEEN, F_EXCL_SEEN,
	 * F_UPGRADED, ...) */
	KIND_WRITE_EXIT = KIND(FAMILY_LOCK, 2),
	/* i_rwsem of the written inode acquired shared: aux = lock_fn,
	 * a1 = i_size once acquired, flags may have F_TRYLOCK */
	KIND_LOCK_SHARED = KIND(FAMILY_LOCK, 3),
	/* acquired exclusive: a1 = i_size once acquired; flags may have
	 * F_UPGRADED */
	KIND_LOCK_EXCLUSIVE = KIND(FAMILY_LOCK, 4),
	/* a trylock (or killable lock) did not get the lock: aux = lock_fn,
	 * a0 = 1 if exclusive, ret = the function's return value */
	KIND_LOCK_TRY_FAILED = KIND(FAMILY_LOCK, 5),
	/* an exclusive acquisition followed a shared one within the same
	 * write call (e.g. ext4's restart); once per call */
	KIND_LOCK_UPGRADED = KIND(FAMILY_LOCK, 6),
	/* up_read, up_write, downgrade_write */
	KIND_UNLOCK_SHARED = KIND(FAMILY_LOCK, 7),
	KIND_UNLOCK_EXCLUSIVE = KIND(FAMILY_LOCK, 8),
	KIND_LOCK_DOWNGRADE = KIND(FAMILY_LOCK, 9),

	/* FUSE io modes. Enter events carry ctr_before (= ctr_after) and
	 * F_CACHE_IO_BEFORE; exit events carry ret, ctr_before (from the
	 * entry), ctr_after and F_CACHE_IO_BEFORE/AFTER. F_CTR_VALID says
	 * the counter was readable. a0 is the struct fuse_file of the
	 * call (0 for the inode-wide uncached_io_start/end); the release
	 * events carry its iomode at entry in a1 (0 none, 1 cached,
	 * 2 uncached). */
	KIND_CACHED_IO_OPEN_ENTER = KIND(FAMILY_IOMODE, 1),
	KIND_CACHED_IO_OPEN_EXIT = KIND(FAMILY_IOMODE, 2),
	KIND_UNCACHED_IO_START_ENTER = KIND(FAMILY_IOMODE, 3),
	KIND_UNCACHED_IO_START_EXIT = KIND(FAMILY_IOMODE, 4),
	KIND_UNCACHED_IO_END_ENTER = KIND(FAMILY_IOMODE, 5),
	KIND_UNCACHED_IO_END_EXIT = KIND(FAMILY_IOMODE, 6),
	KIND_FILE_IO_OPEN_ENTER = KIND(FAMILY_IOMODE, 7),
	KIND_FILE_IO_OPEN_EXIT = KIND(FAMILY_IOMODE, 8),
	KIND_FILE_IO_RELEASE_ENTER = KIND(FAMILY_IOMODE, 9),
	KIND_FILE_IO_RELEASE_EXIT = KIND(FAMILY_IOMODE, 10),
	/* flags may have F_SHARED_MAP */
	KIND_FUSE_MMAP_ENTER = KIND(FAMILY_IOMODE, 11),
	KIND_FUSE_MMAP_EXIT = KIND(FAMILY_IOMODE, 12),

	/* Invalidation and flushing. Enter events: aux = the function's
	 * ctx_fn, a0/a1 = its range; exit events: aux = ctx_fn, ret.
	 * path/within tell the caller's context (e.g. FN_FUSE_FILE_MMAP). */
	/* invalidate_inode_pages2_range: a0 = start, a1 = end (page indices) */
	KIND_INVALIDATE_ENTER = KIND(FAMILY_INVALIDATE, 1),
	KIND_INVALIDATE_EXIT = KIND(FAMILY_INVALIDATE, 2),
	/* kiocb_invalidate_pages: a0 = pos, a1 = count */
	KIND_KIOCB_INVALIDATE_ENTER = KIND(FAMILY_INVALIDATE, 3),
	KIND_KIOCB_INVALIDATE_EXIT = KIND(FAMILY_INVALIDATE, 4),
	/* kiocb_invalidate_post_direct_write: a0 = pos, a1 = count */
	KIND_KIOCB_INVALIDATE_POST_ENTER = KIND(FAMILY_INVALIDATE, 5),
	KIND_KIOCB_INVALIDATE_POST_EXIT = KIND(FAMILY_INVALIDATE, 6),
	/* filemap_write_and_wait_range: a0 = start, a1 = end (bytes) */
	KIND_WRITE_AND_WAIT_ENTER = KIND(FAMILY_INVALIDATE, 7),
	KIND_WRITE_AND_WAIT_EXIT = KIND(FAMILY_INVALIDATE, 8),
	/* fuse_launder_folio: a0 = folio index */
	KIND_LAUNDER_ENTER = KIND(FAMILY_INVALIDATE, 9),
	KIND_LAUNDER_EXIT = KIND(FAMILY_INVALIDATE, 10),
	/* fuse_direct_io: a0 = pos, a1 = count, F_WRITE */
	KIND_FUSE_DIRECT_IO_ENTER = KIND(FAMILY_INVALIDATE, 11),
	KIND_FUSE_DIRECT_IO_EXIT = KIND(FAMILY_INVALIDATE, 12),

	/* iomap direct I/O and buffered fallback */
	/* tracepoint iomap_dio_rw_begin: a0 = pos, a1 = count,
	 * a2 = done_before, aux = dio_flags */
	KIND_DIO_BEGIN = KIND(FAMILY_FALLBACK, 1),
	/* tracepoint iomap_dio_complete: ret, a1 = error */
	KIND_DIO_COMPLETE = KIND(FAMILY_FALLBACK, 2),
	/* tracepoint iomap_dio_invalidate_fail: a0 = offset, a1 = length */
	KIND_DIO_INVALIDATE_FAIL = KIND(FAMILY_FALLBACK, 3),
	/* exit of __iomap_dio_rw: ret = error when F_ERR_PTR (e.g.
	 * -ENOTBLK), F_NULL for NULL, else 0 */
	KIND_IOMAP_DIO_RW_INNER = KIND(FAMILY_FALLBACK, 4),
	/* exit of iomap_dio_rw: ret = its ssize_t result */
	KIND_IOMAP_DIO_RW = KIND(FAMILY_FALLBACK, 5),
	/* entry of a buffered write path: aux = FN_GENERIC_PERFORM_WRITE,
	 * FN_FUSE_PERFORM_WRITE or FN_IOMAP_FILE_BUFFERED_WRITE, a0 = pos,
	 * a1 = count */
	KIND_BUFFERED_WRITE = KIND(FAMILY_FALLBACK, 6),
	/* tracepoint ext4_write_begin (aux = 0) or ext4_da_write_begin
	 * (aux = 1): a0 = pos, a1 = len; once per write call */
	KIND_EXT4_WRITE_BEGIN = KIND(FAMILY_FALLBACK, 7),
	/* dio_warn_stale_pagecache was called */
	KIND_DIO_WARN_STALE = KIND(FAMILY_FALLBACK, 8),

	/* XFS stale iomap */
	/* tracepoint xfs_iomap_invalid: a0 = offset, a1 = length,
	 * a2 = validity_cookie, aux = iomap type */
	KIND_XFS_IOMAP_INVALID = KIND(FAMILY_XFS, 1),
	/* xfs_iomap_valid returned false: a0..a2 as above */
	KIND_XFS_IOMAP_VALID_FALSE = KIND(FAMILY_XFS, 2),

	/* FUSE requests */
	/* aux = opcode, a0 = unique (0 on 6.12, whose tracepoint fires
	 * before the unique is assigned), a1 = nodeid, a2 = request
	 * identity (pairs a send with its end) */
	KIND_FUSE_REQUEST_SEND = KIND(FAMILY_REQUEST, 1),
	/* aux = opcode, a0 = unique, a1 = nodeid, a2 = request identity,
	 * ret = error; recorded only for requests whose send was */
	KIND_FUSE_REQUEST_END = KIND(FAMILY_REQUEST, 2),

	/* tracepoints from the project's kernel patches */
	/* fuse_iomode: aux = the iomode event, ctr_before = prev_ctr,
	 * ctr_after = iocachectr read at the tracepoint, ret = err */
	KIND_TRACE_IOMODE = KIND(FAMILY_PATCHED, 1),
	/* fuse_dio_write_lock: a0 = pos, a1 = count, F_EXCLUSIVE,
	 * aux = the lock reason */
	KIND_TRACE_DIO_WRITE_LOCK = KIND(FAMILY_PATCHED, 2),

	/* a fault was injected: aux = fault_site, ret = -errno,
	 * a0 = injections left (-1 unlimited), a1 = the within ctx_fn */
	KIND_FAULT_INJECTED = KIND(FAMILY_FAULT, 1),

	/* page-cache membership, from the mm_filemap tracepoints:
	 * a0 = the folio's first page index, a1 = its pages */
	KIND_CACHE_ADD = KIND(FAMILY_CACHE, 1),
	KIND_CACHE_DELETE = KIND(FAMILY_CACHE, 2),
};

/*
 * Functions that make up a task's "context" (the call path it is inside).
 * Each has an fentry/fexit pair that maintains a per-task depth counter; an
 * event carries the set of active ones (within) and the innermost (path).
 * Values are bit numbers, so at most 31.
 */
enum ctx_fn {
	FN_NONE = 0,
	FN_FUSE_FILE_WRITE_ITER = 1,
	FN_FUSE_DIRECT_WRITE_ITER = 2,
	FN_FUSE_CACHE_WRITE_ITER = 3,
	FN_EXT4_FILE_WRITE_ITER = 4,
	FN_XFS_FILE_WRITE_ITER = 5,
	FN_FUSE_FILE_MMAP = 6,
	FN_FUSE_LAUNDER_FOLIO = 7,
	FN_FUSE_DIRECT_IO = 8,
	FN_INVALIDATE_INODE_PAGES2_RANGE = 9,
	FN_FILEMAP_WRITE_AND_WAIT_RANGE = 10,
	FN_KIOCB_INVALIDATE_PAGES = 11,
	FN_KIOCB_INVALIDATE_POST_DIRECT_WRITE = 12,
	FN_IOMAP_DIO_RW = 13,
	FN_IOMAP_DIO_RW_INNER = 14,
	FN_FUSE_PERFORM_WRITE = 15,
	FN_GENERIC_PERFORM_WRITE = 16,
	FN_IOMAP_FILE_BUFFERED_WRITE = 17,
	FN_MAX = 18,
};

/* Which rwsem function produced a lock event (event.aux). */
enum lock_fn {
	LOCK_DOWN_READ = 1,
	LOCK_DOWN_WRITE = 2,
	LOCK_DOWN_READ_TRYLOCK = 3,
	LOCK_DOWN_WRITE_TRYLOCK = 4,
	LOCK_DOWN_READ_NESTED = 5,
	LOCK_DOWN_WRITE_NESTED = 6,
	LOCK_DOWN_READ_KILLABLE = 7,
	LOCK_DOWN_WRITE_KILLABLE = 8,
	LOCK_UP_READ = 9,
	LOCK_UP_WRITE = 10,
	LOCK_DOWNGRADE_WRITE = 11,
};

/* Fault injection sites (key of the faults map, event.aux). */
enum fault_site {
	SITE_FAILSLAB = 0,
	SITE_FAIL_BIO = 1,
	SITE_MAX = 2,
};

/* event.flags bits. */
enum event_flag {
	F_TRYLOCK = 1 << 0,       /* lock event came from a trylock */
	F_FAILED = 1 << 1,        /* trylock / killable lock did not get the lock */
	F_UPGRADED = 1 << 2,      /* exclusive after shared in one write call */
	F_SHARED_SEEN = 1 << 3,   /* write exit: took i_rwsem shared */
	F_EXCL_SEEN = 1 << 4,     /* write exit: took i_rwsem exclusive */
	F_BUFFERED_SEEN = 1 << 5, /* write exit: a buffered write path ran */
	F_ENOTBLK_SEEN = 1 << 6,  /* write exit: iomap returned -ENOTBLK */
	F_INVAL_FAIL_SEEN = 1 << 7, /* write exit: invalidation failed */
	F_DIO_SEEN = 1 << 8,      /* write exit: iomap direct I/O began */
	F_CACHE_IO_BEFORE = 1 << 9, /* FUSE_I_CACHE_IO_MODE set before */
	F_CACHE_IO_AFTER = 1 << 10, /* FUSE_I_CACHE_IO_MODE set after */
	F_CTR_VALID = 1 << 11,    /* ctr_before/ctr_after were read */
	F_EXCLUSIVE = 1 << 12,    /* traced dio write lock is exclusive */
	F_WRITE = 1 << 13,        /* fuse_direct_io: a write */
	F_SHARED_MAP = 1 << 14,   /* fuse_file_mmap: VM_MAYSHARE */
	F_FAULT_SEEN = 1 << 15,   /* write exit: a fault was injected */
	F_ERR_PTR = 1 << 16,      /* __iomap_dio_rw returned ERR_PTR(ret) */
	F_NULL = 1 << 17,         /* __iomap_dio_rw returned NULL */
	F_ASYNC = 1 << 18,        /* write enter: an asynchronous kiocb (ki_complete set: libaio, io_uring) */
};

/*
 * One record in the ring buffer. Naturally aligned, no implicit padding:
 * decoded in harness/probe/event.go through the bpf2go-generated
 * probesEvent.
 */
struct event {
	__u64 ts_ns;   /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64 ino;     /* inode number (i_ino) */
	__s64 ret;     /* return value / error, kind specific */
	__u64 a0;      /* kind specific: position, start, unique ... */
	__u64 a1;      /* kind specific: count, end, nodeid ... */
	__u64 a2;      /* kind specific */
	__u32 pid;     /* tgid */
	__u32 tid;     /* thread id */
	__u32 dev;     /* kernel dev_t of the superblock: major<<20|minor */
	__u32 within;  /* bitmask of active ctx_fn, before this event */
	__s32 ctr_before;
	__s32 ctr_after;
	__u32 flags;   /* enum event_flag */
	__u32 aux;     /* kind specific: lock fn, opcode, reason, site ... */
	__u16 kind;    /* enum event_kind */
	__u16 path;    /* innermost active ctx_fn, before this event */
	__u32 _pad;
};

struct inode_key {
	__u32 dev;
	__u32 _pad;
	__u64 ino;
};

/* tgids map value bits. */
enum watch_flag {
	WATCH_RECORD = 1 << 0, /* record events of this process */
	WATCH_CTX = 1 << 1,    /* track call context (fault injection) */
};

/*
 * bpf2go -type generates Go types only from the object's BTF, and clang
 * emits BTF only for the types of globals and function signatures: struct
 * event and the enums only appear in locals and constants. This variable
 * makes them part of the BTF. Its section is none a loader turns into a map
 * (.maps, .data, .rodata, .bss), so it never reaches the kernel.
 */
struct abi_types {
	struct event event;
	enum probe_family family;
	enum event_kind kind;
	enum ctx_fn fn;
	enum lock_fn lock;
	enum fault_site site;
	enum event_flag flag;
	enum watch_flag watch;
};
struct abi_types abi_types SEC(".abi_types") __attribute__((unused));

struct probe_config {
	__u32 active;        /* recording between Start and Stop */
	__u32 tracking;      /* something is watched or armed: cheap global gate */
	__u32 gfp_nofail;    /* __GFP_NOFAIL mask of the running kernel */
	__u32 fuse_cache_bit; /* FUSE_I_CACHE_IO_MODE bit number */
};

/* Per-thread call context. */
struct task_ctx {
	__u64 inode;       /* inode of the outermost active write call */
	__u64 sem;         /* &inode->i_rwsem */
	__u64 ino;
	__u32 dev;
	__u32 wflags;      /* F_*_SEEN summary of the current write call */
	__u32 within;      /* bitmask of ctx_fn with depth > 0 */
	__u8 write_depth;  /* nesting of write-path functions */
	__u8 write_record; /* events of this write call are recorded */
	__u8 sp;           /* stack depth (may exceed 8; deeper entries not kept) */
	__u8 _pad;
	__u8 stack[8];     /* ctx_fn stack, innermost at sp-1 */
	__u8 depth[32];    /* per ctx_fn nesting depth */
};

struct fault {
	__u32 armed;
	__u32 tgid;        /* 0 = any task (then within is set) */
	__u32 within;      /* ctx_fn the task must be inside, 0 = anywhere */
	__s32 err;         /* negative errno to return */
	__s64 remaining;   /* injections left; < 0 = unlimited */
	__u64 fired;
};

struct stash {
	__s32 ctr;
	__u32 flags;
};

struct req_info {
	__u32 dev;
	__u32 opcode;
	__u64 ino;
};

struct node_info {
	__u32 dev;
	__u32 _pad;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} dropped SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct probe_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct inode_key);
	__type(value, __u32);
} inodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct task_ctx);
} tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct stash);
} stashes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct node_info);
} nodeids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct req_info);
} reqs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SITE_MAX);
	__type(key, __u32);
	__type(value, struct fault);
} faults SEC(".maps");

static __always_inline struct probe_config *cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&config, &zero);
}

/* Cheap gate at the top of every hot program (rwsem probes fire system-wide). */
static __always_inline bool tracking(void)
{
	struct probe_config *c = cfg();

	return c && c->tracking;
}

static __always_inline bool active(void)
{
	struct probe_config *c = cfg();

	return c && c->active;
}

static __always_inline __u32 cur_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

static __always_inline __u32 cur_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline __u32 tgid_flags(void)
{
	__u32 tgid = cur_tgid();
	__u32 *f = bpf_map_lookup_elem(&tgids, &tgid);

	return f ? *f : 0;
}

static __always_inline void inode_id(struct inode *inode, __u32 *dev, __u64 *ino)
{
	*dev = 0;
	*ino = 0;
	if (!inode)
		return;
	*dev = BPF_CORE_READ(inode, i_sb, s_dev);
	*ino = BPF_CORE_READ(inode, i_ino);
}

static __always_inline bool inode_watched(__u32 dev, __u64 ino)
{
	struct inode_key k = { .dev = dev, .ino = ino };

	if (!ino)
		return false;
	return bpf_map_lookup_elem(&inodes, &k) != NULL;
}

static __always_inline struct inode *file_ino(struct file *f)
{
	return BPF_CORE_READ(f, f_inode);
}

static __always_inline struct inode *kiocb_inode(struct kiocb *iocb)
{
	return BPF_CORE_READ(iocb, ki_filp, f_inode);
}

static __always_inline struct inode *mapping_inode(struct address_space *m)
{
	return BPF_CORE_READ(m, host);
}

static __always_inline struct task_ctx *ctx_get(void)
{
	__u32 tid = cur_tid();

	return bpf_map_lookup_elem(&tasks, &tid);
}

static __always_inline __u32 ctx_path(struct task_ctx *c)
{
	__u8 sp;

	if (!c || !c->sp)
		return 0;
	sp = c->sp;
	if (sp > 8)
		return 0; /* deeper than we keep: unknown */
	return c->stack[(sp - 1) & 7];
}

/*
 * Reserve and pre-fill an event. Returns NULL (and counts a drop) when the
 * ring buffer is full, so a lost event is never silent.
 */
static __always_inline struct event *ev_new(__u16 kind, __u32 dev, __u64 ino,
					    struct task_ctx *c)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *d = bpf_map_lookup_elem(&dropped, &zero);

		if (d)
			*d += 1;
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->dev = dev;
	e->ino = ino;
	e->kind = kind;
	if (c) {
		e->within = c->within;
		e->path = ctx_path(c);
	}
	return e;
}

/*
 * Submit without waking the reader: it drains the ring every 100 ms and at
 * each marker, so a wakeup per event would only add a context switch to
 * every probed call. Once a quarter of the ring is in use, wake it at once.
 */
static __always_inline void ev_submit(struct event *e)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
	    bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 4)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

/* Submit and wake the reader: markers, which Start and Stop wait for. */
static __always_inline void ev_submit_wake(struct event *e)
{
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

/*
 * Enter a context function. Creates the task's context when want is true
 * (the caller decided the task or inode is of interest); nested calls inside
 * an existing context are always tracked. Returns the context (or NULL).
 */
static __always_inline struct task_ctx *ctx_push(__u32 fn, bool want)
{
	__u32 tid = cur_tid();
	struct task_ctx *c = bpf_map_lookup_elem(&tasks, &tid);

	if (!c) {
		struct task_ctx zero = {};

		if (!want)
			return NULL;
		bpf_map_update_elem(&tasks, &tid, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&tasks, &tid);
		if (!c)
			return NULL;
	}
	fn &= 31;
	if (c->depth[fn] < 255)
		c->depth[fn]++;
	c->within |= 1u << fn;
	if (c->sp < 8)
		c->stack[c->sp & 7] = fn;
	if (c->sp < 255)
		c->sp++;
	return c;
}

static __always_inline void ctx_maybe_free(struct task_ctx *c)
{
	__u32 tid;

	if (c->within || c->sp || c->write_depth)
		return;
	tid = cur_tid();
	bpf_map_delete_elem(&tasks, &tid);
}

/* Leave a context function; unbalanced exits (attached mid-call) are ignored. */
static __always_inline struct task_ctx *ctx_pop(__u32 fn)
{
	struct task_ctx *c = ctx_get();

	if (!c)
		return NULL;
	fn &= 31;
	if (!c->depth[fn])
		return c;
	c->depth[fn]--;
	if (!c->depth[fn])
		c->within &= ~(1u << fn);
	if (c->sp)
		c->sp--;
	return c;
}

/* Should an event about this inode be recorded? */
static __always_inline bool want_record(__u32 dev, __u64 ino)
{
	return inode_watched(dev, ino) || (tgid_flags() & WATCH_RECORD);
}

/* Should this task's context be tracked for an operation on this inode? */
static __always_inline bool want_ctx(__u32 dev, __u64 ino)
{
	return inode_watched(dev, ino) || tgid_flags();
}

static __always_inline bool is_err_value(__u64 v)
{
	return v >= (__u64)(-MAX_ERRNO);
}

#endif /* PROBE_COMMON_H */
