// SPDX-License-Identifier: GPL-2.0
/*
 * Probes for the base kernel: families 1-6 plus the call-context tracking
 * that fault injection and "caller path" reporting rely on.
 *
 * Every program is loaded and attached on its own by the Go loader, so a
 * missing or inlined target only skips that one program. Programs never fail
 * the traced operation: they only read and record.
 */
#include "common.h"

/* ------------------------------------------------------------------------
 * Family 1: write paths and i_rwsem.
 */

static __always_inline int write_enter(__u32 fn, struct kiocb *iocb,
				       struct iov_iter *from, bool fuse)
{
	struct inode *inode;
	struct task_ctx *c;
	struct event *e;
	__u32 dev, tf, within = 0, path = 0;
	__u64 ino;
	bool watched;

	if (!tracking())
		return 0;
	inode = kiocb_inode(iocb);
	inode_id(inode, &dev, &ino);
	watched = inode_watched(dev, ino);
	tf = tgid_flags();
	c = ctx_get();
	if (!c && !watched && !tf)
		return 0;
	if (c) {
		within = c->within;
		path = ctx_path(c);
	}
	c = ctx_push(fn, true);
	if (!c)
		return 0;
	if (!c->write_depth) {
		c->inode = (__u64)inode;
		c->sem = (__u64)&inode->i_rwsem;
		c->dev = dev;
		c->ino = ino;
		c->wflags = 0;
		c->write_record = watched || (tf & WATCH_RECORD);
	}
	if (c->write_depth < 255)
		c->write_depth++;
	if (!c->write_record || !active())
		return 0;
	e = ev_new(KIND_WRITE_ENTER, dev, ino, NULL);
	if (!e)
		return 0;
	e->within = within;
	e->path = path;
	e->aux = fn;
	e->a0 = BPF_CORE_READ(iocb, ki_pos);
	e->a1 = BPF_CORE_READ(from, count);
	e->a2 = (__u32)BPF_CORE_READ(iocb, ki_flags);
	if (BPF_CORE_READ(iocb, ki_complete))
		e->flags = F_ASYNC;
	if (fuse) {
		struct fuse_file *ff = BPF_CORE_READ(iocb, ki_filp, private_data);

		if (ff)
			e->a2 |= (__u64)BPF_CORE_READ(ff, open_flags) << 32;
	}
	ev_submit(e);
	return 0;
}

static __always_inline int write_exit(__u32 fn, void *ctx, struct kiocb *iocb)
{
	struct task_ctx *c;
	struct event *e;
	__u64 ret = 0;
	__u32 wflags;
	bool rec;

	if (!tracking())
		return 0;
	c = ctx_get();
	if (!c || !c->write_depth || !c->depth[fn & 31])
		return 0;
	bpf_get_func_ret(ctx, &ret);
	rec = c->write_record;
	wflags = c->wflags;
	c->write_depth--;
	ctx_pop(fn);
	if (rec && active()) {
		e = ev_new(KIND_WRITE_EXIT, c->dev, c->ino, c);
		if (e) {
			e->aux = fn;
			e->ret = (__s64)ret;
			e->flags = wflags;
			e->a0 = BPF_CORE_READ(iocb, ki_pos);
			e->a1 = BPF_CORE_READ(iocb, ki_filp, f_inode, i_size);
			ev_submit(e);
		}
	}
	if (!c->write_depth) {
		c->inode = 0;
		c->sem = 0;
		c->wflags = 0;
		c->write_record = 0;
	}
	ctx_maybe_free(c);
	return 0;
}

#define WRITE_PATH(name, FN, fuse)                                             \
	SEC("fentry/" #name)                                                   \
	int BPF_PROG(fentry_##name, struct kiocb *iocb, struct iov_iter *from) \
	{                                                                      \
		return write_enter(FN, iocb, from, fuse);                      \
	}                                                                      \
	SEC("fexit/" #name)                                                    \
	int BPF_PROG(fexit_##name, struct kiocb *iocb, struct iov_iter *from)  \
	{                                                                      \
		return write_exit(FN, ctx, iocb);                              \
	}

WRITE_PATH(fuse_file_write_iter, FN_FUSE_FILE_WRITE_ITER, true)
WRITE_PATH(fuse_direct_write_iter, FN_FUSE_DIRECT_WRITE_ITER, true)
WRITE_PATH(fuse_cache_write_iter, FN_FUSE_CACHE_WRITE_ITER, true)
WRITE_PATH(ext4_file_write_iter, FN_EXT4_FILE_WRITE_ITER, false)
WRITE_PATH(xfs_file_write_iter, FN_XFS_FILE_WRITE_ITER, false)

/* The task's write call, if it is inside one on this rwsem. */
static __always_inline struct task_ctx *lock_ctx(void *sem)
{
	struct task_ctx *c;

	if (!tracking())
		return NULL;
	c = ctx_get();
	if (!c || !c->write_depth || c->sem != (__u64)sem)
		return NULL;
	return c;
}

static __always_inline int on_lock(void *sem, bool excl, __u32 lockfn,
				   bool try, bool ok, __s64 ret)
{
	struct task_ctx *c = lock_ctx(sem);
	bool upgraded = false;
	struct event *e;
	__u16 kind;

	if (!c)
		return 0;
	if (ok && excl) {
		upgraded = (c->wflags & F_SHARED_SEEN) && !(c->wflags & F_UPGRADED);
		c->wflags |= F_EXCL_SEEN;
		if (upgraded)
			c->wflags |= F_UPGRADED;
	} else if (ok) {
		c->wflags |= F_SHARED_SEEN;
	}
	if (!c->write_record || !active())
		return 0;
	kind = !ok ? KIND_LOCK_TRY_FAILED :
		     (excl ? KIND_LOCK_EXCLUSIVE : KIND_LOCK_SHARED);
	e = ev_new(kind, c->dev, c->ino, c);
	if (!e)
		return 0;
	e->aux = lockfn;
	e->ret = ret;
	e->a0 = excl;
	if (ok) {
		/* outside BPF_CORE_READ: task_ctx is ours, not the kernel's */
		struct inode *inode = (struct inode *)c->inode;

		e->a1 = BPF_CORE_READ(inode, i_size);
	}
	e->flags = (try ? F_TRYLOCK : 0) | (ok ? 0 : F_FAILED) |
		   (upgraded ? F_UPGRADED : 0);
	ev_submit(e);
	if (upgraded) {
		e = ev_new(KIND_LOCK_UPGRADED, c->dev, c->ino, c);
		if (!e)
			return 0;
		e->aux = lockfn;
		e->flags = F_UPGRADED;
		ev_submit(e);
	}
	return 0;
}

static __always_inline int on_unlock(void *sem, __u16 kind, __u32 lockfn)
{
	struct task_ctx *c = lock_ctx(sem);
	struct event *e;

	if (!c || !c->write_record || !active())
		return 0;
	e = ev_new(kind, c->dev, c->ino, c);
	if (!e)
		return 0;
	e->aux = lockfn;
	ev_submit(e);
	return 0;
}

SEC("fexit/down_read")
int BPF_PROG(fexit_down_read, struct rw_semaphore *sem)
{
	return on_lock(sem, false, LOCK_DOWN_READ, false, true, 0);
}

SEC("fexit/down_write")
int BPF_PROG(fexit_down_write, struct rw_semaphore *sem)
{
	return on_lock(sem, true, LOCK_DOWN_WRITE, false, true, 0);
}

SEC("fexit/down_read_nested")
int BPF_PROG(fexit_down_read_nested, struct rw_semaphore *sem)
{
	return on_lock(sem, false, LOCK_DOWN_READ_NESTED, false, true, 0);
}

SEC("fexit/down_write_nested")
int BPF_PROG(fexit_down_write_nested, struct rw_semaphore *sem)
{
	return on_lock(sem, true, LOCK_DOWN_WRITE_NESTED, false, true, 0);
}

SEC("fexit/down_read_killable")
int BPF_PROG(fexit_down_read_killable, struct rw_semaphore *sem)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	return on_lock(sem, false, LOCK_DOWN_READ_KILLABLE, false, (int)ret == 0,
		       (int)ret);
}

SEC("fexit/down_write_killable")
int BPF_PROG(fexit_down_write_killable, struct rw_semaphore *sem)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	return on_lock(sem, true, LOCK_DOWN_WRITE_KILLABLE, false, (int)ret == 0,
		       (int)ret);
}

/* Trylocks return 1 on success, 0 on contention. */
SEC("fexit/down_read_trylock")
int BPF_PROG(fexit_down_read_trylock, struct rw_semaphore *sem)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	return on_lock(sem, false, LOCK_DOWN_READ_TRYLOCK, true, (int)ret != 0,
		       (int)ret);
}

SEC("fexit/down_write_trylock")
int BPF_PROG(fexit_down_write_trylock, struct rw_semaphore *sem)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	return on_lock(sem, true, LOCK_DOWN_WRITE_TRYLOCK, true, (int)ret != 0,
		       (int)ret);
}

SEC("fentry/up_read")
int BPF_PROG(fentry_up_read, struct rw_semaphore *sem)
{
	return on_unlock(sem, KIND_UNLOCK_SHARED, LOCK_UP_READ);
}

SEC("fentry/up_write")
int BPF_PROG(fentry_up_write, struct rw_semaphore *sem)
{
	return on_unlock(sem, KIND_UNLOCK_EXCLUSIVE, LOCK_UP_WRITE);
}

SEC("fentry/downgrade_write")
int BPF_PROG(fentry_downgrade_write, struct rw_semaphore *sem)
{
	return on_unlock(sem, KIND_LOCK_DOWNGRADE, LOCK_DOWNGRADE_WRITE);
}

/* ------------------------------------------------------------------------
 * Family 2: FUSE inode io modes.
 */

static __always_inline __u32 fi_read(struct fuse_inode *fi, __s32 *ctr)
{
	struct probe_config *cf = cfg();
	__u32 flags = 0;

	*ctr = 0;
	if (!fi)
		return 0;
	if (bpf_core_field_exists(fi->iocachectr)) {
		*ctr = BPF_CORE_READ(fi, iocachectr);
		flags |= F_CTR_VALID;
	}
	if (bpf_core_field_exists(fi->state) && cf) {
		unsigned long state = BPF_CORE_READ(fi, state);

		if (state & (1ull << (cf->fuse_cache_bit & 63)))
			flags |= F_CACHE_IO_BEFORE;
	}
	return flags;
}

/* Remember a watched FUSE inode's nodeid so its requests can be matched. */
static __always_inline void note_nodeid(struct fuse_inode *fi, __u32 dev, __u64 ino)
{
	struct node_info ni = { .dev = dev, .ino = ino };
	__u64 nodeid = BPF_CORE_READ(fi, nodeid);

	if (nodeid)
		bpf_map_update_elem(&nodeids, &nodeid, &ni, BPF_ANY);
}

/* A kind is 16 bits (family << 8 | number), a thread id 32. */
static __always_inline __u64 stash_key(__u16 kind)
{
	return ((__u64)cur_tid() << 16) | kind;
}

/*
 * Entry of an io-mode function: record iocachectr and the cache-io bit before
 * the call, and stash them for the exit event. Optionally enters a context.
 */
static __always_inline int iomode_enter(__u16 kind, struct fuse_inode *fi,
					__u32 fn, __u32 extra_flags,
					struct fuse_file *ff, bool mode)
{
	struct stash st = {};
	struct task_ctx *c;
	struct event *e;
	__u32 dev;
	__u64 ino, key;
	bool rec;

	if (!tracking())
		return 0;
	inode_id((struct inode *)fi, &dev, &ino);
	rec = want_record(dev, ino);
	c = ctx_get();
	if (rec) {
		if (inode_watched(dev, ino))
			note_nodeid(fi, dev, ino);
		st.flags = fi_read(fi, &st.ctr);
		key = stash_key(kind);
		bpf_map_update_elem(&stashes, &key, &st, BPF_ANY);
		e = active() ? ev_new(kind, dev, ino, c) : NULL;
		if (e) {
			e->ctr_before = st.ctr;
			e->ctr_after = st.ctr;
			e->flags = st.flags | extra_flags;
			if (st.flags & F_CACHE_IO_BEFORE)
				e->flags |= F_CACHE_IO_AFTER;
			e->a0 = (__u64)ff;
			if (mode && ff)
				e->a1 = BPF_CORE_READ(ff, iomode);
			ev_submit(e);
		}
	}
	/* After the event, so the event shows the caller's context. */
	if (fn)
		ctx_push(fn, rec || want_ctx(dev, ino));
	return 0;
}

static __always_inline int iomode_exit(__u16 enter_kind, __u16 kind,
				       struct fuse_inode *fi, __u32 fn,
				       __s64 ret, __u32 extra_flags,
				       struct fuse_file *ff)
{
	struct task_ctx *c = NULL;
	struct stash *st;
	struct event *e;
	__s32 ctr;
	__u32 dev, flags;
	__u64 ino, key;

	if (!tracking())
		return 0;
	if (fn)
		c = ctx_pop(fn);
	else
		c = ctx_get();
	inode_id((struct inode *)fi, &dev, &ino);
	key = stash_key(enter_kind);
	st = bpf_map_lookup_elem(&stashes, &key);
	if (!st)
		goto out; /* entry was not recorded */
	flags = fi_read(fi, &ctr);
	if (active()) {
		e = ev_new(kind, dev, ino, c);
		if (e) {
			e->ret = ret;
			e->ctr_before = st->ctr;
			e->ctr_after = ctr;
			e->flags = (st->flags & (F_CTR_VALID | F_CACHE_IO_BEFORE)) |
				   extra_flags;
			e->a0 = (__u64)ff;
			if (flags & F_CACHE_IO_BEFORE)
				e->flags |= F_CACHE_IO_AFTER;
			ev_submit(e);
		}
	}
	bpf_map_delete_elem(&stashes, &key);
out:
	if (c)
		ctx_maybe_free(c);
	return 0;
}

static __always_inline __s64 func_ret(void *ctx)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	return (__s64)(int)ret;
}

static __always_inline struct fuse_file *file_ff(struct file *file)
{
	return (struct fuse_file *)BPF_CORE_READ(file, private_data);
}

SEC("fentry/fuse_file_cached_io_open")
int BPF_PROG(fentry_fuse_file_cached_io_open, struct inode *inode, struct fuse_file *ff)
{
	return iomode_enter(KIND_CACHED_IO_OPEN_ENTER, (struct fuse_inode *)inode, 0, 0,
			    ff, false);
}

SEC("fexit/fuse_file_cached_io_open")
int BPF_PROG(fexit_fuse_file_cached_io_open, struct inode *inode, struct fuse_file *ff)
{
	return iomode_exit(KIND_CACHED_IO_OPEN_ENTER, KIND_CACHED_IO_OPEN_EXIT,
			   (struct fuse_inode *)inode, 0, func_ret(ctx), 0, ff);
}

SEC("fentry/fuse_inode_uncached_io_start")
int BPF_PROG(fentry_fuse_inode_uncached_io_start, struct fuse_inode *fi)
{
	return iomode_enter(KIND_UNCACHED_IO_START_ENTER, fi, 0, 0, NULL, false);
}

SEC("fexit/fuse_inode_uncached_io_start")
int BPF_PROG(fexit_fuse_inode_uncached_io_start, struct fuse_inode *fi)
{
	return iomode_exit(KIND_UNCACHED_IO_START_ENTER, KIND_UNCACHED_IO_START_EXIT,
			   fi, 0, func_ret(ctx), 0, NULL);
}

SEC("fentry/fuse_inode_uncached_io_end")
int BPF_PROG(fentry_fuse_inode_uncached_io_end, struct fuse_inode *fi)
{
	return iomode_enter(KIND_UNCACHED_IO_END_ENTER, fi, 0, 0, NULL, false);
}

SEC("fexit/fuse_inode_uncached_io_end")
int BPF_PROG(fexit_fuse_inode_uncached_io_end, struct fuse_inode *fi)
{
	return iomode_exit(KIND_UNCACHED_IO_END_ENTER, KIND_UNCACHED_IO_END_EXIT,
			   fi, 0, 0, 0, NULL);
}

SEC("fentry/fuse_file_io_open")
int BPF_PROG(fentry_fuse_file_io_open, struct file *file, struct inode *inode)
{
	return iomode_enter(KIND_FILE_IO_OPEN_ENTER, (struct fuse_inode *)inode, 0, 0,
			    file_ff(file), false);
}

SEC("fexit/fuse_file_io_open")
int BPF_PROG(fexit_fuse_file_io_open, struct file *file, struct inode *inode)
{
	return iomode_exit(KIND_FILE_IO_OPEN_ENTER, KIND_FILE_IO_OPEN_EXIT,
			   (struct fuse_inode *)inode, 0, func_ret(ctx), 0,
			   file_ff(file));
}

SEC("fentry/fuse_file_io_release")
int BPF_PROG(fentry_fuse_file_io_release, struct fuse_file *ff, struct inode *inode)
{
	return iomode_enter(KIND_FILE_IO_RELEASE_ENTER, (struct fuse_inode *)inode, 0, 0,
			    ff, true);
}

SEC("fexit/fuse_file_io_release")
int BPF_PROG(fexit_fuse_file_io_release, struct fuse_file *ff, struct inode *inode)
{
	return iomode_exit(KIND_FILE_IO_RELEASE_ENTER, KIND_FILE_IO_RELEASE_EXIT,
			   (struct fuse_inode *)inode, 0, 0, 0, ff);
}

static __always_inline __u32 vma_flags(struct vm_area_struct *vma)
{
	return (BPF_CORE_READ(vma, vm_flags) & VM_MAYSHARE) ? F_SHARED_MAP : 0;
}

SEC("fentry/fuse_file_mmap")
int BPF_PROG(fentry_fuse_file_mmap, struct file *file, struct vm_area_struct *vma)
{
	return iomode_enter(KIND_FUSE_MMAP_ENTER, (struct fuse_inode *)file_ino(file),
			    FN_FUSE_FILE_MMAP, vma_flags(vma), file_ff(file), false);
}

SEC("fexit/fuse_file_mmap")
int BPF_PROG(fexit_fuse_file_mmap, struct file *file, struct vm_area_struct *vma)
{
	return iomode_exit(KIND_FUSE_MMAP_ENTER, KIND_FUSE_MMAP_EXIT,
			   (struct fuse_inode *)file_ino(file), FN_FUSE_FILE_MMAP,
			   func_ret(ctx), vma_flags(vma), file_ff(file));
}

/* ------------------------------------------------------------------------
 * Family 3: invalidation, flushing, laundering; also context functions.
 */

/* Entry of a context function that reports on an inode. */
static __always_inline int span_enter(__u16 kind, __u32 fn, struct inode *inode,
				      __u64 a0, __u64 a1, __u32 flags)
{
	struct task_ctx *c;
	struct event *e;
	__u32 dev;
	__u64 ino;
	bool rec;

	if (!tracking())
		return 0;
	inode_id(inode, &dev, &ino);
	rec = want_record(dev, ino);
	c = ctx_get();
	if (kind != KIND_NONE && rec && active()) {
		e = ev_new(kind, dev, ino, c);
		if (e) {
			e->aux = fn;
			e->a0 = a0;
			e->a1 = a1;
			e->flags = flags;
			ev_submit(e);
		}
	}
	ctx_push(fn, rec || want_ctx(dev, ino));
	return 0;
}

/*
 * Exit of a context function. fail_flag is or-ed into the write call's
 * summary when the function returned an error.
 */
static __always_inline int span_exit(__u16 kind, __u32 fn, struct inode *inode,
				     __s64 ret, __u32 fail_flag, __u32 flags)
{
	struct task_ctx *c;
	struct event *e;
	__u32 dev;
	__u64 ino;

	if (!tracking())
		return 0;
	c = ctx_pop(fn);
	if (c && ret && c->write_depth)
		c->wflags |= fail_flag;
	inode_id(inode, &dev, &ino);
	if (kind != KIND_NONE && active() && want_record(dev, ino)) {
		e = ev_new(kind, dev, ino, c);
		if (e) {
			e->aux = fn;
			e->ret = ret;
			e->flags = flags;
			ev_submit(e);
		}
	}
	if (c)
		ctx_maybe_free(c);
	return 0;
}

SEC("fentry/invalidate_inode_pages2_range")
int BPF_PROG(fentry_invalidate_inode_pages2_range, struct address_space *mapping,
	     unsigned long start, unsigned long end)
{
	return span_enter(KIND_INVALIDATE_ENTER, FN_INVALIDATE_INODE_PAGES2_RANGE,
			  mapping_inode(mapping), start, end, 0);
}

SEC("fexit/invalidate_inode_pages2_range")
int BPF_PROG(fexit_invalidate_inode_pages2_range, struct address_space *mapping)
{
	return span_exit(KIND_INVALIDATE_EXIT, FN_INVALIDATE_INODE_PAGES2_RANGE,
			 mapping_inode(mapping), func_ret(ctx), F_INVAL_FAIL_SEEN, 0);
}

SEC("fentry/kiocb_invalidate_pages")
int BPF_PROG(fentry_kiocb_invalidate_pages, struct kiocb *iocb, size_t count)
{
	return span_enter(KIND_KIOCB_INVALIDATE_ENTER, FN_KIOCB_INVALIDATE_PAGES,
			  kiocb_inode(iocb), BPF_CORE_READ(iocb, ki_pos), count, 0);
}

SEC("fexit/kiocb_invalidate_pages")
int BPF_PROG(fexit_kiocb_invalidate_pages, struct kiocb *iocb)
{
	return span_exit(KIND_KIOCB_INVALIDATE_EXIT, FN_KIOCB_INVALIDATE_PAGES,
			 kiocb_inode(iocb), func_ret(ctx), F_INVAL_FAIL_SEEN, 0);
}

SEC("fentry/kiocb_invalidate_post_direct_write")
int BPF_PROG(fentry_kiocb_invalidate_post_direct_write, struct kiocb *iocb,
	     size_t count)
{
	return span_enter(KIND_KIOCB_INVALIDATE_POST_ENTER,
			  FN_KIOCB_INVALIDATE_POST_DIRECT_WRITE, kiocb_inode(iocb),
			  BPF_CORE_READ(iocb, ki_pos), count, 0);
}

SEC("fexit/kiocb_invalidate_post_direct_write")
int BPF_PROG(fexit_kiocb_invalidate_post_direct_write, struct kiocb *iocb)
{
	return span_exit(KIND_KIOCB_INVALIDATE_POST_EXIT,
			 FN_KIOCB_INVALIDATE_POST_DIRECT_WRITE, kiocb_inode(iocb),
			 0, 0, 0);
}

SEC("fentry/filemap_write_and_wait_range")
int BPF_PROG(fentry_filemap_write_and_wait_range, struct address_space *mapping,
	     loff_t lstart, loff_t lend)
{
	return span_enter(KIND_WRITE_AND_WAIT_ENTER, FN_FILEMAP_WRITE_AND_WAIT_RANGE,
			  mapping_inode(mapping), lstart, lend, 0);
}

SEC("fexit/filemap_write_and_wait_range")
int BPF_PROG(fexit_filemap_write_and_wait_range, struct address_space *mapping)
{
	return span_exit(KIND_WRITE_AND_WAIT_EXIT, FN_FILEMAP_WRITE_AND_WAIT_RANGE,
			 mapping_inode(mapping), func_ret(ctx), 0, 0);
}

static __always_inline struct inode *folio_inode(struct folio *folio)
{
	return BPF_CORE_READ(folio, mapping, host);
}

SEC("fentry/fuse_launder_folio")
int BPF_PROG(fentry_fuse_launder_folio, struct folio *folio)
{
	return span_enter(KIND_LAUNDER_ENTER, FN_FUSE_LAUNDER_FOLIO,
			  folio_inode(folio), BPF_CORE_READ(folio, index), 0, 0);
}

SEC("fexit/fuse_launder_folio")
int BPF_PROG(fexit_fuse_launder_folio, struct folio *folio)
{
	return span_exit(KIND_LAUNDER_EXIT, FN_FUSE_LAUNDER_FOLIO,
			 folio_inode(folio), func_ret(ctx), 0, 0);
}

#define FUSE_DIO_WRITE 1

SEC("fentry/fuse_direct_io")
int BPF_PROG(fentry_fuse_direct_io, struct fuse_io_priv *io, struct iov_iter *iter,
	     loff_t *ppos, int flags)
{
	loff_t pos = 0;

	bpf_probe_read_kernel(&pos, sizeof(pos), ppos);
	return span_enter(KIND_FUSE_DIRECT_IO_ENTER, FN_FUSE_DIRECT_IO,
			  kiocb_inode(BPF_CORE_READ(io, iocb)), pos,
			  BPF_CORE_READ(iter, count),
			  (flags & FUSE_DIO_WRITE) ? F_WRITE : 0);
}

SEC("fexit/fuse_direct_io")
int BPF_PROG(fexit_fuse_direct_io, struct fuse_io_priv *io, struct iov_iter *iter,
	     loff_t *ppos, int flags)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	return span_exit(KIND_FUSE_DIRECT_IO_EXIT, FN_FUSE_DIRECT_IO,
			 kiocb_inode(BPF_CORE_READ(io, iocb)), (__s64)ret, 0,
			 (flags & FUSE_DIO_WRITE) ? F_WRITE : 0);
}

/* ------------------------------------------------------------------------
 * Family 4: iomap direct I/O and the buffered fallback.
 */

/* Record an event about an inode, outside of any context bookkeeping. */
static __always_inline struct event *inode_event(__u16 kind, struct inode *inode,
						 struct task_ctx **cp)
{
	struct task_ctx *c;
	__u32 dev;
	__u64 ino;

	*cp = NULL;
	if (!tracking())
		return NULL;
	c = ctx_get();
	*cp = c;
	inode_id(inode, &dev, &ino);
	if (!active() || !want_record(dev, ino))
		return NULL;
	return ev_new(kind, dev, ino, c);
}

static __always_inline void mark_write(struct task_ctx *c, __u32 flag)
{
	if (c && c->write_depth)
		c->wflags |= flag;
}

SEC("tp_btf/iomap_dio_rw_begin")
int BPF_PROG(tp_iomap_dio_rw_begin, struct kiocb *iocb, struct iov_iter *iter,
	     unsigned int dio_flags, size_t done_before)
{
	struct task_ctx *c;
	struct event *e = inode_event(KIND_DIO_BEGIN, kiocb_inode(iocb), &c);

	mark_write(c, F_DIO_SEEN);
	if (!e)
		return 0;
	e->a0 = BPF_CORE_READ(iocb, ki_pos);
	e->a1 = BPF_CORE_READ(iter, count);
	e->a2 = done_before;
	e->aux = dio_flags;
	ev_submit(e);
	return 0;
}

SEC("tp_btf/iomap_dio_complete")
int BPF_PROG(tp_iomap_dio_complete, struct kiocb *iocb, int error, long ret)
{
	struct task_ctx *c;
	struct event *e = inode_event(KIND_DIO_COMPLETE, kiocb_inode(iocb), &c);

	if (!e)
		return 0;
	e->ret = ret;
	e->a0 = BPF_CORE_READ(iocb, ki_pos);
	e->a1 = (__u64)(__s64)error;
	ev_submit(e);
	return 0;
}

SEC("tp_btf/iomap_dio_invalidate_fail")
int BPF_PROG(tp_iomap_dio_invalidate_fail, struct inode *inode, loff_t off, __u64 len)
{
	struct task_ctx *c;
	struct event *e = inode_event(KIND_DIO_INVALIDATE_FAIL, inode, &c);

	mark_write(c, F_INVAL_FAIL_SEEN);
	if (!e)
		return 0;
	e->a0 = off;
	e->a1 = len;
	ev_submit(e);
	return 0;
}

SEC("fentry/__iomap_dio_rw")
int BPF_PROG(fentry_iomap_dio_rw_inner, struct kiocb *iocb)
{
	return span_enter(KIND_NONE, FN_IOMAP_DIO_RW_INNER, kiocb_inode(iocb), 0, 0, 0);
}

SEC("fexit/__iomap_dio_rw")
int BPF_PROG(fexit_iomap_dio_rw_inner, struct kiocb *iocb)
{
	__u64 ret = 0;
	__u32 flags = 0;
	__s64 err = 0;

	bpf_get_func_ret(ctx, &ret);
	if (!ret) {
		flags = F_NULL;
	} else if (is_err_value(ret)) {
		flags = F_ERR_PTR;
		err = (__s64)ret;
	}
	if (err == -ENOTBLK && tracking())
		mark_write(ctx_get(), F_ENOTBLK_SEEN);
	return span_exit(KIND_IOMAP_DIO_RW_INNER, FN_IOMAP_DIO_RW_INNER,
			 kiocb_inode(iocb), err, 0, flags);
}

SEC("fentry/iomap_dio_rw")
int BPF_PROG(fentry_iomap_dio_rw, struct kiocb *iocb)
{
	return span_enter(KIND_NONE, FN_IOMAP_DIO_RW, kiocb_inode(iocb), 0, 0, 0);
}

SEC("fexit/iomap_dio_rw")
int BPF_PROG(fexit_iomap_dio_rw, struct kiocb *iocb)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	if ((__s64)ret == -ENOTBLK && tracking())
		mark_write(ctx_get(), F_ENOTBLK_SEEN);
	return span_exit(KIND_IOMAP_DIO_RW, FN_IOMAP_DIO_RW, kiocb_inode(iocb),
			 (__s64)ret, 0, 0);
}

/* Buffered write paths: an event at entry, context both ways. */
static __always_inline int buffered_enter(__u32 fn, struct kiocb *iocb,
					  struct iov_iter *i)
{
	if (tracking())
		mark_write(ctx_get(), F_BUFFERED_SEEN);
	return span_enter(KIND_BUFFERED_WRITE, fn, kiocb_inode(iocb),
			  BPF_CORE_READ(iocb, ki_pos), BPF_CORE_READ(i, count), 0);
}

#define BUFFERED_PATH(name, FN)                                              \
	SEC("fentry/" #name)                                                 \
	int BPF_PROG(fentry_##name, struct kiocb *iocb, struct iov_iter *i)  \
	{                                                                    \
		return buffered_enter(FN, iocb, i);                          \
	}                                                                    \
	SEC("fexit/" #name)                                                  \
	int BPF_PROG(fexit_##name, struct kiocb *iocb)                       \
	{                                                                    \
		return span_exit(KIND_NONE, FN, kiocb_inode(iocb), 0, 0, 0); \
	}

BUFFERED_PATH(fuse_perform_write, FN_FUSE_PERFORM_WRITE)
BUFFERED_PATH(generic_perform_write, FN_GENERIC_PERFORM_WRITE)
BUFFERED_PATH(iomap_file_buffered_write, FN_IOMAP_FILE_BUFFERED_WRITE)

/*
 * ext4 write_begin fires per page; inside a write call only the first one is
 * recorded (that is what "the write fell back to buffered" needs).
 */
#define F_EXT4_WB_SEEN (1u << 31)

static __always_inline int ext4_wb(struct inode *inode, loff_t pos,
				   unsigned int len, __u32 da)
{
	struct task_ctx *c = tracking() ? ctx_get() : NULL;
	struct event *e;

	if (c && c->write_depth) {
		if (c->wflags & F_EXT4_WB_SEEN)
			return 0;
		c->wflags |= F_EXT4_WB_SEEN | F_BUFFERED_SEEN;
	}
	e = inode_event(KIND_EXT4_WRITE_BEGIN, inode, &c);
	if (!e)
		return 0;
	e->a0 = pos;
	e->a1 = len;
	e->aux = da;
	ev_submit(e);
	return 0;
}

SEC("tp_btf/ext4_write_begin")
int BPF_PROG(tp_ext4_write_begin, struct inode *inode, loff_t pos, unsigned int len)
{
	return ext4_wb(inode, pos, len, 0);
}

SEC("tp_btf/ext4_da_write_begin")
int BPF_PROG(tp_ext4_da_write_begin, struct inode *inode, loff_t pos, unsigned int len)
{
	return ext4_wb(inode, pos, len, 1);
}

SEC("fentry/dio_warn_stale_pagecache")
int BPF_PROG(fentry_dio_warn_stale_pagecache, struct file *filp)
{
	struct task_ctx *c;
	struct event *e = inode_event(KIND_DIO_WARN_STALE, file_ino(filp), &c);

	if (e)
		ev_submit(e);
	return 0;
}

/* ------------------------------------------------------------------------
 * Family 5: XFS stale iomap.
 */

SEC("tp_btf/xfs_iomap_invalid")
int BPF_PROG(tp_xfs_iomap_invalid, struct xfs_inode *ip, const struct iomap *iomap)
{
	struct task_ctx *c;
	struct event *e = inode_event(KIND_XFS_IOMAP_INVALID, &ip->i_vnode, &c);

	if (!e)
		return 0;
	e->a0 = BPF_CORE_READ(iomap, offset);
	e->a1 = BPF_CORE_READ(iomap, length);
	e->a2 = BPF_CORE_READ(iomap, validity_cookie);
	e->aux = BPF_CORE_READ(iomap, type);
	ev_submit(e);
	return 0;
}

SEC("fexit/xfs_iomap_valid")
int BPF_PROG(fexit_xfs_iomap_valid, struct inode *inode, const struct iomap *iomap)
{
	struct task_ctx *c;
	struct event *e;
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	if ((__u8)ret)
		return 0;
	e = inode_event(KIND_XFS_IOMAP_VALID_FALSE, inode, &c);
	if (!e)
		return 0;
	e->a0 = BPF_CORE_READ(iomap, offset);
	e->a1 = BPF_CORE_READ(iomap, length);
	e->a2 = BPF_CORE_READ(iomap, validity_cookie);
	ev_submit(e);
	return 0;
}

/* ------------------------------------------------------------------------
 * Family 6: FUSE requests.
 */

SEC("tp_btf/fuse_request_send")
int BPF_PROG(tp_fuse_request_send, const struct fuse_req *req)
{
	struct req_info ri = {};
	struct node_info *ni;
	struct task_ctx *c;
	struct event *e;
	__u64 nodeid, key = (__u64)req;
	bool rec = false;

	if (!tracking() || !active())
		return 0;
	nodeid = BPF_CORE_READ(req, in.h.nodeid);
	ri.opcode = BPF_CORE_READ(req, in.h.opcode);
	c = ctx_get();
	ni = bpf_map_lookup_elem(&nodeids, &nodeid);
	if (ni) {
		ri.dev = ni->dev;
		ri.ino = ni->ino;
		rec = true;
	} else if (c && c->write_depth && c->write_record) {
		ri.dev = c->dev;
		ri.ino = c->ino;
		rec = true;
	}
	if (!rec && !(tgid_flags() & WATCH_RECORD))
		return 0;
	/*
	 * Keyed by the request, not by unique: 6.12 fires this tracepoint
	 * before fuse_dev_queue_req() assigns the unique (it reads 0 here).
	 */
	bpf_map_update_elem(&reqs, &key, &ri, BPF_ANY);
	e = ev_new(KIND_FUSE_REQUEST_SEND, ri.dev, ri.ino, c);
	if (!e)
		return 0;
	e->aux = ri.opcode;
	e->a0 = BPF_CORE_READ(req, in.h.unique);
	e->a1 = nodeid;
	e->a2 = key;
	ev_submit(e);
	return 0;
}

/* Replies arrive in the server's context: matched by request address. */
SEC("tp_btf/fuse_request_end")
int BPF_PROG(tp_fuse_request_end, const struct fuse_req *req)
{
	struct req_info *ri;
	struct event *e;
	__u64 key = (__u64)req;

	if (!tracking())
		return 0;
	ri = bpf_map_lookup_elem(&reqs, &key);
	if (!ri)
		return 0;
	if (active()) {
		e = ev_new(KIND_FUSE_REQUEST_END, ri->dev, ri->ino, ctx_get());
		if (e) {
			e->aux = ri->opcode;
			e->a0 = BPF_CORE_READ(req, in.h.unique);
			e->a1 = BPF_CORE_READ(req, in.h.nodeid);
			e->a2 = key;
			e->ret = BPF_CORE_READ(req, out.h.error);
			ev_submit(e);
		}
	}
	bpf_map_delete_elem(&reqs, &key);
	return 0;
}

/* ------------------------------------------------------------------------
 * Family 9: page-cache membership. The mm_filemap tracepoints fire for
 * every folio added to or deleted from any mapping (reads, faults,
 * writes, invalidation, truncation, reclaim); only watched inodes are
 * recorded. Splitting a large folio fires nothing for the pages that stay.
 */

/* PG_head is bit 6 of the first page's flags ("Must be in bit 6"). */
#define PG_HEAD_BIT 6

static __always_inline int cache_event(__u16 kind, struct folio *folio)
{
	struct task_ctx *c;
	unsigned long flags0 = 0;
	struct event *e = inode_event(kind, BPF_CORE_READ(folio, mapping, host), &c);

	if (!e)
		return 0;
	e->a0 = BPF_CORE_READ(folio, index);
	e->a1 = 1;
	/* the folio's flags word comes first on 6.12 and on 7.3 */
	bpf_probe_read_kernel(&flags0, sizeof(flags0), folio);
	if (flags0 & (1ul << PG_HEAD_BIT))
		e->a1 = 1ull << (BPF_CORE_READ(folio, _flags_1) & 0xff);
	ev_submit(e);
	return 0;
}

SEC("tp_btf/mm_filemap_add_to_page_cache")
int BPF_PROG(tp_mm_filemap_add_to_page_cache, struct folio *folio)
{
	return cache_event(KIND_CACHE_ADD, folio);
}

SEC("tp_btf/mm_filemap_delete_from_page_cache")
int BPF_PROG(tp_mm_filemap_delete_from_page_cache, struct folio *folio)
{
	return cache_event(KIND_CACHE_DELETE, folio);
}

/* ------------------------------------------------------------------------
 * Stop marker: run from user space with BPF_PROG_TEST_RUN, never attached.
 * Its event is reserved after every event committed before the run, so
 * reading up to it drains the ring buffer deterministically.
 */
SEC("raw_tp/probe_marker")
int probe_marker(__u64 *ctx)
{
	struct event *e = ev_new(KIND_MARKER, 0, 0, NULL);

	if (!e)
		return 0;
	e->a0 = ctx[0];
	ev_submit_wake(e);
	return 0;
}
