package scenario

import (
	"errors"
	"os"
	"sync"

	"dioharness/harness/invariant"
	"dioharness/harness/probe"
)

// probeCache loads the probe set once per boot: loading and attaching
// every program under TCG takes seconds, while watching a new inode is
// cheap.
type probeCache struct {
	once sync.Once
	set  *probe.Set
	err  error
}

func (p *probeCache) get() (*probe.Set, error) {
	p.once.Do(func() { p.set, p.err = probe.Load(probe.Options{}) })
	return p.set, p.err
}

func (p *probeCache) close() {
	if p.set != nil {
		p.set.Close()
	}
}

// Probes is the probe set as one scenario sees it: what it watches is
// unwatched when the scenario ends, and errors end the scenario.
type Probes struct {
	*probe.Set
	t *T
	// opts are what its recordings ask for (RecordPageCache).
	opts probe.RecordOptions
}

// Probes returns the probe set after checking that the named programs
// or attach points are attached. A probe absent from this kernel makes
// the scenario SKIP with the reason, never pass.
func (t *T) Probes(require ...string) *Probes {
	set, err := t.env.probes.get()
	if err != nil {
		t.Fatalf("load probes: %v", err)
	}
	if err := set.Require(require...); err != nil {
		if probe.IsSkip(err) {
			t.Skipf("%v", err)
		}
		t.Fatalf("probes: %v", err)
	}
	t.Cleanup(func() { set.UnwatchTask(os.Getpid()) })
	return &Probes{Set: set, t: t}
}

// pageCacheProbes are the tracepoints of the page-cache events.
var pageCacheProbes = []string{"tp_btf/mm_filemap_add_to_page_cache", "tp_btf/mm_filemap_delete_from_page_cache"}

// RecordPageCache makes the recordings of p record the page-cache
// membership of the watched inodes (probe.RecordOptions.PageCache), and
// so judge the kernel rules that need it (dio-write-leaves-no-stale-
// folio); a recording that did not ask logs those rules as not judged.
// They cost an event per folio added or removed, so only the scenarios
// about what a direct write leaves in the page cache ask. Without the
// tracepoints the scenario SKIPs.
func (p *Probes) RecordPageCache() {
	if err := p.Set.Require(pageCacheProbes...); err != nil {
		if probe.IsSkip(err) {
			p.t.Skipf("%v", err)
		}
		p.t.Fatalf("probes: %v", err)
	}
	p.opts.PageCache = true
}

// MustAttach reports whether a probe is attached, without skipping.
func (p *Probes) MustAttach(names ...string) error {
	return p.Set.Require(names...)
}

// Watch records events for these files' inodes until the scenario ends.
func (p *Probes) Watch(files ...*os.File) {
	for _, f := range files {
		id, err := probe.InodeOf(f)
		p.t.Check(err, "inode of %s", f.Name())
		p.t.Check(p.Set.WatchInode(id), "watch %s", f.Name())
		p.t.Cleanup(func() { p.Set.UnwatchInode(id) })
	}
}

// WatchPath is Watch by path.
func (p *Probes) WatchPath(paths ...string) {
	for _, path := range paths {
		id, err := probe.InodeOfPath(path)
		p.t.Check(err, "inode of %s", path)
		p.t.Check(p.Set.WatchInode(id), "watch %s", path)
		p.t.Cleanup(func() { p.Set.UnwatchInode(id) })
	}
}

// Record runs fn with recording on and returns the events of the
// watched inodes, held to the kernel rules (checkRules).
func (p *Probes) Record(fn func()) probe.Events {
	ev := p.t.record(p.recordable(), fn)
	p.checkRules(ev)
	return ev
}

// recordable is p's set recording with p's options.
func (p *Probes) recordable() recordable { return withOptions{p.Set, p.opts} }

// withOptions starts recordings of a set with options.
type withOptions struct {
	*probe.Set
	opts probe.RecordOptions
}

func (w withOptions) Start() error { return w.Set.StartWith(w.opts) }

// Capture is Record without holding the recording to the kernel rules
// and without ending the scenario on an error: for a caller that judges
// the rules itself (Judge), as a workload does while it shrinks a
// failing sequence.
func (p *Probes) Capture(fn func()) (probe.Events, error) {
	p.t.endIfAbandoned()
	if err := p.t.env.rec.start(p.t, p.recordable()); err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			p.t.env.rec.stop(p.t)
		}
	}()
	fn()
	stopped = true
	return p.t.env.rec.stop(p.t)
}

// Judge holds events of a recording of p to the kernel rules
// (harness/invariant) for this kernel, without failing the scenario: it
// logs once per scenario each rule it could not judge (its probes not
// attached, or its events not asked for) and each violation its base
// excuses, and returns the report.
func (p *Probes) Judge(ev probe.Events) invariant.Report {
	t := p.t
	rep := invariant.Check(ev, invariant.Kernel{
		Base:  t.env.Base,
		Lacks: func(name string) error { return p.Set.Recorded(name, p.opts) },
	})
	for _, v := range rep.Excused {
		ex := invariant.Excuses(v.Rule, t.env.Base)
		t.logOnce("excused "+v.Rule, "invariant %s: %s (excused on %s: %s)", v.Rule, v.What, t.env.Base, ex)
	}
	for _, n := range rep.NotJudged {
		t.logOnce("not judged "+n, "invariant not judged: %s", n)
	}
	return rep
}

// checkRules holds every recording to the kernel rules (Judge): a
// violation fails the scenario with the events that broke it.
func (p *Probes) checkRules(ev probe.Events) {
	for _, v := range p.Judge(ev).Violations {
		p.t.Errorf("%v", v)
	}
}

// recordable is the part of *probe.Set a recording uses.
type recordable interface {
	Start() error
	Stop() (probe.Events, error)
}

// recorder ties the probe set's one recording to the scenario that
// started it. A scenario that outlives its timeout is abandoned while
// it still records: the runner stops its recording (abandon), so the
// next scenario can start one, and the abandoned body, should it ever
// return, finds its recording gone instead of stopping another's.
type recorder struct {
	mu    sync.Mutex
	owner *T
	set   recordable
}

// errAbandoned is what an abandoned scenario's Stop gets.
var errAbandoned = errors.New("the recording was stopped when the scenario timed out")

func (r *recorder) start(t *T, set recordable) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := set.Start(); err != nil {
		return err
	}
	r.owner, r.set = t, set
	return nil
}

func (r *recorder) stop(t *T) (probe.Events, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.owner != t {
		return nil, errAbandoned
	}
	set := r.set
	r.owner, r.set = nil, nil
	return set.Stop()
}

// abandon stops t's recording, if it has one.
func (r *recorder) abandon(t *T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.owner != t {
		return
	}
	set := r.set
	r.owner, r.set = nil, nil
	set.Stop()
}

// record runs fn with set recording and returns what it recorded.
func (t *T) record(set recordable, fn func()) probe.Events {
	t.endIfAbandoned()
	t.Check(t.env.rec.start(t, set), "start recording")
	stopped := false
	defer func() {
		if !stopped {
			// fn called Fatalf: stop so the next scenario can start.
			t.env.rec.stop(t)
		}
	}()
	fn()
	ev, err := t.env.rec.stop(t)
	stopped = true
	t.Check(err, "stop recording")
	return ev
}

// ArmFault arms an injected fault for this process (unless spec.AnyTask)
// and disarms it when the scenario ends.
func (p *Probes) ArmFault(spec probe.FaultSpec) {
	if spec.PID == 0 && !spec.AnyTask {
		spec.PID = os.Getpid()
	}
	if err := p.Set.ArmFault(spec); err != nil {
		if probe.IsSkip(err) {
			p.t.Skipf("%v", err)
		}
		p.t.Fatalf("arm fault %s within %s: %v", spec.Site, spec.Within, err)
	}
	p.t.Cleanup(func() { p.Set.DisarmFault(spec.Site) })
}
