package workload

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// OpenerCommand is the agent subcommand KillOpener runs.
const OpenerCommand = "workload-opener"

// Opener is the "workload-opener" subcommand: it opens a file, writes
// one range (pwrite, or a store through a shared mapping), prints
// "done" (or "einval" when O_DIRECT refused a misaligned write) and then
// waits for stdin to close; the workload kills it with SIGKILL first,
// so its descriptors and mapping go away with a killed process.
func Opener(args []string) int {
	fs := flag.NewFlagSet(OpenerCommand, flag.ContinueOnError)
	path := fs.String("path", "", "file")
	off := fs.Int64("off", 0, "offset")
	n := fs.Int64("len", 0, "length")
	seed := fs.Uint("seed", 0, "pattern seed")
	direct := fs.Bool("direct", false, "open with O_DIRECT")
	mapped := fs.Bool("mapped", false, "store through a shared mapping")
	if err := fs.Parse(args); err != nil || *path == "" || *n <= 0 {
		fmt.Fprintln(os.Stderr, "usage: workload-opener -path P -off O -len N -seed S [-direct] [-mapped]")
		return 2
	}
	flags := os.O_RDWR
	if *direct {
		flags |= unix.O_DIRECT
	}
	f, err := os.OpenFile(*path, flags, 0)
	if err != nil {
		fmt.Printf("error open: %v\n", err)
		return 1
	}
	data := Pattern(byte(*seed), *off, int(*n))
	if *mapped {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			fmt.Printf("error fstat: %v\n", err)
			return 1
		}
		m, err := unix.Mmap(int(f.Fd()), 0, int(roundUp(st.Size, page)), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			fmt.Printf("error mmap: %v\n", err)
			return 1
		}
		copy(m[*off:*off+*n], data)
	} else {
		buf, err := unix.Mmap(-1, 0, int(roundUp(*n, page)), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			fmt.Printf("error buffer: %v\n", err)
			return 1
		}
		copy(buf, data)
		w, err := unix.Pwrite(int(f.Fd()), buf[:*n], *off)
		switch {
		case errors.Is(err, unix.EINVAL) && *direct:
			fmt.Println("einval")
			io.Copy(io.Discard, os.Stdin)
			return 0
		case err != nil:
			fmt.Printf("error pwrite: %v\n", err)
			return 1
		case int64(w) != *n:
			fmt.Printf("error pwrite: %d of %d bytes\n", w, *n)
			return 1
		}
	}
	fmt.Println("done")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// killOpener runs the opener, waits for its report, kills it and
// updates the model with what it wrote.
func (r *run) killOpener(o Op) (string, error) {
	size := r.m.Size()
	off, n := o.Off, o.Len
	if o.Mapped {
		if size == 0 || !r.tg.Profile.SharedMmap {
			return "", nil
		}
		off = min(off, size-1)
		n = min(off+n, size) - off
	}
	args := []string{OpenerCommand, "-path", r.path, "-off", fmt.Sprint(off), "-len", fmt.Sprint(n), "-seed", fmt.Sprint(o.Seed)}
	if o.Direct {
		args = append(args, "-direct")
	}
	if o.Mapped {
		args = append(args, "-mapped")
	}
	cmd := exec.Command(r.tg.Exe, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start opener: %w", err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	cmd.Process.Signal(syscall.SIGKILL)
	stdin.Close()
	werr := cmd.Wait()
	line = strings.TrimSpace(line)
	switch {
	case line == "done":
	case line == "einval" && r.misaligned(o.Direct, off, n):
		return "", nil
	case strings.HasPrefix(line, "error "):
		return "killed opener: " + strings.TrimPrefix(line, "error "), nil
	default:
		return "", fmt.Errorf("opener said %q (%v): %s", line, werr, stderr.String())
	}
	data := Pattern(o.Seed, off, int(n))
	if o.Mapped {
		r.m.Store(off, data)
	} else {
		r.m.Write(off, data)
	}
	return "", nil
}
