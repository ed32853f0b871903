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
	// Start and Stop (see target).
	WhileRecording bool
	// OnRequest: a WhileRecording program that a recording attaches
	// only when its RecordOptions ask for its events (see target).
	OnRequest bool
}

func (s AttachStatus) String() string {
	str := s.Family.String() + " " + s.Probe + " " + s.State.String()
	switch {
	case s.OnRequest:
		str += " (while recording, on request)"
	case s.WhileRecording:
		str += " (while recording)"
	}
	if s.Reason != "" {
		str += ": " + s.Reason
	}
	return str
}

// target is what the harness knows of an attach target of probes.c:
// the family of its programs and whether they attach only while
// recording.
type target struct {
	family Family
	// whileRecording: the kernel primitives every task calls all the
	// time, the rwsem lock and unlock functions, and the page-cache
	// tracepoints every file's reads and writes fire. A BPF program on
	// them slows the whole guest, so their programs are attached only
	// between Start and Stop (Load attaches each once and detaches it
	// again, so a target that cannot be attached is Skipped or Failed
	// at Load as any other). Everything else stays attached from Load
	// to Close: those targets are the filesystem paths under test.
	whileRecording bool
	// onRequest: attached while recording only by a recording whose
	// RecordOptions ask for it (pageCache: the page-cache tracepoints,
	// one event per folio of a watched file, which a recording of a
	// large file pays for in events and rule time).
	onRequest onRequest
}

// onRequest names what a recording asks for in RecordOptions.
type onRequest int

const (
	always onRequest = iota
	pageCache
)

// targets is the one table of the attach targets of probes.c; the
// patched and fault objects are one family each (objects).
var targets = map[string]target{
	"probe_marker": {family: FamilyInternal},

	"fuse_file_write_iter":   {family: FamilyLock},
	"fuse_direct_write_iter": {family: FamilyLock},
	"fuse_cache_write_iter":  {family: FamilyLock},
	"ext4_file_write_iter":   {family: FamilyLock},
	"xfs_file_write_iter":    {family: FamilyLock},
	"down_read":              {family: FamilyLock, whileRecording: true},
	"down_write":             {family: FamilyLock, whileRecording: true},
	"down_read_nested":       {family: FamilyLock, whileRecording: true},
	"down_write_nested":      {family: FamilyLock, whileRecording: true},
	"down_read_killable":     {family: FamilyLock, whileRecording: true},
	"down_write_killable":    {family: FamilyLock, whileRecording: true},
	"down_read_trylock":      {family: FamilyLock, whileRecording: true},
	"down_write_trylock":     {family: FamilyLock, whileRecording: true},
	"up_read":                {family: FamilyLock, whileRecording: true},
	"up_write":               {family: FamilyLock, whileRecording: true},
	"downgrade_write":        {family: FamilyLock, whileRecording: true},

	"fuse_file_cached_io_open":     {family: FamilyIOMode},
	"fuse_inode_uncached_io_start": {family: FamilyIOMode},
	"fuse_inode_uncached_io_end":   {family: FamilyIOMode},
	"fuse_file_io_open":            {family: FamilyIOMode},
	"fuse_file_io_release":         {family: FamilyIOMode},
	"fuse_file_mmap":               {family: FamilyIOMode},

	"invalidate_inode_pages2_range":      {family: FamilyInvalidate},
	"kiocb_invalidate_pages":             {family: FamilyInvalidate},
	"kiocb_invalidate_post_direct_write": {family: FamilyInvalidate},
	"filemap_write_and_wait_range":       {family: FamilyInvalidate},
	"fuse_launder_folio":                 {family: FamilyInvalidate},
	"fuse_direct_io":                     {family: FamilyInvalidate},

	"iomap_dio_rw_begin":        {family: FamilyFallback},
	"iomap_dio_complete":        {family: FamilyFallback},
	"iomap_dio_invalidate_fail": {family: FamilyFallback},
	"__iomap_dio_rw":            {family: FamilyFallback},
	"iomap_dio_rw":              {family: FamilyFallback},
	"fuse_perform_write":        {family: FamilyFallback},
	"generic_perform_write":     {family: FamilyFallback},
	"iomap_file_buffered_write": {family: FamilyFallback},
	"ext4_write_begin":          {family: FamilyFallback},
	"ext4_da_write_begin":       {family: FamilyFallback},
	"dio_warn_stale_pagecache":  {family: FamilyFallback},

	"xfs_iomap_invalid": {family: FamilyXFS},
	"xfs_iomap_valid":   {family: FamilyXFS},

	"fuse_request_send": {family: FamilyRequest},
	"fuse_request_end":  {family: FamilyRequest},

	"mm_filemap_add_to_page_cache":      {family: FamilyCache, whileRecording: true, onRequest: pageCache},
	"mm_filemap_delete_from_page_cache": {family: FamilyCache, whileRecording: true, onRequest: pageCache},
}

// object is one bpf2go-generated ELF.
type object struct {
	name   string
	family Family // FamilyInternal: per target from targets
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
