package probe

import (
	"strings"

	"github.com/cilium/ebpf"
)

// State of one program after Load.
type State uint8

// Program states.
const (
	// Attached: loaded and attached (the marker: loaded, it is run, not attached).
	Attached State = iota + 1
	// Skipped: not loaded because its target does not exist in this kernel
	// (inlined, not built, an unpatched kernel) or a needed kernel feature
	// is missing, or excluded by Options.
	Skipped
	// Failed: the target exists but loading or attaching failed; a bug in
	// the probe or an unexpected kernel.
	Failed
)

func (s State) String() string {
	switch s {
	case Attached:
		return "attached"
	case Skipped:
		return "skipped"
	case Failed:
		return "FAILED"
	}
	return "unknown"
}

// AttachStatus reports what happened to one program.
type AttachStatus struct {
	Name   string // BPF program name, e.g. "fexit_down_write"
	Probe  string // attach point, e.g. "fexit/down_write"
	Target string // kernel symbol or tracepoint, e.g. "down_write"
	Family Family
	State  State
	Reason string // why Skipped or Failed
	// WhileRecording: an Attached program whose link exists only between
	// Start and Stop (see recordingTargets).
	WhileRecording bool
}

func (s AttachStatus) String() string {
	str := s.Family.String() + " " + s.Probe + " " + s.State.String()
	if s.WhileRecording {
		str += " (while recording)"
	}
	if s.Reason != "" {
		str += ": " + s.Reason
	}
	return str
}

// targetFamilies maps attach targets of probes.c to their family; the
// patched and fault objects are one family each.
var targetFamilies = map[string]Family{
	"probe_marker": FamilyInternal,

	"fuse_file_write_iter":   FamilyLock,
	"fuse_direct_write_iter": FamilyLock,
	"fuse_cache_write_iter":  FamilyLock,
	"ext4_file_write_iter":   FamilyLock,
	"xfs_file_write_iter":    FamilyLock,
	"down_read":              FamilyLock,
	"down_write":             FamilyLock,
	"down_read_nested":       FamilyLock,
	"down_write_nested":      FamilyLock,
	"down_read_killable":     FamilyLock,
	"down_write_killable":    FamilyLock,
	"down_read_trylock":      FamilyLock,
	"down_write_trylock":     FamilyLock,
	"up_read":                FamilyLock,
	"up_write":               FamilyLock,
	"downgrade_write":        FamilyLock,

	"fuse_file_cached_io_open":     FamilyIOMode,
	"fuse_inode_uncached_io_start": FamilyIOMode,
	"fuse_inode_uncached_io_end":   FamilyIOMode,
	"fuse_file_io_open":            FamilyIOMode,
	"fuse_file_io_release":         FamilyIOMode,
	"fuse_file_mmap":               FamilyIOMode,

	"invalidate_inode_pages2_range":      FamilyInvalidate,
	"kiocb_invalidate_pages":             FamilyInvalidate,
	"kiocb_invalidate_post_direct_write": FamilyInvalidate,
	"filemap_write_and_wait_range":       FamilyInvalidate,
	"fuse_launder_folio":                 FamilyInvalidate,
	"fuse_direct_io":                     FamilyInvalidate,

	"iomap_dio_rw_begin":        FamilyFallback,
	"iomap_dio_complete":        FamilyFallback,
	"iomap_dio_invalidate_fail": FamilyFallback,
	"__iomap_dio_rw":            FamilyFallback,
	"iomap_dio_rw":              FamilyFallback,
	"fuse_perform_write":        FamilyFallback,
	"generic_perform_write":     FamilyFallback,
	"iomap_file_buffered_write": FamilyFallback,
	"ext4_write_begin":          FamilyFallback,
	"ext4_da_write_begin":       FamilyFallback,
	"dio_warn_stale_pagecache":  FamilyFallback,
	"xfs_iomap_invalid":         FamilyXFS,
	"xfs_iomap_valid":           FamilyXFS,
	"fuse_request_send":         FamilyRequest,
	"fuse_request_end":          FamilyRequest,
}

// recordingTargets are the kernel primitives every task calls all the
// time: the rwsem lock and unlock functions. A BPF trampoline on them
// slows the whole guest, so their programs are attached only between
// Start and Stop (Load attaches each once and detaches it again, so a
// target that cannot be attached is Skipped or Failed at Load as any
// other). Everything else stays attached from Load to Close: those
// targets are the filesystem paths under test.
var recordingTargets = map[string]bool{
	"down_read":           true,
	"down_write":          true,
	"down_read_nested":    true,
	"down_write_nested":   true,
	"down_read_killable":  true,
	"down_write_killable": true,
	"down_read_trylock":   true,
	"down_write_trylock":  true,
	"up_read":             true,
	"up_write":            true,
	"downgrade_write":     true,
}

// object is one bpf2go-generated ELF.
type object struct {
	name   string
	family Family // FamilyInternal: per target from targetFamilies
	load   func() (*ebpf.CollectionSpec, error)
}

var objects = []object{
	{name: "probes", load: loadProbes},
	{name: "patched", family: FamilyPatched, load: loadPatched},
	{name: "fault", family: FamilyFault, load: loadFault},
}

// probeName returns the attach point ("fentry/x", "tp_btf/y") of a program.
func probeName(p *ebpf.ProgramSpec) string {
	return p.SectionName
}

// targetOf returns the kernel symbol or tracepoint a program attaches to.
func targetOf(p *ebpf.ProgramSpec) string {
	if p.AttachTo != "" {
		return p.AttachTo
	}
	if i := strings.IndexByte(p.SectionName, '/'); i >= 0 {
		return p.SectionName[i+1:]
	}
	return p.Name
}
