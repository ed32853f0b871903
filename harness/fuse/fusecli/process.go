package fusecli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"dioharness/harness/fuse/remote"
)

// stopTimeout is how long Stop waits after SIGTERM before SIGKILL.
const stopTimeout = 10 * time.Second

// Process is a fuseserver running as a child process.
type Process struct {
	// Cmd is the running command.
	Cmd *exec.Cmd
	// Mountpoint is the path announced on the "ready" line.
	Mountpoint string
	// Socket is the control socket; Client is connected to it.
	Socket string
	Client *remote.Client

	stderr  *lockedBuffer
	tmpDir  string
	exited  chan struct{}
	waitErr error
	stopped sync.Once
	stopErr error
}

// Start runs binary with argv (argv excludes the program name, so for a
// multi-call binary it starts with the subcommand) and returns once the
// server printed "ready <mountpoint>". If argv has no -ctl flag a control
// socket in a temporary directory is added. ctx bounds the start only: the
// child keeps running after ctx ends until Stop.
func Start(ctx context.Context, binary string, argv []string) (*Process, error) {
	return StartCmd(ctx, exec.Command(binary, argv...))
}

// StartCmd is Start for a prepared command (to set Env or Dir). Its Stdout
// and Stderr must be unset.
func StartCmd(ctx context.Context, cmd *exec.Cmd) (*Process, error) {
	if cmd.Stdout != nil || cmd.Stderr != nil {
		return nil, errors.New("start fuseserver: Stdout and Stderr must be unset")
	}
	p := &Process{Cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	p.Socket = flagValue(cmd.Args[1:], "ctl")
	if p.Socket == "" {
		dir, err := os.MkdirTemp("", "fusectl-")
		if err != nil {
			return nil, fmt.Errorf("start fuseserver: %w", err)
		}
		p.tmpDir = dir
		p.Socket = filepath.Join(dir, "ctl.sock")
		cmd.Args = append(cmd.Args, "-ctl", p.Socket)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		p.cleanup()
		return nil, fmt.Errorf("start fuseserver: %w", err)
	}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		p.cleanup()
		return nil, fmt.Errorf("start fuseserver %s: %w", cmd.Path, err)
	}
	ready := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		for {
			line, err := br.ReadString('\n')
			if mp, ok := strings.CutPrefix(strings.TrimSpace(line), "ready "); ok {
				ready <- mp
				break
			}
			if err != nil {
				return
			}
		}
		// Keep draining so a chatty child never blocks on a full pipe.
		io.Copy(io.Discard, br)
	}()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()

	select {
	case mp := <-ready:
		p.Mountpoint = mp
	case <-p.exited:
		p.cleanup()
		return nil, fmt.Errorf("fuseserver exited before ready (%v): %s", p.waitErr, p.Stderr())
	case <-ctx.Done():
		p.kill()
		return nil, fmt.Errorf("fuseserver not ready: %w; stderr: %s", ctx.Err(), p.Stderr())
	}
	c, err := remote.Dial(p.Socket)
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("fuseserver ready but %w", err)
	}
	p.Client = c
	return p, nil
}

// Stop sends SIGTERM, waits for the exit (SIGKILL after 10 s) and cleans up.
// It returns an error if the server did not exit with status 0.
func (p *Process) Stop() error {
	p.stopped.Do(func() {
		if p.Client != nil {
			p.Client.Close()
		}
		select {
		case <-p.exited:
		default:
			p.Cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(stopTimeout):
				p.Cmd.Process.Kill()
				<-p.exited
				p.stopErr = fmt.Errorf("fuseserver ignored SIGTERM for %v", stopTimeout)
			}
		}
		if p.stopErr == nil && p.waitErr != nil {
			p.stopErr = fmt.Errorf("fuseserver: %w; stderr: %s", p.waitErr, p.Stderr())
		}
		p.cleanup()
	})
	return p.stopErr
}

// Exited is closed when the child has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitErr is the child's exit error (valid after Exited is closed).
func (p *Process) ExitErr() error {
	<-p.exited
	return p.waitErr
}

// Stderr returns what the child wrote to stderr so far.
func (p *Process) Stderr() string { return p.stderr.String() }

func (p *Process) kill() {
	p.Cmd.Process.Kill()
	<-p.exited
	p.cleanup()
}

func (p *Process) cleanup() {
	if p.tmpDir != "" {
		os.RemoveAll(p.tmpDir)
	}
}

// flagValue finds -name VALUE, --name VALUE or -name=VALUE in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		t := strings.TrimLeft(a, "-")
		if t == a || len(a)-len(t) > 2 {
			continue
		}
		if v, ok := strings.CutPrefix(t, name+"="); ok {
			return v
		}
		if t == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// lockedBuffer is a bytes.Buffer safe for the exec copier and readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
