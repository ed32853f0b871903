package fusecli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/fuse"
	"dioharness/harness/fuse/remote"
)

// initTimeout bounds the wait for the kernel's INIT after mount(2).
const initTimeout = 30 * time.Second

// Run is the fuseserver program: it mounts, prints "ready <mountpoint>" on
// stdout once INIT has completed, serves until SIGTERM/SIGINT or an external
// unmount, and returns the exit code (0 on a normal stop, 1 on failure, 2
// on bad flags). It does not look at os.Args, so a multi-call binary can
// run it as a subcommand.
func Run(args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "fuseserver: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "fuseserver: %v\n", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, o options, stdout, stderr io.Writer) (err error) {
	if o.verbose {
		o.cfg.Logf = func(format string, args ...any) {
			fmt.Fprintf(stderr, "fuseserver: "+format+"\n", args...)
		}
	}
	if o.cfg.Source != "" {
		// The kernel applied the caller's umask to the modes it
		// sends; the backing files must get them as they are.
		unix.Umask(0)
	}
	srv, err := fuse.New(o.cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.mount, 0o755); err != nil {
		return fmt.Errorf("mountpoint: %w", err)
	}
	if err := srv.Start(o.mount); err != nil {
		return err
	}
	defer func() {
		if cerr := srv.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()

	if o.ctl != "" {
		ln, err := listenUnix(o.ctl)
		if err != nil {
			return err
		}
		served := make(chan error, 1)
		go func() { served <- remote.Serve(ln, srv) }()
		// Runs before the deferred srv.Close above: close the server
		// first so blocked WaitHeld calls return, then the listener.
		defer func() {
			srv.Close()
			ln.Close()
			<-served
			os.Remove(o.ctl)
		}()
	}

	ictx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	if err := srv.WaitInit(ictx); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "ready %s\n", srv.Mountpoint()); err != nil {
		return fmt.Errorf("announce ready: %w", err)
	}

	select {
	case <-ctx.Done():
	case <-srv.Done():
		// Unmounted from outside (or aborted): a normal end.
	}
	return srv.Err()
}

// listenUnix listens on a unix socket, replacing a stale socket file.
func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return ln, nil
}
