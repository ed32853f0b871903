/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal kernel type declarations for the probes.
 *
 * We deliberately do not use a generated vmlinux.h: the same objects must load
 * on the 6.12 guest kernel and on whatever kernel the host runs, so every
 * struct below is declared with only the fields we read and marked
 * preserve_access_index. The loader relocates each access against the running
 * kernel's BTF (CO-RE). Fields that only some kernels have are guarded with
 * bpf_core_field_exists() at the point of use.
 */
#ifndef PROBE_KERNEL_H
#define PROBE_KERNEL_H

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef __u64 size_t;
typedef long long loff_t;
typedef __u32 dev_t;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

/* Subset of enum bpf_map_type / update flags from include/uapi/linux/bpf.h. */
enum {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};
enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};
/* bpf_ringbuf_submit flags and bpf_ringbuf_query queries. */
enum {
	BPF_RB_NO_WAKEUP = 1 << 0,
	BPF_RB_FORCE_WAKEUP = 1 << 1,
};
enum {
	BPF_RB_AVAIL_DATA = 0,
	BPF_RB_RING_SIZE = 1,
};

#define PAI __attribute__((preserve_access_index))

/*
 * x86-64 struct pt_regs (arch/x86/include/asm/ptrace.h). Its layout is ABI
 * for kprobe programs, so it needs no relocation.
 */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

struct super_block {
	dev_t s_dev;
} PAI;

struct rw_semaphore {
	long count;
} PAI;

struct inode {
	struct super_block *i_sb;
	unsigned long i_ino;
	loff_t i_size;
	struct rw_semaphore i_rwsem;
} PAI;

struct address_space {
	struct inode *host;
} PAI;

struct file {
	struct inode *f_inode;
	struct address_space *f_mapping;
	void *private_data;
} PAI;

struct kiocb {
	struct file *ki_filp;
	loff_t ki_pos;
	/* a function pointer; only whether it is set is read */
	void *ki_complete;
	int ki_flags;
} PAI;

/* count lives in an anonymous union in 6.12; CO-RE finds it by name. */
struct iov_iter {
	size_t count;
} PAI;

struct folio {
	struct address_space *mapping;
	unsigned long index;
	/* the second page's flags: the order of a large folio in bits 0-7 */
	unsigned long _flags_1;
} PAI;

struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	unsigned long vm_pgoff;
	unsigned long vm_flags;
	struct file *vm_file;
} PAI;

/* fs/fuse/fuse_i.h: struct fuse_inode embeds struct inode first. */
struct fuse_inode {
	struct inode inode;
	__u64 nodeid;
	int iocachectr;
	unsigned long state;
} PAI;

enum fuse_iomode {
	IOM_NONE,
	IOM_CACHED,
	IOM_UNCACHED,
};

struct fuse_file {
	__u32 open_flags;
	enum fuse_iomode iomode;
} PAI;

struct fuse_io_priv {
	struct kiocb *iocb;
} PAI;

struct fuse_in_header {
	__u32 len;
	__u32 opcode;
	__u64 unique;
	__u64 nodeid;
} PAI;

struct fuse_out_header {
	__u32 len;
	__s32 error;
	__u64 unique;
} PAI;

struct fuse_req_in {
	struct fuse_in_header h;
} PAI;

struct fuse_req_out {
	struct fuse_out_header h;
} PAI;

/* in/out are members of anonymous struct type in the kernel; CO-RE only
 * compares the kind of intermediate composite members, not their names. */
struct fuse_req {
	struct fuse_req_in in;
	struct fuse_req_out out;
} PAI;

struct xfs_inode {
	struct inode i_vnode;
} PAI;

struct iomap {
	__u64 addr;
	loff_t offset;
	__u64 length;
	__u16 type;
	__u16 flags;
	__u64 validity_cookie;
} PAI;

/* Opaque to us; only pointers are passed around. */
struct iomap_dio;
struct kmem_cache;
struct bio;
struct fuse_backing;

#endif /* PROBE_KERNEL_H */
