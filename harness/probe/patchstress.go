package probe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// PatchStressOptions configure PatchStress.
type PatchStressOptions struct {
	// Cycles is how many times each patch site is switched on and off.
	Cycles int
	// Event is the trace event whose static key is flipped, as
	// "system/name" under tracefs events/, e.g. "sched/sched_wakeup",
	// whose jump label sits in try_to_wake_up, which every CPU runs all
	// the time; "" flips no event.
	Event string
	// Trampoline is the kernel function an empty fentry program is
	// attached to and detached from every cycle ("" skips it). Each
	// attach and detach rewrites the function's entry through the BPF
	// trampoline, as attaching probe links per recording would.
	Trampoline string
	// Progress, if set, is called after every 50th cycle, so a console
	// shows how far the stress got before a kernel report.
	Progress func(cycle int)
}

// PatchStressResult says what PatchStress did.
type PatchStressResult struct {
	// EventFlips and TrampolineFlips count completed on+off cycles.
	EventFlips, TrampolineFlips int
	// EventsRecorded is how many Event records the tracing instance
	// holds afterwards: proof that the patched branch was taken.
	EventsRecorded int
	// Wakeups is how many cross-CPU wakeups the two pinned threads made
	// while the text was being patched.
	Wakeups uint64
}

// PatchStress rewrites hot kernel text while other CPUs execute it: it
// switches a trace event (a jump label, patched with a temporary INT3 and
// sync IPIs) and, optionally, an fentry link (a BPF trampoline call site,
// patched the same way) on and off Cycles times, while two threads pinned
// to different CPUs wake each other through pipes, so try_to_wake_up runs
// on every CPU throughout. On a machine that honours x86 cross-modifying
// code rules the kernel reports nothing; a CPU that executes a stale INT3
// after the patch completed dies with "Oops: int3".
func PatchStress(opts PatchStressOptions) (PatchStressResult, error) {
	var res PatchStressResult
	if opts.Cycles <= 0 {
		return res, errors.New("probe: PatchStress: Cycles must be positive")
	}
	if opts.Event == "" && opts.Trampoline == "" {
		return res, errors.New("probe: PatchStress: nothing to patch (no Event, no Trampoline)")
	}
	sys, name, ok := strings.Cut(opts.Event, "/")
	if opts.Event != "" && !ok {
		return res, fmt.Errorf("probe: PatchStress: event %q: want system/name", opts.Event)
	}
	cpus := runtime.NumCPU()
	if cpus < 2 {
		return res, fmt.Errorf("probe: PatchStress needs 2 CPUs, the guest has %d", cpus)
	}

	inst := filepath.Join("/sys/kernel/tracing/instances", fmt.Sprintf("dioharness-patch-%d", os.Getpid()))
	if err := os.Mkdir(inst, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return res, fmt.Errorf("probe: PatchStress: tracing instance: %w", err)
	}
	defer os.Remove(inst)
	enable := filepath.Join(inst, "events", sys, name, "enable")
	if opts.Event != "" {
		if _, err := os.Stat(enable); err != nil {
			return res, fmt.Errorf("probe: PatchStress: trace event %s: %w", opts.Event, err)
		}
	}

	var tramp *ebpf.Program
	if opts.Trampoline != "" {
		kspec, err := btf.LoadKernelSpec()
		if err != nil {
			return res, fmt.Errorf("probe: PatchStress: kernel BTF: %w", err)
		}
		tramp, err = ebpf.NewProgramWithOptions(&ebpf.ProgramSpec{
			Type:         ebpf.Tracing,
			AttachType:   ebpf.AttachTraceFEntry,
			AttachTo:     opts.Trampoline,
			License:      "GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
		}, ebpf.ProgramOptions{KernelTypes: kspec})
		if err != nil {
			return res, fmt.Errorf("probe: PatchStress: load fentry/%s: %w", opts.Trampoline, err)
		}
		defer tramp.Close()
	}

	stopPing, err := pingPong()
	if err != nil {
		return res, err
	}
	finish := func() error {
		n, err := stopPing()
		res.Wakeups = n
		return err
	}

	for i := 0; i < opts.Cycles; i++ {
		if opts.Event != "" {
			if err := os.WriteFile(enable, []byte("1"), 0); err != nil {
				finish()
				return res, fmt.Errorf("probe: PatchStress: enable %s: %w", opts.Event, err)
			}
			if err := os.WriteFile(enable, []byte("0"), 0); err != nil {
				finish()
				return res, fmt.Errorf("probe: PatchStress: disable %s: %w", opts.Event, err)
			}
			res.EventFlips++
		}
		if tramp != nil {
			l, err := link.AttachTracing(link.TracingOptions{Program: tramp})
			if err != nil {
				finish()
				return res, fmt.Errorf("probe: PatchStress: attach fentry/%s: %w", opts.Trampoline, err)
			}
			if err := l.Close(); err != nil {
				finish()
				return res, fmt.Errorf("probe: PatchStress: detach fentry/%s: %w", opts.Trampoline, err)
			}
			res.TrampolineFlips++
		}
		if opts.Progress != nil && (i+1)%50 == 0 {
			opts.Progress(i + 1)
		}
	}
	if err := finish(); err != nil {
		return res, err
	}
	if opts.Event == "" {
		return res, nil
	}
	out, err := os.ReadFile(filepath.Join(inst, "trace"))
	if err != nil {
		return res, fmt.Errorf("probe: PatchStress: read trace: %w", err)
	}
	res.EventsRecorded = strings.Count(string(out), " "+name+":")
	return res, nil
}

// pingPong starts two threads pinned to CPUs 0 and 1 that wake each other
// through a pair of pipes and read the root directory on every turn
// (iterate_dir takes and drops the directory's i_rwsem shared, so
// down_read/up_read run on both CPUs too). The returned stop ends them
// and returns how many wakeups they made.
func pingPong() (stop func() (uint64, error), err error) {
	var ab, ba [2]int
	if err := unix.Pipe2(ab[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("probe: PatchStress: pipe: %w", err)
	}
	if err := unix.Pipe2(ba[:], unix.O_CLOEXEC); err != nil {
		unix.Close(ab[0])
		unix.Close(ab[1])
		return nil, fmt.Errorf("probe: PatchStress: pipe: %w", err)
	}
	var (
		wg      sync.WaitGroup
		done    atomic.Bool
		wakeups atomic.Uint64
		errc    = make(chan error, 2)
	)
	side := func(cpu, rd, wr int) {
		defer wg.Done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			errc <- fmt.Errorf("probe: PatchStress: pin to CPU %d: %w", cpu, err)
			return
		}
		dir, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("probe: PatchStress: open /: %w", err)
			return
		}
		defer unix.Close(dir)
		b, dents := []byte{1}, make([]byte, 4096)
		for {
			if _, err := unix.Read(rd, b); err != nil {
				errc <- fmt.Errorf("probe: PatchStress: pipe read: %w", err)
				return
			}
			if done.Load() {
				return
			}
			wakeups.Add(1)
			if _, err := unix.Seek(dir, 0, io.SeekStart); err != nil {
				errc <- fmt.Errorf("probe: PatchStress: rewind /: %w", err)
				return
			}
			if _, err := unix.Getdents(dir, dents); err != nil {
				errc <- fmt.Errorf("probe: PatchStress: read /: %w", err)
				return
			}
			if _, err := unix.Write(wr, b); err != nil {
				errc <- fmt.Errorf("probe: PatchStress: pipe write: %w", err)
				return
			}
		}
	}
	wg.Add(2)
	go side(0, ba[0], ab[1])
	go side(1, ab[0], ba[1])
	unix.Write(ba[1], []byte{1}) // serve the first ball
	return func() (uint64, error) {
		done.Store(true)
		// One more byte in each pipe ends both reads; the pipes never
		// hold more than a few bytes, so these writes cannot block.
		unix.Write(ab[1], []byte{1})
		unix.Write(ba[1], []byte{1})
		wg.Wait()
		for _, fd := range []int{ab[0], ab[1], ba[0], ba[1]} {
			unix.Close(fd)
		}
		select {
		case err := <-errc:
			return wakeups.Load(), err
		default:
			return wakeups.Load(), nil
		}
	}, nil
}
