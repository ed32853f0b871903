// Package aio issues Linux native AIO (io_setup, io_submit,
// io_getevents) reads and writes: the one way to give the kernel a kiocb
// that is not synchronous, so that a direct write completes
// asynchronously (FUSE's fuse_aio_complete and its invalidation worker,
// iomap's completion work). x/sys/unix has the syscall numbers but no
// wrappers.
package aio

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// iocb is struct iocb (include/uapi/linux/aio_abi.h), little endian.
type iocb struct {
	data      uint64
	key       uint32
	rwFlags   uint32
	opcode    uint16
	reqprio   int16
	fildes    uint32
	buf       uint64
	nbytes    uint64
	offset    int64
	reserved2 uint64
	flags     uint32
	resfd     uint32
}

// event is struct io_event.
type event struct {
	data uint64
	obj  uint64
	res  int64
	res2 int64
}

const (
	cmdPread  = 0
	cmdPwrite = 1
)

// Pwrite writes b at off with one io_submit and waits for its event: the
// byte count, or the error of the submission or of the write. b must
// stay valid until it returns (it does: the call waits).
func Pwrite(f *os.File, b []byte, off int64) (int, error) { return do(f, cmdPwrite, b, off) }

// Pread reads into b at off likewise.
func Pread(f *os.File, b []byte, off int64) (int, error) { return do(f, cmdPread, b, off) }

func do(f *os.File, op uint16, b []byte, off int64) (int, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("aio: empty buffer")
	}
	var ctx uint64
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 {
		return 0, fmt.Errorf("io_setup: %w", e)
	}
	defer unix.Syscall(unix.SYS_IO_DESTROY, uintptr(ctx), 0, 0)
	cb := &iocb{
		opcode: op,
		fildes: uint32(f.Fd()),
		buf:    uint64(uintptr(unsafe.Pointer(&b[0]))),
		nbytes: uint64(len(b)),
		offset: off,
	}
	cbs := []*iocb{cb}
	n, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, uintptr(ctx), 1, uintptr(unsafe.Pointer(&cbs[0])))
	if e != 0 || n != 1 {
		return 0, fmt.Errorf("io_submit: %d, %v", n, e)
	}
	var ev event
	for {
		n, _, e = unix.Syscall6(unix.SYS_IO_GETEVENTS, uintptr(ctx), 1, 1, uintptr(unsafe.Pointer(&ev)), 0, 0)
		if e != unix.EINTR {
			break
		}
	}
	runtime.KeepAlive(cbs)
	runtime.KeepAlive(b)
	runtime.KeepAlive(f)
	switch {
	case e != 0:
		return 0, fmt.Errorf("io_getevents: %w", e)
	case n != 1:
		return 0, fmt.Errorf("io_getevents returned %d events", n)
	case ev.res < 0:
		return 0, unix.Errno(-ev.res)
	}
	return int(ev.res), nil
}
