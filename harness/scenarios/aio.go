package scenarios

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Linux native AIO (io_setup/io_submit/io_getevents): the one way to
// issue a direct write whose kiocb is not synchronous, so that FUSE
// completes it asynchronously (fuse_aio_complete and, with page cache to
// drop, fuse_aio_invalidate_worker). x/sys/unix has the syscall numbers
// but no wrappers.

// aioIocb is struct iocb (include/uapi/linux/aio_abi.h), little endian.
type aioIocb struct {
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

// aioEvent is struct io_event.
type aioEvent struct {
	data uint64
	obj  uint64
	res  int64
	res2 int64
}

const iocbCmdPwrite = 1

// aioPwrite submits one asynchronous pwrite of b at off and returns a
// channel that delivers its result: the byte count, or the errno the
// write completed with. The submission itself must succeed (an error
// from io_submit is returned at once). b must stay valid until the
// result is read.
func aioPwrite(f *os.File, b []byte, off int64) (<-chan ioResult, error) {
	var ctx uint64
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 {
		return nil, fmt.Errorf("io_setup: %w", e)
	}
	cb := &aioIocb{
		opcode: iocbCmdPwrite,
		fildes: uint32(f.Fd()),
		buf:    uint64(uintptr(unsafe.Pointer(&b[0]))),
		nbytes: uint64(len(b)),
		offset: off,
	}
	cbs := []*aioIocb{cb}
	n, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, uintptr(ctx), 1, uintptr(unsafe.Pointer(&cbs[0])))
	runtime.KeepAlive(cbs)
	if e != 0 || n != 1 {
		unix.Syscall(unix.SYS_IO_DESTROY, uintptr(ctx), 0, 0)
		return nil, fmt.Errorf("io_submit: %d, %v", n, e)
	}
	ch := make(chan ioResult, 1)
	go func() {
		defer unix.Syscall(unix.SYS_IO_DESTROY, uintptr(ctx), 0, 0)
		var ev aioEvent
		for {
			n, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, uintptr(ctx), 1, 1, uintptr(unsafe.Pointer(&ev)), 0, 0)
			if e == unix.EINTR {
				continue
			}
			runtime.KeepAlive(cb)
			runtime.KeepAlive(b)
			switch {
			case e != 0:
				ch <- ioResult{0, fmt.Errorf("io_getevents: %w", e)}
			case n != 1:
				ch <- ioResult{0, fmt.Errorf("io_getevents returned %d events", n)}
			case ev.res < 0:
				ch <- ioResult{0, unix.Errno(-ev.res)}
			default:
				ch <- ioResult{int(ev.res), nil}
			}
			return
		}
	}()
	return ch, nil
}
