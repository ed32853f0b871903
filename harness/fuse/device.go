package fuse

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// device is one /dev/fuse descriptor (the session or a clone), served by
// one worker goroutine.
//
// Why not an *os.File in the Go netpoller: opening a file on a FUSE mount
// from the same process makes the runtime call epoll_ctl on the netpoller's
// epoll instance, and the kernel answers that with a FUSE_POLL request while
// holding the instance's mutex. A server waiting in that same epoll instance
// could never read the request: deadlock. So each worker waits in a private
// epoll instance on its descriptor plus the server's stop eventfd, in a
// blocking syscall, and reads non-blocking.
type device struct {
	fd    int
	index int // worker number, logged with each request
}

func (d *device) worker() int { return d.index }

// writeReply writes one whole reply; the kernel consumes it in one write.
func (d *device) writeReply(msg []byte) error {
	for {
		n, err := unix.Write(d.fd, msg)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n != len(msg) {
			return syscall.EIO
		}
		return nil
	}
}

// serve reads requests until the connection ends or the server stops.
func (s *Server) serve(d *device) {
	defer s.workerWG.Done()
	epfd, err := workerEpoll(d.fd, s.stopFd)
	if err != nil {
		s.logf("worker %d: %v", d.index, err)
		s.setServeErr(err)
		return
	}
	defer unix.Close(epfd)
	buf := make([]byte, s.readBufSize())
	out := make([]byte, 0, s.readBufSize())
	events := make([]unix.EpollEvent, 2)
	for !s.stopping.Load() {
		n, err := unix.Read(d.fd, buf)
		switch {
		case err == nil:
			s.dispatch(buf[:n], d, out)
		case errors.Is(err, unix.EAGAIN):
			// Nothing pending (or another worker took it): wait.
			if _, err := unix.EpollWait(epfd, events, -1); err != nil && !errors.Is(err, unix.EINTR) {
				s.logf("worker %d: epoll_wait: %v", d.index, err)
				s.setServeErr(err)
				return
			}
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.ENOENT):
			// ENOENT: the request was interrupted before we could
			// read it. Nothing to answer.
		case errors.Is(err, unix.ENODEV), errors.Is(err, unix.ECONNABORTED):
			// Unmounted or aborted: the connection is gone.
			return
		default:
			s.logf("worker %d: read: %v", d.index, err)
			s.setServeErr(fmt.Errorf("read /dev/fuse: %w", err))
			return
		}
	}
}

// workerEpoll creates a private epoll instance watching the device and the
// stop eventfd (level triggered: a stop wakes every worker).
func workerEpoll(devFd, stopFd int) (int, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("epoll_create1: %w", err)
	}
	for _, fd := range []int{devFd, stopFd} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			unix.Close(epfd)
			return -1, fmt.Errorf("epoll_ctl add %d: %w", fd, err)
		}
	}
	return epfd, nil
}

// readBufSize is large enough for a WRITE of max_write plus headers and at
// least FUSE_MIN_READ_BUFFER, or the kernel refuses the read with EINVAL.
func (s *Server) readBufSize() int {
	c := s.cfg.Capabilities
	n := int(max(c.MaxWrite, uint32(c.MaxPages)*pageSize, s.cfg.MaxRead))
	return max(n+pageSize, minReadBuffer)
}
