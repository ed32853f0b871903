// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection: kprobes with bpf_override_return on functions marked
 * ALLOW_ERROR_INJECTION. A fault fires only for the armed process (or, with
 * tgid 0, for any task whose context is tracked, i.e. one working on a
 * watched inode), only while the thread is inside the armed context
 * function (tracked by the fentry/fexit pairs in probes.c through the
 * shared tasks map), and only as many times as armed. Needs CONFIG_BPF_KPROBE_OVERRIDE, hence its own
 * object.
 */
#include "common.h"

static __always_inline int try_fault(struct pt_regs *ctx, __u32 site)
{
	struct task_ctx *c;
	struct fault *f;
	struct event *e;
	__s64 left = 0;

	f = bpf_map_lookup_elem(&faults, &site);
	/* tgid 0: any task, e.g. a kernel worker, inside the Within context */
	if (!f || !f->armed || (f->tgid && f->tgid != cur_tgid()))
		return 0;
	c = ctx_get();
	if (f->within && (!c || !(c->within & (1u << (f->within & 31)))))
		return 0;
	if (f->remaining >= 0) {
		/* Claim one injection; a racing thread may have taken the last. */
		left = __sync_fetch_and_add(&f->remaining, -1);
		if (left <= 0) {
			__sync_fetch_and_add(&f->remaining, 1);
			return 0;
		}
		left--;
	} else {
		left = -1;
	}
	bpf_override_return(ctx, (unsigned long)(long)f->err);
	__sync_fetch_and_add(&f->fired, 1);
	if (c && c->write_depth)
		c->wflags |= F_FAULT_SEEN;
	/* Always recorded: an injected fault must never go unseen. */
	e = ev_new(KIND_FAULT_INJECTED, c ? c->dev : 0, c ? c->ino : 0, c);
	if (!e)
		return 0;
	e->aux = site;
	e->ret = f->err;
	e->a0 = left;
	e->a1 = f->within;
	ev_submit(e);
	return 0;
}

/* should_failslab(struct kmem_cache *s, gfp_t gfpflags) */
SEC("kprobe/should_failslab")
int kprobe_should_failslab(struct pt_regs *ctx)
{
	struct probe_config *cf = cfg();

	if (!cf || !cf->tracking)
		return 0;
	/* Failing a __GFP_NOFAIL allocation would be a bug of ours, not the
	 * kernel's; failslab itself never does it either. */
	if (ctx->si & cf->gfp_nofail)
		return 0;
	return try_fault(ctx, SITE_FAILSLAB);
}

/* should_fail_bio(struct bio *bio) */
SEC("kprobe/should_fail_bio")
int kprobe_should_fail_bio(struct pt_regs *ctx)
{
	if (!tracking())
		return 0;
	return try_fault(ctx, SITE_FAIL_BIO);
}
