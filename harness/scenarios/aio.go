package scenarios

import (
	"os"

	"dioharness/harness/aio"
)

// aioPwrite submits one asynchronous pwrite of b at off (harness/aio)
// and returns a channel that delivers its result. Everything runs in a
// goroutine because a kernel may complete an "asynchronous" write inside
// io_submit (6.12 FUSE does for files not opened with O_DIRECT), and a
// held request must not block the scenario. b must stay valid until the
// result is read.
func aioPwrite(f *os.File, b []byte, off int64) <-chan ioResult {
	ch := make(chan ioResult, 1)
	go func() {
		n, err := aio.Pwrite(f, b, off)
		ch <- ioResult{n, err}
	}()
	return ch
}
