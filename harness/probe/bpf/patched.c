// SPDX-License-Identifier: GPL-2.0
/*
 * Tracepoints added by the project's own kernel patches. They do not exist
 * on the base kernel, so they live in their own object: the loader skips
 * them by name there and everything else still loads.
 */
#include "common.h"

/* TP_PROTO(struct fuse_inode *fi, int event, int prev_ctr, int err) */
SEC("tp_btf/fuse_iomode")
int BPF_PROG(tp_fuse_iomode, struct fuse_inode *fi, int event, int prev_ctr, int err)
{
	struct event *e;
	__u32 dev;
	__u64 ino;

	if (!tracking() || !active())
		return 0;
	inode_id((struct inode *)fi, &dev, &ino);
	if (!want_record(dev, ino))
		return 0;
	e = ev_new(KIND_TRACE_IOMODE, dev, ino, ctx_get());
	if (!e)
		return 0;
	e->aux = event;
	e->ret = err;
	e->ctr_before = prev_ctr;
	if (bpf_core_field_exists(fi->iocachectr)) {
		e->ctr_after = BPF_CORE_READ(fi, iocachectr);
		e->flags |= F_CTR_VALID;
	}
	ev_submit(e);
	return 0;
}

/* TP_PROTO(struct inode *inode, loff_t pos, size_t count, bool exclusive, int reason) */
SEC("tp_btf/fuse_dio_write_lock")
int BPF_PROG(tp_fuse_dio_write_lock, struct inode *inode, loff_t pos, size_t count,
	     bool exclusive, int reason)
{
	struct event *e;
	__u32 dev;
	__u64 ino;

	if (!tracking() || !active())
		return 0;
	inode_id(inode, &dev, &ino);
	if (!want_record(dev, ino))
		return 0;
	e = ev_new(KIND_TRACE_DIO_WRITE_LOCK, dev, ino, ctx_get());
	if (!e)
		return 0;
	e->a0 = pos;
	e->a1 = count;
	e->aux = reason;
	e->flags = exclusive ? F_EXCLUSIVE : 0;
	ev_submit(e);
	return 0;
}
