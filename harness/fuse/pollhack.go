package fuse

import (
	"fmt"
	"path/filepath"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The poll hack keeps the Go runtime of any process from wedging on this
// file system (the same trick go-fuse uses).
//
// The Go runtime registers every file it opens with its netpoller, and
// epoll_ctl on a FUSE file sends FUSE_POLL and waits for the answer inside
// the runtime, holding a P that a stop-the-world then waits for forever if
// the answer has to come from the same process. Once a server has answered
// one FUSE_POLL with ENOSYS the kernel never sends another on that
// connection (fc->no_poll), so right after INIT the server opens a hidden
// file on its own mount and polls it with raw syscalls on a private epoll
// instance. Requests on the hidden node are neither logged nor counted, and
// gates and faults never see them.
const (
	pollHackName = ".dioharness-poll-hack"
	pollHackID   = 1 << 62 // far above any node ID the store allocates
)

// isPollHack reports requests that concern the hidden node.
func (s *Server) isPollHack(r *request) bool {
	if r.hdr.NodeID == pollHackID {
		return true
	}
	if r.hdr.Opcode != OpLookup || r.hdr.NodeID != RootID {
		return false
	}
	d := decoder{b: r.body}
	return d.name() == pollHackName && d.err == nil
}

// pollHackRequest answers a request on the hidden node.
func (s *Server) pollHackRequest(r *request) error {
	a := attr{Ino: pollHackID, Mode: syscall.S_IFREG | 0o444, Nlink: 1, Blksize: pageSize}
	switch r.hdr.Opcode {
	case OpLookup:
		r.out.entryOut(pollHackID, 1, timeout{}, timeout{}, &a)
	case OpGetattr:
		r.out.attrOut(timeout{}, &a)
	case OpOpen:
		r.out.openOut(0, FopenDirectIO, 0)
	case OpForget, OpBatchForget:
		r.noReply = true
	case OpFlush, OpRelease:
	default:
		return Errno(syscall.ENOSYS)
	}
	return nil
}

// pollHack triggers the one FUSE_POLL; errors only cost the protection.
func (s *Server) pollHack(mountpoint string) error {
	fd, err := unix.Open(filepath.Join(mountpoint, pollHackName), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("poll hack: open: %w", err)
	}
	defer unix.Close(fd)
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("poll hack: %w", err)
	}
	defer unix.Close(epfd)
	// Not unix.EpollCtl: it is a raw syscall that keeps the P, and a GC
	// starting while it waits for our own FUSE_POLL answer would wait for
	// this thread forever. Syscall6 lets the runtime know we may block.
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	_, _, e := unix.Syscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), unix.EPOLL_CTL_ADD, uintptr(fd), uintptr(unsafe.Pointer(&ev)), 0, 0)
	if e != 0 {
		return fmt.Errorf("poll hack: epoll_ctl: %w", e)
	}
	return nil
}
