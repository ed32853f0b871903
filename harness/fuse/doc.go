// Package fuse is a test FUSE server that speaks the /dev/fuse protocol
// directly (include/uapi/linux/fuse.h of Linux 6.12, protocol 7.41).
//
// It exists so that kernel scenarios can control every reply a FUSE server
// gives: the INIT capabilities per mount, the FOPEN_* flags per open, how long
// a request takes, which request fails, and gates that hold matching requests
// until the scenario releases them. Gates make race windows deterministic: a
// scenario waits (event-driven, with a timeout) until N requests are held,
// which proves they were in flight at the same time, and then releases them.
//
// The file system is an in-memory tree of directories and regular files whose
// content can be read back byte for byte (FileContent) and pre-populated
// (Config.Files, WriteFile), or with Config.Source a directory on a real
// filesystem passed through (fstests' FUSE setups). One set of handlers
// serves both: each is a fileSystem (fs.go). Every request is logged and counted, including
// the number of requests in flight per (nodeid, opcode) and its maximum.
//
// Typical in-process use:
//
//	srv, err := fuse.Mount(ctx, dir, fuse.Config{Workers: 4})
//	...
//	defer srv.Close()
//
// Code that page-faults on an mmap of a file served by this package must run
// in another process than the server (the fault would wait for a server
// goroutine that cannot run while the faulting thread holds the mm lock):
// see the remote and fusecli packages for the out-of-process control.
package fuse
