package probe

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// Options configure Load. The zero value loads and attaches everything the
// running kernel supports.
type Options struct {
	// RingBufferSize is the event ring buffer size in bytes: a power of two
	// and a multiple of the page size. Zero means 16 MiB (about 190k events).
	RingBufferSize int
	// Exclude names programs (AttachStatus.Name) or attach points
	// (AttachStatus.Probe) not to load; they are reported Skipped.
	Exclude []string
	// Logf, if set, receives one line per program decision.
	Logf func(format string, args ...any)
}

const defaultRingBufferSize = 16 << 20

// Set is a loaded set of probes plus the recorder state. Methods are safe
// for concurrent use.
type Set struct {
	mu    sync.Mutex
	maps  map[string]*ebpf.Map
	progs map[string]*ebpf.Program
	links []link.Link
	// onRecord are the programs attached only while recording, and
	// recLinks their links during a recording.
	onRecord []recProgram
	recLinks []link.Link
	status   []AttachStatus
	marker   *ebpf.Program
	reader   *ringbuf.Reader
	config   probesProbeConfig
	rec      *recording
	cookie   uint64
	faults   [siteMax]bool
	closed   bool
}

// Load loads every probe object, attaches every program whose target exists
// in the running kernel and records the outcome per program (see Status).
// It fails only when nothing useful can work: no kernel BTF, the shared maps
// or the drain marker cannot be created.
func Load(opts Options) (*Set, error) {
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK, so raise it.
	// Best effort: later kernels account to the memory cgroup instead, and
	// a sandbox may forbid raising the hard limit. Done here rather than
	// with cilium's rlimit package, whose init-time probe needs /proc and
	// so breaks a PID 1 that mounts /proc later.
	inf := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	_ = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &inf)
	kspec, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("probe: kernel BTF unavailable: %w", err)
	}
	ringSize := opts.RingBufferSize
	if ringSize == 0 {
		ringSize = defaultRingBufferSize
	}
	if ringSize < os.Getpagesize() || ringSize&(ringSize-1) != 0 {
		return nil, fmt.Errorf("probe: RingBufferSize %d: want a power of two >= %d", ringSize, os.Getpagesize())
	}

	specs := make([]*ebpf.CollectionSpec, len(objects))
	for i, o := range objects {
		spec, err := o.load()
		if err != nil {
			return nil, fmt.Errorf("probe: parse %s object: %w", o.name, err)
		}
		if m, ok := spec.Maps["events"]; ok {
			m.MaxEntries = uint32(ringSize)
		}
		specs[i] = spec
	}

	s := &Set{
		maps:  make(map[string]*ebpf.Map),
		progs: make(map[string]*ebpf.Program),
	}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()

	// Shared maps come from the first object; the others must declare the
	// same ones (they include the same header).
	for name, ms := range specs[0].Maps {
		m, err := ebpf.NewMap(ms)
		if err != nil {
			return nil, fmt.Errorf("probe: create map %s: %w", name, err)
		}
		s.maps[name] = m
	}
	for i, spec := range specs[1:] {
		for name := range spec.Maps {
			if _, ok := s.maps[name]; !ok {
				return nil, fmt.Errorf("probe: %s object has map %s that probes does not", objects[i+1].name, name)
			}
		}
	}

	s.config = probesProbeConfig{
		GfpNofail:    enumBit(kspec, "___GFP_NOFAIL_BIT", 15),
		FuseCacheBit: enumValue(kspec, "FUSE_I_CACHE_IO_MODE", 5),
	}
	if err := s.writeConfig(); err != nil {
		return nil, err
	}

	la := &loader{opts: opts, kspec: kspec, cache: btf.NewCache(), maps: s.maps}
	overrideErr := features.HaveProgramHelper(ebpf.Kprobe, asm.FnOverrideReturn)
	for i, o := range objects {
		spec := specs[i]
		names := make([]string, 0, len(spec.Programs))
		for n := range spec.Programs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ps := spec.Programs[n]
			st := AttachStatus{Name: n, Probe: probeName(ps), Target: targetOf(ps), Family: o.family}
			if o.family == FamilyInternal {
				st.Family = targets[st.Target].family
			}
			var prog *ebpf.Program
			var l link.Link
			switch {
			case slices.Contains(opts.Exclude, st.Name) || slices.Contains(opts.Exclude, st.Probe):
				st.State, st.Reason = Skipped, "excluded by Options.Exclude"
			case o.family == FamilyFault && overrideErr != nil:
				st.State, st.Reason = Skipped, fmt.Sprintf("bpf_override_return unavailable (CONFIG_BPF_KPROBE_OVERRIDE?): %v", overrideErr)
			default:
				prog, l, st.State, st.Reason = la.loadAndAttach(spec, ps)
			}
			if opts.Logf != nil {
				opts.Logf("probe: %s", st)
			}
			s.status = append(s.status, st)
			if prog == nil {
				continue
			}
			s.progs[n] = prog
			if l != nil && targets[st.Target].whileRecording {
				// Attached once to prove it can be; Start attaches
				// it again for each recording.
				if err := l.Close(); err != nil {
					return nil, fmt.Errorf("probe: detach %s after its trial attach: %w", st.Probe, err)
				}
				req := targets[st.Target].onRequest
				s.onRecord = append(s.onRecord, recProgram{prog: prog, onRequest: req})
				s.status[len(s.status)-1].WhileRecording = true
				s.status[len(s.status)-1].OnRequest = req != always
			} else if l != nil {
				s.links = append(s.links, l)
			}
			if n == "probe_marker" {
				s.marker = prog
			}
		}
	}
	if s.marker == nil {
		return nil, fmt.Errorf("probe: drain marker program did not load: %s", s.statusOf("probe_marker").Reason)
	}
	rd, err := ringbuf.NewReader(s.maps["events"])
	if err != nil {
		return nil, fmt.Errorf("probe: open ring buffer: %w", err)
	}
	s.reader = rd
	ok = true
	return s, nil
}

// loader loads single programs against the shared maps.
type loader struct {
	opts  Options
	kspec *btf.Spec
	cache *btf.Cache
	maps  map[string]*ebpf.Map
	// trivial caches trivialTracing results.
	trivial map[ebpf.AttachType]error
	// ksyms is /proc/kallsyms' symbol names, read once on the first
	// kprobe (nil: not read yet; ksymsErr: it could not be read).
	ksyms    map[string]bool
	ksymsErr error
}

// loadAndAttach loads one program of spec and attaches it. Targets missing
// from the kernel are Skipped before loading so the reason is precise.
func (la *loader) loadAndAttach(spec *ebpf.CollectionSpec, ps *ebpf.ProgramSpec) (*ebpf.Program, link.Link, State, string) {
	target := targetOf(ps)
	switch ps.Type {
	case ebpf.Tracing:
		if ps.AttachType == ebpf.AttachTraceRawTp {
			var td *btf.Typedef
			if err := la.kspec.TypeByName("btf_trace_"+target, &td); err != nil {
				return nil, nil, Skipped, fmt.Sprintf("tracepoint %s not in this kernel", target)
			}
		} else {
			var fn *btf.Func
			if err := la.kspec.TypeByName(target, &fn); err != nil {
				return nil, nil, Skipped, fmt.Sprintf("function %s not in kernel BTF (inlined, static or not built)", target)
			}
		}
	case ebpf.Kprobe:
		if !la.kallsymsHas(target) {
			return nil, nil, Skipped, fmt.Sprintf("symbol %s not in /proc/kallsyms (not built or inlined)", target)
		}
	}

	one := spec.Copy()
	for n := range one.Programs {
		if n != ps.Name {
			delete(one.Programs, n)
		}
	}
	repl := make(map[string]*ebpf.Map, len(one.Maps))
	for n := range one.Maps {
		repl[n] = la.maps[n]
	}
	coll, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{
		Programs:        ebpf.ProgramOptions{KernelTypes: la.kspec},
		MapReplacements: repl,
		Cache:           la.cache,
	})
	if err != nil {
		if ps.Type == ebpf.Tracing && errors.Is(err, os.ErrPermission) {
			if terr := la.trivialTracing(ps.AttachType, target); terr != nil {
				return nil, nil, Skipped, fmt.Sprintf("kernel refuses %s programs: an empty one fails too (%s)", attachName(ps.AttachType), errName(terr))
			}
		}
		return nil, nil, Failed, "load: " + shortErr(err)
	}
	prog := coll.DetachProgram(ps.Name)
	coll.Close() // only map clones remain in it

	var l link.Link
	switch {
	case ps.Type == ebpf.RawTracepoint:
		// The drain marker: run with BPF_PROG_TEST_RUN, never attached.
		return prog, nil, Attached, ""
	case ps.Type == ebpf.Tracing:
		l, err = link.AttachTracing(link.TracingOptions{Program: prog})
	case ps.Type == ebpf.Kprobe:
		l, err = link.Kprobe(target, prog, nil)
	default:
		err = fmt.Errorf("unsupported program type %s", ps.Type)
	}
	if err != nil {
		prog.Close()
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, Skipped, "attach: " + err.Error()
		}
		return nil, nil, Failed, "attach: " + err.Error()
	}
	return prog, l, Attached, ""
}

// trivialTracing loads an empty tracing program of the given attach type
// on target. It tells "this kernel does not allow fentry/fexit at all" (a
// locked-down or trampoline-less kernel: Skipped) from "our program is
// wrong" (Failed). Results are cached per attach type.
func (la *loader) trivialTracing(at ebpf.AttachType, target string) error {
	if la.trivial == nil {
		la.trivial = make(map[ebpf.AttachType]error)
	}
	if err, ok := la.trivial[at]; ok {
		return err
	}
	p, err := ebpf.NewProgramWithOptions(&ebpf.ProgramSpec{
		Type:         ebpf.Tracing,
		AttachType:   at,
		AttachTo:     target,
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	}, ebpf.ProgramOptions{KernelTypes: la.kspec})
	if err == nil {
		p.Close()
	}
	la.trivial[at] = err
	return err
}

func attachName(at ebpf.AttachType) string {
	switch at {
	case ebpf.AttachTraceFEntry:
		return "fentry"
	case ebpf.AttachTraceFExit:
		return "fexit"
	case ebpf.AttachTraceRawTp:
		return "tp_btf"
	}
	return at.String()
}

// errName names the errno inside err, for short reasons.
func errName(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		if n := errnoName(en); n != "" {
			return n
		}
		if en == syscall.EPERM {
			return "EPERM: lockdown or no BPF trampoline support"
		}
		return en.Error()
	}
	return err.Error()
}

// shortErr keeps the verifier's last lines: the full log is huge and the
// end says why.
func shortErr(err error) string {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		log := ve.Log
		if len(log) > 6 {
			log = log[len(log)-6:]
		}
		return ve.Cause.Error() + ": " + strings.Join(log, " | ")
	}
	return err.Error()
}

// kallsymsHas reports whether /proc/kallsyms names sym. The file is read
// and split once per Load: under TCG a read of it costs seconds, and the
// whole load runs before the first scenario of every boot.
func (la *loader) kallsymsHas(sym string) bool {
	if la.ksyms == nil && la.ksymsErr == nil {
		b, err := os.ReadFile("/proc/kallsyms")
		if err != nil {
			la.ksymsErr = err
		} else {
			la.ksyms = kallsymsNames(b)
		}
	}
	if la.ksymsErr != nil {
		return true // let attach decide
	}
	return la.ksyms[sym]
}

// kallsymsNames is the set of symbol names in the text of /proc/kallsyms
// ("address type name [module]" per line).
func kallsymsNames(b []byte) map[string]bool {
	names := make(map[string]bool, bytes.Count(b, []byte{'\n'}))
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) >= 3 {
			names[string(f[2])] = true
		}
	}
	return names
}

// enumValue finds an enumerator by name in kernel BTF (anonymous enums
// included), falling back to the 6.12 value.
func enumValue(spec *btf.Spec, name string, fallback uint32) uint32 {
	for t, err := range spec.All() {
		if err != nil {
			break
		}
		if e, ok := t.(*btf.Enum); ok {
			for _, v := range e.Values {
				if v.Name == name {
					return uint32(v.Value)
				}
			}
		}
	}
	return fallback
}

// enumBit is enumValue as a mask.
func enumBit(spec *btf.Spec, name string, fallback uint32) uint32 {
	return 1 << enumValue(spec, name, fallback)
}

// Status returns the attach status of every program, in load order.
func (s *Set) Status() []AttachStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.status)
}

func (s *Set) statusOf(name string) AttachStatus {
	for _, st := range s.status {
		if st.Name == name || st.Probe == name {
			return st
		}
	}
	return AttachStatus{Name: name, State: Failed, Reason: "no such probe"}
}

// Require returns a *SkipError for the first named probe (program name or
// attach point) that is not attached. An unknown name is a plain error: a
// typo must fail, not skip.
func (s *Set) Require(names ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		st := s.statusOf(n)
		if st.Reason == "no such probe" {
			return fmt.Errorf("probe: Require(%q): no such probe", n)
		}
		if st.State != Attached {
			return &SkipError{Probe: n, Reason: st.State.String() + ": " + st.Reason}
		}
	}
	return nil
}

// RequireAny returns nil when at least one of the named probes is attached,
// e.g. RequireAny("fentry/fuse_direct_write_iter", "fentry/fuse_file_write_iter")
// where the first may be inlined into the second.
func (s *Set) RequireAny(names ...string) error {
	var first error
	for _, n := range names {
		err := s.Require(n)
		if err == nil {
			return nil
		}
		if !IsSkip(err) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		return errors.New("probe: RequireAny with no names")
	}
	return first
}

// RequireFamily returns a *SkipError when no program of family f is attached.
func (s *Set) RequireFamily(f Family) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	reason := "no programs"
	for _, st := range s.status {
		if st.Family != f {
			continue
		}
		if st.State == Attached {
			return nil
		}
		reason = st.Probe + " " + st.State.String() + ": " + st.Reason
	}
	return &SkipError{Probe: "family " + f.String(), Reason: reason}
}

// StatusTable renders Status as one line per program.
func (s *Set) StatusTable() string {
	var b strings.Builder
	for _, st := range s.Status() {
		fmt.Fprintf(&b, "%-10s %-45s %-8s %s\n", st.Family, st.Probe, st.State, st.Reason)
	}
	return b.String()
}

// Close detaches and unloads everything. Safe to call more than once.
func (s *Set) Close() error {
	s.mu.Lock()
	rec := s.rec
	s.rec = nil
	closed := s.closed
	s.closed = true
	s.mu.Unlock()
	if closed {
		return nil
	}
	var errs []error
	if rec != nil {
		rec.abort()
	}
	errs = append(errs, s.detachRecording())
	for _, l := range s.links {
		errs = append(errs, l.Close())
	}
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	for _, p := range s.progs {
		errs = append(errs, p.Close())
	}
	for _, m := range s.maps {
		errs = append(errs, m.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("probe: close: %w", err)
	}
	return nil
}

// writeConfig stores s.config; callers hold s.mu (or own s exclusively).
func (s *Set) writeConfig() error {
	if err := s.maps["config"].Put(uint32(0), s.config); err != nil {
		return fmt.Errorf("probe: write config: %w", err)
	}
	return nil
}

// recProgram is a program attached only while recording.
type recProgram struct {
	prog      *ebpf.Program
	onRequest onRequest
}

// attachRecording attaches the programs of the targets attached while
// recording that o asks for, for one recording; on an error none stays
// attached. Callers hold s.mu.
func (s *Set) attachRecording(o RecordOptions) error {
	for _, p := range s.onRecord {
		if !o.asks(p.onRequest) {
			continue
		}
		l, err := link.AttachTracing(link.TracingOptions{Program: p.prog})
		if err != nil {
			return errors.Join(fmt.Errorf("probe: attach %s for recording: %w", p.prog, err), s.detachRecording())
		}
		s.recLinks = append(s.recLinks, l)
	}
	return nil
}

// detachRecording closes the links attachRecording made. Callers hold s.mu
// or own s.
func (s *Set) detachRecording() error {
	var errs []error
	for _, l := range s.recLinks {
		errs = append(errs, l.Close())
	}
	s.recLinks = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("probe: detach recording links: %w", err)
	}
	return nil
}
