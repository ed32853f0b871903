package fuse

import (
	"errors"
	"os"
	"syscall"
)

// device is one /dev/fuse descriptor (the session or a clone). It is an
// *os.File on a non-blocking fd so reads park in the Go poller instead of
// pinning a thread, and Close wakes them.
type device struct {
	f     *os.File
	index int // worker number, logged with each request
}

func newDevice(fd int, name string, index int) *device {
	return &device{f: os.NewFile(uintptr(fd), name), index: index}
}

func (d *device) worker() int { return d.index }

// writeReply writes one whole reply; the kernel consumes it in one write.
func (d *device) writeReply(msg []byte) error {
	n, err := d.f.Write(msg)
	if err == nil && n != len(msg) {
		return syscall.EIO
	}
	return unwrapPathError(err)
}

// unwrapPathError turns *os.PathError into its errno so callers can match
// ENOENT/ENODEV with errors.Is while keeping the chain intact.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// serve reads requests until the connection ends or the device is closed.
func (s *Server) serve(d *device) {
	defer s.workerWG.Done()
	buf := make([]byte, s.readBufSize())
	out := make([]byte, 0, s.readBufSize())
	for {
		n, err := d.f.Read(buf)
		if err != nil {
			err = unwrapPathError(err)
			switch {
			case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.EINTR), errors.Is(err, syscall.EAGAIN):
				// ENOENT: the request was interrupted before we
				// could read it. Nothing to answer.
				continue
			case errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, os.ErrClosed):
				// Unmounted, aborted, or closed by Close.
				return
			default:
				s.logf("read %s: %v", d.f.Name(), err)
				s.setServeErr(err)
				return
			}
		}
		s.dispatch(buf[:n], d, out)
	}
}

// readBufSize is large enough for a WRITE of max_write plus headers and at
// least FUSE_MIN_READ_BUFFER, or the kernel refuses the read with EINVAL.
func (s *Server) readBufSize() int {
	c := s.cfg.Capabilities
	n := int(max(c.MaxWrite, uint32(c.MaxPages)*pageSize, s.cfg.MaxRead))
	return max(n+pageSize, minReadBuffer)
}
