package fuse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ErrNotMounted is returned by operations that need a mounted server.
var ErrNotMounted = errors.New("fuse server not mounted")

// Server is one FUSE mount and the file system it serves (the in-memory
// tree, or Config.Source). All methods are safe for concurrent use.
type Server struct {
	cfg Config
	// store is the in-memory tree the control methods (FileContent,
	// WriteFile...) use; fs is what the handlers serve: that tree, or
	// Config.Source. ops are the handlers of the opcodes fs serves.
	store      *store
	fs         fileSystem
	ops        map[Opcode]handler
	recorder   *recorder
	gates      *gates
	faults     faults
	rules      rules
	interrupts interrupts

	// ctx ends when Close starts: held and delayed requests stop waiting.
	ctx    context.Context
	cancel context.CancelFunc

	initInfo atomic.Pointer[InitInfo]
	initDone chan struct{}

	workerWG sync.WaitGroup // goroutines reading the device
	reqWG    sync.WaitGroup // goroutines finishing held/delayed requests
	done     chan struct{}  // closed when every worker has returned
	stopping atomic.Bool    // workers exit at their next loop
	stopFd   int            // eventfd that wakes workers to stop

	mu         sync.Mutex // guards the fields below
	mountpoint string
	devs       []*device // devs[0] is the session descriptor
	connMinor  uint32
	started    bool
	closing    bool // set before the descriptors are closed
	serveErr   error
	tmpBacking string

	closeOnce sync.Once
	closeErr  error
}

// New builds a server from cfg without mounting it. Dispatching can be
// exercised without /dev/fuse (see the package tests); Start mounts.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		store:    newStore(cfg.UID, cfg.GID),
		recorder: newRecorder(cfg.LogLimit),
		gates:    newGates(),
		initDone: make(chan struct{}),
		done:     make(chan struct{}),
		stopFd:   -1,
	}
	s.fs = &memFS{st: s.store, backer: s}
	if cfg.Source != "" {
		if s.fs, err = newDirFS(cfg.Source); err != nil {
			return nil, err
		}
	}
	s.ops = handlersFor(s.fs)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.rules.set(cfg.Rules); err != nil {
		return nil, err
	}
	s.rules.setHook(cfg.OpenHook)
	for _, f := range cfg.Faults {
		if err := s.faults.set(f); err != nil {
			return nil, err
		}
	}
	for _, g := range cfg.Gates {
		if err := s.gates.arm(g); err != nil {
			return nil, err
		}
	}
	for _, d := range cfg.Dirs {
		if err := s.store.mkdirPath(d); err != nil {
			return nil, fmt.Errorf("populate dir %s: %w", d, err)
		}
	}
	for _, f := range cfg.Files {
		data := f.Data
		if data == nil {
			data = []byte(f.Text)
		}
		if _, err := s.store.writeFile(f.Path, data, f.Size, f.Mode); err != nil {
			return nil, fmt.Errorf("populate file %s: %w", f.Path, err)
		}
	}
	return s, nil
}

// Mount is New, Start and WaitInit: it returns once the kernel has
// completed INIT, so the mount is usable.
func Mount(ctx context.Context, dir string, cfg Config) (*Server, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Start(dir); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.WaitInit(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Start mounts the file system on dir and starts the workers. It returns
// before INIT completes; use WaitInit.
func (s *Server) Start(dir string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("fuse server already started")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("mountpoint %s: %w", dir, err)
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return fmt.Errorf("mountpoint %s: %w", dir, err)
	}
	stopFd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	fd, err := openDevice()
	if err != nil {
		unix.Close(stopFd)
		return err
	}
	if err := mountFuse(abs, fd, &s.cfg); err != nil {
		unix.Close(fd)
		unix.Close(stopFd)
		return err
	}
	s.started = true
	s.stopFd = stopFd
	s.mountpoint = abs
	s.devs = append(s.devs, &device{fd: fd, index: 0})
	// Clones can only be made once the session fd is attached to a
	// connection, i.e. after mount(2).
	for i := 1; i < s.cfg.Workers; i++ {
		cfd, err := cloneDevice(fd)
		if err != nil {
			s.logf("worker %d: %v (continuing with %d workers)", i, err, len(s.devs))
			break
		}
		s.devs = append(s.devs, &device{fd: cfd, index: i})
	}
	if m, err := mountDevMinor(abs); err == nil {
		s.connMinor = m
	} else {
		s.logf("%v", err)
	}
	for _, d := range s.devs {
		s.workerWG.Add(1)
		go s.serve(d)
	}
	go func() {
		s.workerWG.Wait()
		close(s.done)
	}()
	return nil
}

// WaitInit blocks until INIT has been answered, serving ended, or ctx ends.
func (s *Server) WaitInit(ctx context.Context) error {
	select {
	case <-s.initDone:
		return nil
	case <-s.done:
		return fmt.Errorf("fuse server stopped before INIT: %w", s.Err())
	case <-ctx.Done():
		return fmt.Errorf("wait for INIT: %w", ctx.Err())
	}
}

// Done is closed when the workers have stopped: after Close, Abort, or an
// external unmount.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err returns the error that stopped serving, if any (nil for a normal
// unmount or Close).
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serveErr == nil && !s.started {
		return ErrNotMounted
	}
	return s.serveErr
}

func (s *Server) setServeErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serveErr == nil {
		s.serveErr = err
	}
}

// Mountpoint returns the absolute mount directory ("" before Start).
func (s *Server) Mountpoint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mountpoint
}

// ConnectionID is the fuse connection number (the mount's st_dev minor),
// the directory name under /sys/fs/fuse/connections.
func (s *Server) ConnectionID() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connMinor
}

// Init returns the INIT negotiation result (zero before INIT).
func (s *Server) Init() InitInfo {
	if p := s.initInfo.Load(); p != nil {
		return *p
	}
	return InitInfo{}
}

// setInit records the INIT result; readiness (initDone) follows once the
// poll hack has run, so no caller can open a file before it.
func (s *Server) setInit(info InitInfo) {
	if !s.initInfo.CompareAndSwap(nil, &info) {
		return
	}
	mp := s.Mountpoint()
	if mp == "" { // dispatcher tests: no mount to poll
		close(s.initDone)
		return
	}
	s.reqWG.Add(1)
	go func() {
		defer s.reqWG.Done()
		if err := s.pollHack(mp); err != nil {
			s.logf("%v", err)
		}
		close(s.initDone)
	}()
}

func (s *Server) initialized() bool { return s.initInfo.Load() != nil }

// minor returns the negotiated protocol minor (the latest before INIT).
func (s *Server) minor() uint32 {
	if p := s.initInfo.Load(); p != nil {
		return p.Minor
	}
	return KernelMinorVersion
}

// Unmount unmounts the file system (lazily if busy). The workers stop when
// the kernel ends the connection; Close also releases held requests.
func (s *Server) Unmount() error {
	mp := s.Mountpoint()
	if mp == "" {
		return ErrNotMounted
	}
	return unmount(mp)
}

// Abort aborts the connection through the fuse control file system, as
// `echo 1 > /sys/fs/fuse/connections/N/abort` does: every pending and
// future request fails with ENOTCONN. The mount stays until Close.
func (s *Server) Abort() error {
	if s.Mountpoint() == "" {
		return ErrNotMounted
	}
	return abortConnection(s.ConnectionID())
}

// Close shuts down cleanly even with requests in flight: held and delayed
// requests are let go, the file system is unmounted (lazily if busy), the
// workers stop, and once every server goroutine has exited the device
// descriptors are closed, which aborts whatever the kernel still has pending
// (callers blocked on a lazily unmounted mount get ENOTCONN).
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.gates.disarmAll()
		var errs []error
		s.mu.Lock()
		mp, devs, started := s.mountpoint, s.devs, s.started
		s.mu.Unlock()
		if mp != "" {
			errs = append(errs, unmount(mp))
		}
		if started {
			s.stopping.Store(true)
			var one [8]byte
			ne.PutUint64(one[:], 1)
			if _, err := unix.Write(s.stopFd, one[:]); err != nil {
				errs = append(errs, fmt.Errorf("wake workers: %w", err))
			}
			<-s.done
		}
		// Held requests finish (and reply) before their descriptors go.
		s.reqWG.Wait()
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		for _, d := range devs {
			if err := unix.Close(d.fd); err != nil {
				errs = append(errs, fmt.Errorf("close device: %w", err))
			}
		}
		if s.stopFd >= 0 {
			unix.Close(s.stopFd)
		}
		s.fs.close()
		s.mu.Lock()
		if s.tmpBacking != "" {
			errs = append(errs, os.RemoveAll(s.tmpBacking))
		}
		s.mu.Unlock()
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// devControl runs f with the session descriptor (for ioctls). The lock
// keeps Close from closing it meanwhile.
func (s *Server) devControl(f func(fd uintptr)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.devs) == 0 || s.closing {
		return ErrNotMounted
	}
	f(uintptr(s.devs[0].fd))
	return nil
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}
