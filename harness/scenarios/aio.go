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
// channel that delivers its result: the byte count, or the error of the
// submission or of the write. Everything runs in a goroutine because a
// kernel may complete an "asynchronous" write inside io_submit (6.12
// FUSE does for files not opened with O_DIRECT), and a held request must
// not block the scenario. b must stay valid until the result is read.
func aioPwrite(f *os.File, b []byte, off int64) <-chan ioResult {
	ch := make(chan ioResult, 1)
	go func() { ch <- aioPwriteWait(f, b, off) }()
	return ch
}

func aioPwriteWait(f *os.File, b []byte, off int64) ioResult {
	var ctx uint64
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, 1, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 {
		return ioResult{0, fmt.Errorf("io_setup: %w", e)}
	}
	defer unix.Syscall(unix.SYS_IO_DESTROY, uintptr(ctx), 0, 0)
	cb := &aioIocb{
		opcode: iocbCmdPwrite,
		fildes: uint32(f.Fd()),
		buf:    uint64(uintptr(unsafe.Pointer(&b[0]))),
		nbytes: uint64(len(b)),
		offset: off,
	}
	cbs := []*aioIocb{cb}
	n, _, e := unix.Syscall(unix.SYS_IO_SUBMIT, uintptr(ctx), 1, uintptr(unsafe.Pointer(&cbs[0])))
	if e != 0 || n != 1 {
		return ioResult{0, fmt.Errorf("io_submit: %d, %v", n, e)}
	}
	var ev aioEvent
	for {
		n, _, e = unix.Syscall6(unix.SYS_IO_GETEVENTS, uintptr(ctx), 1, 1, uintptr(unsafe.Pointer(&ev)), 0, 0)
		if e != unix.EINTR {
			break
		}
	}
	runtime.KeepAlive(cbs)
	runtime.KeepAlive(b)
	switch {
	case e != 0:
		return ioResult{0, fmt.Errorf("io_getevents: %w", e)}
	case n != 1:
		return ioResult{0, fmt.Errorf("io_getevents returned %d events", n)}
	case ev.res < 0:
		return ioResult{0, unix.Errno(-ev.res)}
	}
	return ioResult{int(ev.res), nil}
}
