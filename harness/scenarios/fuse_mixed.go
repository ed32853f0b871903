package scenarios

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/fuse"
	"dioharness/harness/guestproto"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// mixedDuration bounds the generic/095-shaped stress.
const mixedDuration = 4 * time.Second

func fuseMixedScenarios() scenario.Catalogue {
	return scenario.Catalogue{{
		Declaration: guestproto.Declaration{
			Name:  "fuse/mixed-dio-mmap-095",
			Area:  "fuse",
			Setup: "FUSE_DIRECT_IO_ALLOW_MMAP, FOPEN_DIRECT_IO|PARALLEL_DIRECT_WRITES; for a bounded time two direct writers, a shared-mmap writer and two direct readers on one file (the generic/095 shape of the 2023 thread)",
			Checks: "no I/O error and no kernel report; after msync, fsync and drop_caches the server's bytes equal a model of the last write to each block; " +
				"the probes saw both shared-lock direct writes (before the mmap) and exclusive ones (after it)",
		},
		Timeout: 60 * time.Second,
		Run:     mixedDIOMmap,
	}}
}

// mixedDIOMmap runs the workers on disjoint block ranges so that the
// final content has a model: each block holds the last pattern its one
// writer wrote.
func mixedDIOMmap(t *scenario.T) {
	ps := t.Probes("fexit/down_read", "fexit/down_write", "fentry/fuse_direct_write_iter")
	ps.RecordPageCache()
	const blocks = 48 // 16 per writer
	size := blocks * page
	cfg := fileOf("/mix", int64(size), fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true}, fuse.Capabilities{DirectIOAllowMmap: true})
	m := t.FUSE(cfg)
	f := openFile(t, m.Path("mix"), os.O_RDWR)
	ps.Watch(f)
	model := make([][]byte, blocks)
	var modelMu sync.Mutex
	setModel := func(b int, data []byte) {
		modelMu.Lock()
		model[b] = append([]byte(nil), data...)
		modelMu.Unlock()
	}
	var (
		stop   atomic.Bool
		errs   = make(chan error, 8)
		wg     sync.WaitGroup
		rounds atomic.Int64
	)
	dioWriter := func(first int, seed byte) {
		defer wg.Done()
		buf := alignedBuf(t, page, 0)
		for i := 0; !stop.Load(); i++ {
			b := first + i%16
			fill(buf, seed+byte(i))
			if n, err := unix.Pwrite(int(f.Fd()), buf, int64(b*page)); err != nil || n != page {
				errs <- fmt.Errorf("direct write block %d: %d, %v", b, n, err)
				return
			}
			setModel(b, buf)
			rounds.Add(1)
		}
	}
	reader := func(direct bool) {
		defer wg.Done()
		buf := alignedBuf(t, page, 0)
		for i := 0; !stop.Load(); i++ {
			if _, err := unix.Pread(int(f.Fd()), buf, int64((i%blocks)*page)); err != nil {
				errs <- fmt.Errorf("read (direct=%v) block %d: %v", direct, i%blocks, err)
				return
			}
		}
	}
	ev := ps.Record(func() {
		wg.Add(4)
		go dioWriter(0, 0x10)
		go dioWriter(16, 0x90)
		go reader(true)
		go reader(false)
		// Let the parallel writers run shared, then map the file:
		// the inode enters cached mode and later writes serialise.
		for rounds.Load() < 20 {
			runtime.Gosched()
		}
		mapping := mapShared(t, f, size)
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			data := make([]byte, page)
			for i := 0; !stop.Load(); i++ {
				b := 32 + i%16
				fill(data, 0x50+byte(i))
				copy(mapping[b*page:], data)
				setModel(b, data)
			}
		}()
		time.Sleep(mixedDuration) // the workload's length, not a synchronisation
		stop.Store(true)
		wg.Wait()
		t.Check(unix.Msync(mapping, unix.MS_SYNC), "msync")
	})
	close(errs)
	for err := range errs {
		t.Errorf("%v", err)
	}
	if t.Failed() {
		return
	}
	t.Check(f.Sync(), "fsync")
	t.DropCaches()
	content, err := m.FileContent("/mix")
	t.Check(err, "server content")
	for b := range blocks {
		if model[b] == nil {
			continue
		}
		sameBytes(t, fmt.Sprintf("block %d on the server", b), content[b*page:(b+1)*page], model[b])
	}
	shared := ev.Of(probe.KindLockShared).Where(func(e probe.Event) bool { return e.Within.Has(probe.FuncFuseDirectWriteIter) })
	excl := ev.Of(probe.KindLockExclusive).Where(func(e probe.Event) bool { return e.Within.Has(probe.FuncFuseDirectWriteIter) })
	if len(shared) == 0 || len(excl) == 0 {
		t.Fatalf("want both shared (before mmap) and exclusive (after) direct writes, got %d shared, %d exclusive", len(shared), len(excl))
	}
	t.Logf("%d direct writes, %d shared, %d exclusive", rounds.Load(), len(shared), len(excl))
}
