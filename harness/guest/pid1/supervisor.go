package pid1

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Supervisor starts processes and reaps every child of this process:
// the ones it started, whose exit it reports, and the orphans the kernel
// reparents to PID 1 (a test's background jobs after the test was
// killed, a FUSE server whose mount helper exited), which would else
// stay zombies and still match pgrep and ps in the next test.
//
// While a Supervisor runs, nothing else in the process may wait for
// children (os/exec's Wait): its wait4(-1) would take their status.
type Supervisor struct {
	mu      sync.Mutex
	waiting map[int]chan Exit
	// orphans counts the reaped children it did not start; changed is
	// closed and replaced whenever it grows.
	orphans int
	changed chan struct{}
	sigs    chan os.Signal
	stop    chan struct{}
	done    chan struct{}
}

// Exit is how a started process ended.
type Exit struct {
	Pid    int
	Status unix.WaitStatus
}

// String says how the process ended, as a shell would.
func (e Exit) String() string {
	switch {
	case e.Status.Exited():
		return fmt.Sprintf("exit status %d", e.Status.ExitStatus())
	case e.Status.Signaled():
		return "killed by " + e.Status.Signal().String()
	}
	return fmt.Sprintf("wait status %#x", uint32(e.Status))
}

// Success is true for exit status 0.
func (e Exit) Success() bool { return e.Status.Exited() && e.Status.ExitStatus() == 0 }

// NewSupervisor starts reaping. Close stops it.
func NewSupervisor() *Supervisor {
	s := &Supervisor{
		waiting: map[int]chan Exit{},
		changed: make(chan struct{}),
		sigs:    make(chan os.Signal, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	signal.Notify(s.sigs, syscall.SIGCHLD)
	go s.loop()
	return s
}

// Start starts argv[0] (a path) with attr and returns its pid and a
// channel that receives its exit once.
func (s *Supervisor) Start(argv []string, attr *os.ProcAttr) (int, <-chan Exit, error) {
	// Held from before the fork until the pid is registered: the loop
	// takes it before it looks a reaped pid up, so a process that
	// exits at once is still reported.
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := os.StartProcess(argv[0], argv, attr)
	if err != nil {
		return 0, nil, err
	}
	pid := p.Pid
	ch := make(chan Exit, 1)
	s.waiting[pid] = ch
	// The loop reaps it; the os.Process must not wait itself (Release
	// also sets its Pid to -1: the pid is kept before).
	p.Release()
	return pid, ch, nil
}

// Run starts argv and waits for it.
func (s *Supervisor) Run(argv []string, attr *os.ProcAttr) (Exit, error) {
	_, ch, err := s.Start(argv, attr)
	if err != nil {
		return Exit{}, err
	}
	return <-ch, nil
}

func (s *Supervisor) loop() {
	defer close(s.done)
	for {
		s.reap()
		select {
		case <-s.sigs:
		case <-s.stop:
			return
		}
	}
}

// reap collects every child that has exited.
func (s *Supervisor) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		s.mu.Lock()
		ch, ok := s.waiting[pid]
		delete(s.waiting, pid)
		if !ok {
			s.orphans++
			close(s.changed)
			s.changed = make(chan struct{})
		}
		s.mu.Unlock()
		if ok {
			ch <- Exit{Pid: pid, Status: ws}
		}
	}
}

// Orphans is how many children it reaped that it had not started.
func (s *Supervisor) Orphans() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orphans
}

// WaitOrphans waits until at least n orphans were reaped, at most d.
func (s *Supervisor) WaitOrphans(n int, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := s.orphans, s.changed
		s.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}

// Close stops reaping.
func (s *Supervisor) Close() {
	signal.Stop(s.sigs)
	close(s.stop)
	<-s.done
}
