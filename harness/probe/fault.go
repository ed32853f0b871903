package probe

import (
	"errors"
	"fmt"
	"syscall"
)

// Unlimited as FaultSpec.Count injects on every matching call.
const Unlimited = -1

// FaultSpec describes one fault to inject with bpf_override_return.
type FaultSpec struct {
	// Site is the ALLOW_ERROR_INJECTION function: "should_failslab"
	// (slab allocations) or "should_fail_bio" (bio submission).
	Site string
	// Within names a context function (see FuncByName), e.g.
	// "fuse_launder_folio": the fault fires only while the thread is
	// inside it. Empty means anywhere in the process.
	Within string
	// PID is the thread group whose threads get the fault.
	PID int
	// AnyTask arms the fault for every task instead of PID, kernel
	// workers included (an asynchronous completion runs in one). It
	// needs Within: only a task inside that function for a watched
	// inode has the context the fault checks.
	AnyTask bool
	// Count is how many times to inject (Unlimited for every call).
	Count int
	// Errno is the error to return (positive). Zero means ENOMEM for
	// should_failslab and EIO for should_fail_bio.
	Errno syscall.Errno
}

func siteByName(name string) (Site, bool) {
	for i, s := range siteSymbols {
		if s == name {
			return Site(i), true
		}
	}
	return 0, false
}

// ArmFault arms a fault. It returns a *SkipError when the site's kprobe or
// the Within function's fentry/fexit pair is not attached on this kernel,
// so the scenario skips rather than passing without a fault. Re-arming a
// site replaces its previous spec. Every injection emits KindFaultInjected
// (even outside Start/Stop windows, which discard it).
func (s *Set) ArmFault(spec FaultSpec) error {
	site, ok := siteByName(spec.Site)
	if !ok {
		return fmt.Errorf("probe: ArmFault: unknown site %q (want should_failslab or should_fail_bio)", spec.Site)
	}
	switch {
	case spec.AnyTask && spec.Within == "":
		return errors.New("probe: ArmFault: AnyTask needs Within")
	case spec.AnyTask && spec.PID != 0:
		return fmt.Errorf("probe: ArmFault: AnyTask with PID %d", spec.PID)
	case !spec.AnyTask && spec.PID <= 0:
		return fmt.Errorf("probe: ArmFault: PID %d", spec.PID)
	}
	if spec.Count == 0 || spec.Count < Unlimited {
		return fmt.Errorf("probe: ArmFault: Count %d: want > 0 or Unlimited", spec.Count)
	}
	errno := spec.Errno
	if errno == 0 {
		errno = syscall.ENOMEM
		if site == SiteFailBio {
			errno = syscall.EIO
		}
	}
	if err := s.Require("kprobe/" + spec.Site); err != nil {
		return err
	}
	var within Func
	if spec.Within != "" {
		within, ok = FuncByName(spec.Within)
		if !ok {
			return fmt.Errorf("probe: ArmFault: Within %q is not a context function", spec.Within)
		}
		if err := s.Require("fentry/"+spec.Within, "fexit/"+spec.Within); err != nil {
			return err
		}
	}
	f := probesFault{
		Armed:     1,
		Tgid:      uint32(spec.PID),
		Within:    uint32(within),
		Err:       -int32(errno),
		Remaining: int64(spec.Count),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Context tracking for the process first, so the fault never sees a
	// half-built context. Any task gets its context from the watched
	// inode instead.
	if !spec.AnyTask {
		if err := s.addTgidFlags(spec.PID, watchCtx); err != nil {
			return err
		}
	}
	if err := s.maps["faults"].Put(uint32(site), f); err != nil {
		return fmt.Errorf("probe: arm %s: %w", spec.Site, err)
	}
	s.faults[site] = true
	return nil
}

// DisarmFault disarms a site and returns how many times it fired.
func (s *Set) DisarmFault(siteName string) (fired uint64, err error) {
	site, ok := siteByName(siteName)
	if !ok {
		return 0, fmt.Errorf("probe: DisarmFault: unknown site %q", siteName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var f probesFault
	if err := s.maps["faults"].Lookup(uint32(site), &f); err != nil {
		return 0, fmt.Errorf("probe: read fault %s: %w", siteName, err)
	}
	if err := s.maps["faults"].Put(uint32(site), probesFault{}); err != nil {
		return f.Fired, fmt.Errorf("probe: disarm %s: %w", siteName, err)
	}
	s.faults[site] = false
	return f.Fired, nil
}

// FaultFired returns how many times a site has fired since it was armed.
func (s *Set) FaultFired(siteName string) (uint64, error) {
	site, ok := siteByName(siteName)
	if !ok {
		return 0, errors.New("probe: FaultFired: unknown site " + siteName)
	}
	var f probesFault
	if err := s.maps["faults"].Lookup(uint32(site), &f); err != nil {
		return 0, fmt.Errorf("probe: read fault %s: %w", siteName, err)
	}
	return f.Fired, nil
}
