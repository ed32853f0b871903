// Package probe records what the kernel does on the write, invalidation and
// FUSE io-mode paths of registered files, using eBPF programs (bpf/*.c,
// compiled by bpf2go into the committed *_bpfel.{go,o}) loaded with
// cilium/ebpf. It also injects faults with bpf_override_return, scoped to a
// process and a call path.
//
// Typical use in a scenario:
//
//	s, err := probe.Load(probe.Options{})
//	if err != nil { ... }
//	defer s.Close()
//	if err := s.Require("fexit/down_read", "fexit/fuse_inode_uncached_io_start"); err != nil {
//		return err // a *SkipError: report SKIP
//	}
//	s.Watch(f)              // events about f's inode, from any task
//	s.WatchTask(serverPID)  // and everything a process does on the probed paths
//	s.Start()
//	... workload ...
//	ev, err := s.Stop()     // drained up to a marker: complete and ordered
//	if !ev.InOrder(probe.KindLockShared, probe.KindUncachedIOStartExit) { t.Error(ev) }
//
// Probe families (AttachStatus.Family):
//
//  1. lock: write-path entry/exit (fuse_file_write_iter, fuse_direct_write_iter,
//     fuse_cache_write_iter, ext4_file_write_iter, xfs_file_write_iter) and the
//     rwsem functions filtered to that call's &inode->i_rwsem: shared,
//     exclusive, trylock results, unlocks, and "upgraded" (exclusive after
//     shared in one call, as ext4's restart does).
//  2. iomode: fuse_file_cached_io_open, fuse_inode_uncached_io_start/end,
//     fuse_file_io_open/release, fuse_file_mmap with iocachectr and
//     FUSE_I_CACHE_IO_MODE before and after (CO-RE).
//  3. invalidate: invalidate_inode_pages2_range, kiocb_invalidate_pages,
//     kiocb_invalidate_post_direct_write, filemap_write_and_wait_range,
//     fuse_launder_folio, fuse_direct_io: ranges, return codes and the
//     caller's path (Event.Path, Event.Within).
//  4. fallback: iomap_dio_rw_begin/complete/invalidate_fail tracepoints,
//     (__)iomap_dio_rw results (-ENOTBLK), buffered write paths,
//     ext4_(da_)write_begin, dio_warn_stale_pagecache.
//  5. xfs: xfs_iomap_invalid tracepoint, xfs_iomap_valid returning false.
//  6. request: fuse_request_send/end.
//  7. patched: tracepoints added by the project's kernel patches
//     (fuse_iomode, fuse_dio_write_lock): Skipped on kernels without them.
//
// A family is named in bpf/common.h (enum probe_family) with its event
// kinds (enum event_kind, each with its family in its value), and its
// attach targets in programs.go's targets table; make generate gives the
// enums their Go names (kinds.go). A new family is three edits: the two
// enums in bpf/common.h, its programs in bpf/probes.c and its targets in
// programs.go, then make generate.
//
// The rwsem programs of the lock family are attached only between Start
// and Stop: a BPF trampoline on down_read and friends slows every task in
// the guest. Load attaches each once to find out whether it can. Text
// patching while other CPUs run the patched code is safe on hardware and
// under KVM; under TCG the harness runs QEMU with thread=single, because
// multi-threaded TCG can execute a stale INT3 (harness/text-patching).
//
// Every program is loaded and attached on its own: a target missing from
// the running kernel (inlined, not built, unpatched) makes only that
// program Skipped, with the reason in Status. Failed means a bug.
//
// CallCounter counts the calls one thread makes to a kernel function that
// no BPF program covers (inode_dio_wait), with a tracefs kprobe event in a
// private tracing instance; ReturnProbe records what such a function
// returned to one thread (generic_update_time, ext4_iomap_begin), with a
// tracefs kretprobe event in the same way.
//
// Filtering happens in the kernel: an event is recorded when its inode is
// watched (keyed by superblock dev_t and i_ino) or its process is watched.
//
// The host kernel these tests run on may refuse fentry/fexit and lack
// kprobes; harness/cmd/probeguest (make probe-guest) runs the same tests in
// a QEMU guest booted from the project's kernel, where every family
// attaches.
package probe
