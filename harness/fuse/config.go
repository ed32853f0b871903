package fuse

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// Config describes one mount. The zero value is usable: two workers, 1 MiB
// max_write, zero cache timeouts, no open flags, no faults.
// Everything except the hooks serialises to JSON (see LoadConfig).
type Config struct {
	// Workers is the number of goroutines reading /dev/fuse; workers after
	// the first use a FUSE_DEV_IOC_CLONE'd descriptor. Default 2.
	Workers int `json:"workers,omitempty"`
	// FSName is the mount source shown in /proc/mounts. Default "dioharness".
	FSName string `json:"fsname,omitempty"`
	// Subtype makes the file system type "fuse.<Subtype>".
	Subtype string `json:"subtype,omitempty"`
	// MaxRead is the max_read mount option. Default Capabilities.MaxWrite.
	MaxRead uint32 `json:"max_read,omitempty"`
	// Capabilities chooses what the INIT reply asks the kernel for.
	Capabilities Capabilities `json:"capabilities"`
	// EntryTimeout and AttrTimeout are the cache validities in LOOKUP,
	// GETATTR, CREATE... replies. Zero (the default) makes the kernel ask
	// again every time, so tests see fresh attributes.
	EntryTimeout Duration `json:"entry_timeout,omitempty"`
	AttrTimeout  Duration `json:"attr_timeout,omitempty"`
	// Rules choose the FOPEN_* flags of each OPEN, CREATE and OPENDIR reply:
	// the first rule whose glob matches the path wins.
	Rules []OpenRule `json:"rules,omitempty"`
	// Faults are applied to matching requests: delay and/or error reply.
	Faults []Fault `json:"faults,omitempty"`
	// Gates are armed at start (more can be armed at run time).
	Gates []GateSpec `json:"gates,omitempty"`
	// Files and Dirs pre-populate the in-memory tree.
	Files []FileSpec `json:"files,omitempty"`
	Dirs  []string   `json:"dirs,omitempty"`
	// BackingDir holds passthrough backing files: the backing file of
	// "/a/b" is BackingDir/a/b unless the policy names one.
	BackingDir string `json:"backing_dir,omitempty"`
	// LogLimit bounds the request log; older records are dropped.
	// Default 100000; negative disables the log.
	LogLimit int `json:"log_limit,omitempty"`
	// UID and GID own the root and pre-populated entries and are the
	// mount's user_id/group_id.
	UID uint32 `json:"uid,omitempty"`
	GID uint32 `json:"gid,omitempty"`
	// Source, when set, makes the server pass through to this directory
	// instead of serving the in-memory tree: the files live on a real
	// filesystem and survive the server (fstests' FUSE setups). Files,
	// Dirs and passthrough backing files do not apply then.
	Source string `json:"source,omitempty"`
	// DefaultPermissions mounts with default_permissions: the kernel
	// checks access against the mode bits, as for a local filesystem.
	DefaultPermissions bool `json:"default_permissions,omitempty"`
	// ReadOnly mounts read-only.
	ReadOnly bool `json:"read_only,omitempty"`

	// OpenHook, when set, is asked before the rules; it returns the policy
	// and true to decide, or false to fall through to the rules.
	OpenHook func(OpenInfo) (OpenPolicy, bool) `json:"-"`
	// Logf receives diagnostics (malformed requests, write errors). Nil
	// discards them.
	Logf func(format string, args ...any) `json:"-"`
}

// Capabilities chooses the INIT reply. Flags the kernel did not offer are
// never claimed.
type Capabilities struct {
	// DirectIOAllowMmap sets FUSE_DIRECT_IO_ALLOW_MMAP: shared mmap of
	// FOPEN_DIRECT_IO files.
	DirectIOAllowMmap bool `json:"direct_io_allow_mmap,omitempty"`
	// Passthrough sets FUSE_PASSTHROUGH with MaxStackDepth (default 1).
	// The kernel ignores it together with WritebackCache.
	Passthrough   bool   `json:"passthrough,omitempty"`
	MaxStackDepth uint32 `json:"max_stack_depth,omitempty"`
	// WritebackCache sets FUSE_WRITEBACK_CACHE.
	WritebackCache bool `json:"writeback_cache,omitempty"`
	// ParallelDirops sets FUSE_PARALLEL_DIROPS.
	ParallelDirops bool `json:"parallel_dirops,omitempty"`
	// AsyncDIO sets FUSE_ASYNC_DIO.
	AsyncDIO bool `json:"async_dio,omitempty"`
	// ParallelODirectWrites sets FUSE_PARALLEL_ODIRECT_WRITES (kernels
	// with the pdio RFC offer it): FOPEN_PARALLEL_DIRECT_WRITES then also
	// applies to O_DIRECT opens without FOPEN_DIRECT_IO, which defer
	// caching io mode until the page cache is used through them.
	ParallelODirectWrites bool `json:"parallel_odirect_writes,omitempty"`
	// MaxWrite is max_write. Default 1 MiB. Each worker's read buffer is
	// MaxWrite plus one page for the headers.
	MaxWrite uint32 `json:"max_write,omitempty"`
	// MaxPages is max_pages (FUSE_MAX_PAGES). Default MaxWrite in pages,
	// capped at the kernel's 256.
	MaxPages uint16 `json:"max_pages,omitempty"`
	// MaxReadahead caps the kernel's readahead; 0 keeps the kernel's offer.
	MaxReadahead uint32 `json:"max_readahead,omitempty"`
	// MaxBackground and CongestionThreshold; 0 keeps the kernel defaults.
	MaxBackground       uint16 `json:"max_background,omitempty"`
	CongestionThreshold uint16 `json:"congestion_threshold,omitempty"`
	// TimeGran is the timestamp granularity in ns. Default 1.
	TimeGran uint32 `json:"time_gran,omitempty"`
	// Extra capability bits (Cap* constants) are requested in addition;
	// Disabled bits are never requested, even the defaults (for example
	// CapDoReaddirplus to get plain READDIR).
	Extra    uint64 `json:"extra,omitempty"`
	Disabled uint64 `json:"disabled,omitempty"`
}

// DefaultCapabilities are requested unless Disabled: asynchronous reads,
// big writes, max_pages, the extended INIT, readdirplus (adaptive) and
// automatic data invalidation when the server changes size or mtime.
const DefaultCapabilities = CapAsyncRead | CapBigWrites | CapMaxPages | CapInitExt |
	CapDoReaddirplus | CapReaddirplusAuto | CapAutoInvalData

// Default sizes.
const (
	DefaultWorkers  = 2
	DefaultMaxWrite = 1 << 20
	DefaultLogLimit = 100000
	maxPagesLimit   = 256 // FUSE_MAX_MAX_PAGES
	pageSize        = 4096
)

// wanted returns the capability bits to request.
func (c Capabilities) wanted() uint64 {
	f := DefaultCapabilities | c.Extra
	if c.DirectIOAllowMmap {
		f |= CapDirectIOAllowMmap
	}
	if c.Passthrough {
		f |= CapPassthrough
	}
	if c.WritebackCache {
		f |= CapWritebackCache
	}
	if c.ParallelDirops {
		f |= CapParallelDirops
	}
	if c.AsyncDIO {
		f |= CapAsyncDIO
	}
	if c.ParallelODirectWrites {
		f |= CapParallelODirectWrites
	}
	return f &^ c.Disabled
}

// OpenPolicy is the set of FOPEN_* flags (and the passthrough backing file)
// for one open.
type OpenPolicy struct {
	DirectIO             bool `json:"direct_io,omitempty"`
	KeepCache            bool `json:"keep_cache,omitempty"`
	NoFlush              bool `json:"noflush,omitempty"`
	ParallelDirectWrites bool `json:"parallel_direct_writes,omitempty"`
	// CacheDir applies to OPENDIR (FOPEN_CACHE_DIR).
	CacheDir bool `json:"cache_dir,omitempty"`
	// Passthrough registers a backing file with FUSE_DEV_IOC_BACKING_OPEN
	// and replies FOPEN_PASSTHROUGH with its backing_id. Needs
	// Capabilities.Passthrough.
	Passthrough bool `json:"passthrough,omitempty"`
	// BackingPath overrides Config.BackingDir + path for passthrough.
	BackingPath string `json:"backing_path,omitempty"`
	// ExtraFlags are raw FOPEN_* bits ORed in (e.g. FopenNonseekable).
	ExtraFlags uint32 `json:"extra_flags,omitempty"`
}

// Flags returns the FOPEN_* bits of the policy.
func (p OpenPolicy) Flags() uint32 {
	f := p.ExtraFlags
	if p.DirectIO {
		f |= FopenDirectIO
	}
	if p.KeepCache {
		f |= FopenKeepCache
	}
	if p.NoFlush {
		f |= FopenNoflush
	}
	if p.ParallelDirectWrites {
		f |= FopenParallelDirectWrites
	}
	if p.CacheDir {
		f |= FopenCacheDir
	}
	if p.Passthrough {
		f |= FopenPassthrough
	}
	return f
}

// OpenRule applies its policy to opens whose path matches Glob (see
// package doc of globs in matchGlob: '*' within a segment, '**' across).
type OpenRule struct {
	Glob string `json:"glob"`
	OpenPolicy
}

// OpenInfo describes an open for Config.OpenHook.
type OpenInfo struct {
	Path   string
	NodeID uint64
	Flags  uint32 // O_* flags of the open
	Dir    bool   // OPENDIR
	Create bool   // CREATE
	PID    uint32 // the caller's thread ID
}

// Match selects requests by opcode and path, and optionally only some of
// them: the first Skip matching requests are left alone, then at most Count
// are affected (0 = no limit).
type Match struct {
	Op    Opcode `json:"op,omitempty"`
	Glob  string `json:"glob,omitempty"`
	Skip  int    `json:"skip,omitempty"`
	Count int    `json:"count,omitempty"`
}

// Fault delays and/or fails matching requests. When several faults match,
// the first one (in the order set) applies.
type Fault struct {
	// Name identifies the fault; setting a fault with an existing name
	// replaces it. Empty names are never replaced.
	Name string `json:"name,omitempty"`
	Match
	// Delay holds the request this long before handling it.
	Delay Duration `json:"delay,omitempty"`
	// Errno, when non-zero, is the error reply instead of handling.
	Errno Errno `json:"errno,omitempty"`
}

// GateSpec arms a gate that holds matching requests until released.
type GateSpec struct {
	Name string `json:"name"`
	Match
}

// FileSpec pre-populates a regular file. Content is Data, else Text, padded
// with zeros to Size if Size is larger. Parent directories are created.
type FileSpec struct {
	Path string `json:"path"`
	Data []byte `json:"data,omitempty"`
	Text string `json:"text,omitempty"`
	Size int64  `json:"size,omitempty"`
	Mode uint32 `json:"mode,omitempty"` // permission bits, default 0644
}

// LoadConfig reads a JSON Config from a file.
func LoadConfig(file string) (Config, error) {
	var c Config
	b, err := os.ReadFile(file)
	if err != nil {
		return c, fmt.Errorf("load config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("load config %s: %w", file, err)
	}
	return c, nil
}

// withDefaults fills in defaults and validates.
func (c Config) withDefaults() (Config, error) {
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.FSName == "" {
		c.FSName = "dioharness"
	}
	cp := &c.Capabilities
	if cp.MaxWrite == 0 {
		cp.MaxWrite = DefaultMaxWrite
	}
	if cp.MaxWrite < pageSize {
		return c, fmt.Errorf("max_write %d below %d", cp.MaxWrite, pageSize)
	}
	if cp.MaxPages == 0 {
		cp.MaxPages = uint16(min((cp.MaxWrite+pageSize-1)/pageSize, maxPagesLimit))
	}
	if cp.Passthrough && cp.MaxStackDepth == 0 {
		cp.MaxStackDepth = 1
	}
	if cp.TimeGran == 0 {
		cp.TimeGran = 1
	}
	if c.MaxRead == 0 {
		c.MaxRead = cp.MaxWrite
	}
	if c.LogLimit == 0 {
		c.LogLimit = DefaultLogLimit
	}
	var errs []error
	if c.Source != "" {
		if len(c.Files) > 0 || len(c.Dirs) > 0 || cp.Passthrough {
			errs = append(errs, errors.New("a source directory takes no files, dirs or passthrough"))
		}
		// READDIRPLUS would take a lookup per entry; plain READDIR
		// and LOOKUP keep the node references simple.
		cp.Disabled |= CapDoReaddirplus | CapReaddirplusAuto
	}
	for _, r := range c.Rules {
		errs = append(errs, validateGlob(r.Glob))
	}
	for _, f := range c.Faults {
		errs = append(errs, validateGlob(f.Glob))
	}
	for _, g := range c.Gates {
		errs = append(errs, validateGlob(g.Glob))
		if g.Name == "" {
			errs = append(errs, errors.New("gate without a name"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// timeouts returns the entry and attribute validities of replies.
func (c *Config) timeouts() (entry, attr timeout) {
	return toTimeout(time.Duration(c.EntryTimeout)), toTimeout(time.Duration(c.AttrTimeout))
}
