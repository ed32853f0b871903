package fusecli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Helper is what mount(8) runs for "mount -t fuse.SUBTYPE SOURCE DIR -o
// OPTS": /sbin/mount.fuse.SUBTYPE SOURCE DIR [-sfnv] [-N NS] [-o OPTS].
// It starts the server as a daemon (a session of its own, so it outlives
// the mount command and the shell that ran it), waits until the mount is
// ready and exits; the server exits when the filesystem is unmounted.
// The filesystem type is plain "fuse" and the mount source is SOURCE, as
// fstests expects of FSTYP=fuse (it compares both with its TEST_DEV).
//
// Options: source=DIR (required: the directory to pass through to),
// direct_io, parallel_direct_writes, parallel_odirect_writes,
// direct_io_allow_mmap, timeout=SECONDS
// (entry and attribute cache validity, default 1), default_permissions,
// ro and rw; allow_other is always on, and the mount flags mount(8)
// passes (nosuid, nodev, noatime...) are accepted: the server mounts
// nosuid,nodev.
type Helper struct {
	// Server is the program that is the server ("fuse-server" is its
	// first argument: the guest agent's subcommand).
	Server string
	// ServerArgs go before the server's own flags.
	ServerArgs []string
	// LogDir keeps each server's stderr, named after the mount point.
	LogDir string
	// Ready bounds the wait for the mount.
	Ready time.Duration
}

// helperOptions are the parsed -o options.
type helperOptions struct {
	source  string
	flags   []string
	timeout string
}

// ignored are mount(8)'s generic options the server does not act on.
var ignored = map[string]bool{
	"allow_other": true, "nosuid": true, "nodev": true, "suid": true, "dev": true,
	"exec": true, "noexec": true, "atime": true, "noatime": true, "relatime": true,
	"norelatime": true, "strictatime": true, "nodiratime": true, "diratime": true,
	"async": true, "auto": true, "noauto": true, "user": true, "nouser": true,
	"defaults": true, "lazytime": true, "nolazytime": true,
}

func parseHelperOptions(opts string) (helperOptions, error) {
	var o helperOptions
	for _, w := range strings.Split(opts, ",") {
		k, v, hasV := strings.Cut(w, "=")
		switch {
		case w == "" || ignored[w] || w == "rw":
		case k == "source" && hasV && v != "":
			o.source = v
		case k == "timeout" && hasV:
			d, err := time.ParseDuration(v + "s")
			if err != nil || d < 0 {
				return o, fmt.Errorf("bad timeout=%s, want seconds", v)
			}
			o.timeout = d.String()
		case w == "direct_io":
			o.flags = append(o.flags, "-direct-io")
		case w == "parallel_direct_writes":
			o.flags = append(o.flags, "-parallel-direct-writes")
		case w == "parallel_odirect_writes":
			o.flags = append(o.flags, "-parallel-odirect-writes")
		case w == "direct_io_allow_mmap":
			o.flags = append(o.flags, "-allow-mmap")
		case w == "default_permissions":
			o.flags = append(o.flags, "-default-permissions")
		case w == "ro":
			o.flags = append(o.flags, "-ro")
		default:
			return o, fmt.Errorf("unknown option %q", w)
		}
	}
	if o.source == "" {
		return o, errors.New("no source=DIR option: the directory to pass through to")
	}
	if o.timeout == "" {
		o.timeout = "1s"
	}
	return o, nil
}

// parseHelperArgs reads mount(8)'s helper command line.
func parseHelperArgs(args []string) (source, dir, opts string, err error) {
	var pos []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-o":
			if i+1 == len(args) {
				return "", "", "", errors.New("-o needs options")
			}
			i++
			if opts != "" {
				opts += ","
			}
			opts += args[i]
		case a == "-N" || a == "-t":
			i++ // a mount namespace or the type: nothing to do with them
		case a == "-s" || a == "-f" || a == "-n" || a == "-v":
		case strings.HasPrefix(a, "-"):
			return "", "", "", fmt.Errorf("unknown flag %s", a)
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) != 2 {
		return "", "", "", fmt.Errorf("want SOURCE MOUNTPOINT, got %q", pos)
	}
	return pos[0], pos[1], opts, nil
}

// Argv is the server command line for a helper command line.
func (h Helper) Argv(args []string) ([]string, error) {
	source, dir, opts, err := parseHelperArgs(args)
	if err != nil {
		return nil, err
	}
	o, err := parseHelperOptions(opts)
	if err != nil {
		return nil, err
	}
	argv := append([]string{h.Server}, h.ServerArgs...)
	argv = append(argv, "-mount", dir, "-source", o.source, "-fsname", source,
		"-attr-timeout", o.timeout, "-entry-timeout", o.timeout, "-workers", "4")
	return append(argv, o.flags...), nil
}

// Run is the helper program: it returns mount(8)'s helper exit status
// (0 mounted, 1 failed) and says why on stderr in one line.
func (h Helper) Run(args []string, stderr io.Writer) int {
	argv, err := h.Argv(args)
	if err != nil {
		fmt.Fprintf(stderr, "mount.fuse: %v\n", err)
		return 1
	}
	if err := h.start(argv); err != nil {
		fmt.Fprintf(stderr, "mount.fuse: %v\n", err)
		return 1
	}
	return 0
}

// start runs the server detached and waits for its ready line.
func (h Helper) start(argv []string) error {
	mnt := argv[slices.Index(argv, "-mount")+1]
	if err := os.MkdirAll(h.LogDir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(h.LogDir, "fuse"+strings.ReplaceAll(mnt, "/", "-")+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the server: %w", err)
	}
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			ready <- fmt.Errorf("the server exited before the mount was ready (%s)", tail(logPath))
			return
		}
		if !strings.HasPrefix(line, "ready ") {
			ready <- fmt.Errorf("the server said %q instead of ready", strings.TrimSpace(line))
			return
		}
		ready <- nil
	}()
	timer := time.NewTimer(h.Ready)
	defer timer.Stop()
	select {
	case err := <-ready:
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return err
		}
	case <-timer.C:
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("the mount was not ready after %s (%s)", h.Ready, tail(logPath))
	}
	// The server prints nothing after its ready line, so closing our
	// end of its stdout costs it nothing; it goes on in its session.
	return cmd.Process.Release()
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return "no server log"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return "server log: " + lines[len(lines)-1]
}
