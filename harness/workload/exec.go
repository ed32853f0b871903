package workload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"dioharness/harness/aio"
)

// Target is a directory on the filesystem under test.
type Target struct {
	// Name says which setup it is ("fuse-direct", "ext4").
	Name string
	// Dir is where sequences create their files.
	Dir     string
	Profile Profile
	// Exe is the agent binary: KillOpener runs "Exe workload-opener".
	Exe string
	// Stored, when set, returns what the filesystem stored for a file
	// (the FUSE server's bytes), checked at the end of a sequence.
	Stored func(name string) ([]byte, error)
	// DropCaches writes back and drops the page cache.
	DropCaches func() error
}

// Failure is where a sequence stopped agreeing with the model.
type Failure struct {
	// Step is the 1-based index of the op after which the check failed,
	// len(ops)+1 for the final check.
	Step int
	Op   Op
	What string
}

func (f *Failure) Error() string {
	if f.Op.Kind == 0 {
		return fmt.Sprintf("final check: %s", f.What)
	}
	return fmt.Sprintf("after op %d (%s): %s", f.Step, f.Op, f.What)
}

// run is one sequence's execution state.
type run struct {
	tg      Target
	name    string
	path    string
	fds     [slots]*os.File
	direct  [slots]bool
	m       Model
	mapping []byte
	buf     []byte // page-aligned, for O_DIRECT
}

// Run executes ops on a new file name in the target's directory,
// checking the file through every path after each op and once more
// after closing everything, writing back and dropping the caches. It
// returns the first disagreement, or an error when the sequence could
// not run at all.
func Run(ctx context.Context, tg Target, name string, ops []Op) (*Failure, error) {
	r := &run{tg: tg, name: name, path: filepath.Join(tg.Dir, name)}
	buf, err := unix.Mmap(-1, 0, maxLen+2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("workload: buffer: %w", err)
	}
	r.buf = buf
	defer unix.Munmap(buf)
	defer r.closeAll()
	f, err := os.OpenFile(r.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("workload: create %s: %w", r.path, err)
	}
	f.Close()
	for i, o := range ops {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		what, err := r.do(o)
		if err != nil {
			return nil, fmt.Errorf("workload: op %d (%s): %w", i+1, o, err)
		}
		if what == "" {
			what = r.check()
		}
		if what != "" {
			return &Failure{Step: i + 1, Op: o, What: what}, nil
		}
	}
	r.closeAll()
	if what := r.final(); what != "" {
		return &Failure{Step: len(ops) + 1, What: what}, nil
	}
	return nil, nil
}

func (r *run) closeAll() {
	for i, f := range r.fds {
		if f != nil {
			f.Close()
			r.fds[i] = nil
		}
	}
	if r.mapping != nil {
		unix.Munmap(r.mapping)
		r.mapping = nil
	}
}

// misaligned says an O_DIRECT access of [off, off+n) does not meet the
// target's alignment: the kernel may refuse it (EINVAL) or, as ext4
// does, do it buffered, but never half of it.
func (r *run) misaligned(direct bool, off, n int64) bool {
	a := r.tg.Profile.DIOAlign
	return direct && a > 1 && (off%a != 0 || n%a != 0)
}

// do runs one op. A disagreement with the model is returned as what;
// err is for trouble that is not the kernel's answer (a failed mmap of
// an anonymous buffer, a child that would not start).
func (r *run) do(o Op) (what string, err error) {
	fd := func() *os.File {
		if o.Slot < 0 || o.Slot >= slots {
			return nil
		}
		return r.fds[o.Slot]
	}
	switch o.Kind {
	case Open:
		if f := r.fds[o.Slot]; f != nil {
			f.Close()
		}
		flags := os.O_RDWR
		if o.Direct {
			flags |= unix.O_DIRECT
		}
		f, err := os.OpenFile(r.path, flags, 0)
		if err != nil {
			r.fds[o.Slot] = nil
			return fmt.Sprintf("open: %v", err), nil
		}
		r.fds[o.Slot], r.direct[o.Slot] = f, o.Direct
	case Close:
		if f := fd(); f != nil {
			if err := f.Close(); err != nil {
				return fmt.Sprintf("close: %v", err), nil
			}
			r.fds[o.Slot] = nil
		}
	case SetDirect:
		f := fd()
		if f == nil {
			return "", nil
		}
		fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
		if err == nil {
			if o.Direct {
				fl |= unix.O_DIRECT
			} else {
				fl &^= unix.O_DIRECT
			}
			_, err = unix.FcntlInt(f.Fd(), unix.F_SETFL, fl)
		}
		if err != nil {
			return fmt.Sprintf("fcntl O_DIRECT=%v: %v", o.Direct, err), nil
		}
		r.direct[o.Slot] = o.Direct
	case Write:
		f := fd()
		if f == nil {
			return "", nil
		}
		data := Pattern(o.Seed, o.Off, int(o.Len))
		b := r.buf[:o.Len]
		copy(b, data)
		var n int
		if o.AIO {
			n, err = aio.Pwrite(f, b, o.Off)
		} else {
			n, err = unix.Pwrite(int(f.Fd()), b, o.Off)
		}
		bad := r.misaligned(r.direct[o.Slot], o.Off, o.Len)
		switch {
		case bad && errors.Is(err, unix.EINVAL):
			return "", nil
		case err != nil:
			return fmt.Sprintf("write: %v", err), nil
		case int64(n) != o.Len:
			return fmt.Sprintf("write: %d of %d bytes", n, o.Len), nil
		}
		r.m.Write(o.Off, data)
	case Read:
		f := fd()
		if f == nil {
			return "", nil
		}
		b := r.buf[:o.Len]
		var n int
		if o.AIO {
			n, err = aio.Pread(f, b, o.Off)
		} else {
			n, err = unix.Pread(int(f.Fd()), b, o.Off)
		}
		bad := r.misaligned(r.direct[o.Slot], o.Off, o.Len)
		switch {
		case bad && errors.Is(err, unix.EINVAL):
			return "", nil
		case err != nil:
			return fmt.Sprintf("read: %v", err), nil
		}
		return differ("read through the op's descriptor", b[:n], r.m.Read(o.Off, o.Len), o.Off), nil
	case Truncate:
		if err := os.Truncate(r.path, o.Off); err != nil {
			return fmt.Sprintf("truncate: %v", err), nil
		}
		r.m.Truncate(o.Off)
	case Fallocate:
		f, err := os.OpenFile(r.path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Sprintf("open for fallocate: %v", err), nil
		}
		err = unix.Fallocate(int(f.Fd()), o.Mode, o.Off, o.Len)
		f.Close()
		switch {
		case errors.Is(err, unix.EOPNOTSUPP):
			return "", nil // the filesystem has no such mode; nothing changed
		case err != nil:
			return fmt.Sprintf("fallocate: %v", err), nil
		}
		r.m.Fallocate(o.Mode, o.Off, o.Len)
	case MapWrite:
		size := r.m.Size()
		if size == 0 || !r.tg.Profile.SharedMmap && !o.Private {
			return "", nil
		}
		off, end := min(o.Off, size-1), min(o.Off+o.Len, size)
		return r.mapWrite(o, off, end), nil
	case Remap:
		if r.mapping != nil {
			unix.Munmap(r.mapping)
			r.mapping = nil
		}
		if r.m.Size() == 0 || !r.tg.Profile.SharedMmap {
			return "", nil
		}
		f, err := os.OpenFile(r.path, os.O_RDONLY, 0)
		if err != nil {
			return fmt.Sprintf("open for mmap: %v", err), nil
		}
		m, err := unix.Mmap(int(f.Fd()), 0, int(roundUp(r.m.Size(), page)), unix.PROT_READ, unix.MAP_SHARED)
		f.Close()
		if err != nil {
			return fmt.Sprintf("mmap read-only shared: %v", err), nil
		}
		r.mapping = m
	case Unmap:
		if r.mapping != nil {
			unix.Munmap(r.mapping)
			r.mapping = nil
		}
	case KillOpener:
		return r.killOpener(o)
	case Fsync:
		if f := fd(); f != nil {
			if err := f.Sync(); err != nil {
				return fmt.Sprintf("fsync: %v", err), nil
			}
		}
	case DropCaches:
		if r.tg.DropCaches != nil {
			if err := r.tg.DropCaches(); err != nil {
				return "", err
			}
		}
	}
	return "", nil
}

// mapWrite stores the op's pattern through a mapping of the file and
// reads the mapping back; a shared store is the file's content, a
// private one must not be.
func (r *run) mapWrite(o Op, off, end int64) string {
	f, err := os.OpenFile(r.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Sprintf("open for mmap: %v", err)
	}
	defer f.Close()
	flags, kind := unix.MAP_SHARED, "shared"
	if o.Private {
		flags, kind = unix.MAP_PRIVATE, "private"
	}
	size := r.m.Size()
	m, err := unix.Mmap(int(f.Fd()), 0, int(roundUp(size, page)), unix.PROT_READ|unix.PROT_WRITE, flags)
	if err != nil {
		return fmt.Sprintf("mmap %s: %v", kind, err)
	}
	defer unix.Munmap(m)
	if what := differ(kind+" mapping before the store", m[:size], r.m.Bytes(), 0); what != "" {
		return what
	}
	data := Pattern(o.Seed, off, int(end-off))
	copy(m[off:end], data)
	if !bytes.Equal(m[off:end], data) {
		return kind + " mapping does not hold what was stored"
	}
	if !o.Private {
		r.m.Store(off, data)
	}
	return ""
}

// check reads the whole file through a fresh buffered descriptor, a
// fresh O_DIRECT one and the long-lived mapping, and compares each with
// the model, and the size.
func (r *run) check() string {
	size := r.m.Size()
	var st unix.Stat_t
	if err := unix.Stat(r.path, &st); err != nil {
		return fmt.Sprintf("stat: %v", err)
	}
	if st.Size != size {
		return fmt.Sprintf("size %d, want %d", st.Size, size)
	}
	if what := r.readAll(false); what != "" {
		return what
	}
	if what := r.readAll(true); what != "" {
		return what
	}
	if r.mapping != nil {
		n := min(int64(len(r.mapping)), size)
		if what := differ("long-lived read-only shared mapping", r.mapping[:n], r.m.Bytes()[:n], 0); what != "" {
			return what
		}
	}
	return ""
}

// readAll reads the file from 0 to past its end through a fresh
// descriptor.
func (r *run) readAll(direct bool) string {
	flags, how := os.O_RDONLY, "buffered read"
	if direct {
		flags, how = flags|unix.O_DIRECT, "O_DIRECT read"
	}
	f, err := os.OpenFile(r.path, flags, 0)
	if err != nil {
		return fmt.Sprintf("open for %s: %v", how, err)
	}
	defer f.Close()
	want := r.m.Bytes()
	var got []byte
	for off := int64(0); ; {
		b := r.buf[:maxLen]
		n, err := unix.Pread(int(f.Fd()), b, off)
		if err != nil {
			return fmt.Sprintf("%s at %d: %v", how, off, err)
		}
		got = append(got, b[:n]...)
		off += int64(n)
		if n < len(b) {
			break
		}
	}
	return differ(how+" of the whole file", got, want, 0)
}

// final checks after every descriptor closed: the same reads, then after
// fsync and dropped caches, and the filesystem's stored bytes.
func (r *run) final() string {
	if what := r.check(); what != "" {
		return what
	}
	f, err := os.OpenFile(r.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Sprintf("open for fsync: %v", err)
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Sprintf("fsync: %v", err)
	}
	if r.tg.DropCaches != nil {
		if err := r.tg.DropCaches(); err != nil {
			return fmt.Sprintf("drop caches: %v", err)
		}
	}
	if what := r.check(); what != "" {
		return "after dropping the caches: " + what
	}
	if r.tg.Stored != nil {
		b, err := r.tg.Stored(r.name)
		if err != nil {
			return fmt.Sprintf("stored content: %v", err)
		}
		if what := differ("the filesystem's stored bytes", b, r.m.Bytes(), 0); what != "" {
			return what
		}
	}
	return ""
}

// differ names the first difference between got and want (at file
// offset base), or returns "".
func differ(what string, got, want []byte, base int64) string {
	if bytes.Equal(got, want) {
		return ""
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("%s differs at offset %d (page %d): got %#02x, want %#02x (%d bytes read, %d expected)",
				what, base+int64(i), (base+int64(i))/page, got[i], want[i], len(got), len(want))
		}
	}
	return fmt.Sprintf("%s: %d bytes, want %d", what, len(got), len(want))
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }
