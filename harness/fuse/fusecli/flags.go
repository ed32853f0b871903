// Package fusecli is the command line of the test FUSE server: Run is the
// whole program (used by cmd/fuseserver and by the guest agent's
// "fuse-server" subcommand), Start runs it as a child process and returns
// once it is ready, with a remote control client.
package fusecli

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"dioharness/harness/fuse"
)

// options is the parsed command line.
type options struct {
	mount   string
	ctl     string
	verbose bool
	cfg     fuse.Config
}

// parseArgs parses flags into options. Flags override the config file.
func parseArgs(args []string, usageOut io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("fuseserver", flag.ContinueOnError)
	// Errors are reported by Run as one line; usage only on -h.
	fs.SetOutput(io.Discard)
	var (
		configFile   string
		directIO     = fs.Bool("direct-io", false, "reply FOPEN_DIRECT_IO to every open")
		parallel     = fs.Bool("parallel-direct-writes", false, "reply FOPEN_PARALLEL_DIRECT_WRITES (with -direct-io: FOPEN_DIRECT_IO too)")
		keepCache    = fs.Bool("keep-cache", false, "reply FOPEN_KEEP_CACHE to every open")
		noFlush      = fs.Bool("noflush", false, "reply FOPEN_NOFLUSH to every open")
		allowMmap    = fs.Bool("allow-mmap", false, "INIT: FUSE_DIRECT_IO_ALLOW_MMAP")
		passthrough  = fs.String("passthrough", "", "INIT: FUSE_PASSTHROUGH; open every file with FOPEN_PASSTHROUGH on a backing file in `DIR`")
		writeback    = fs.Bool("writeback-cache", false, "INIT: FUSE_WRITEBACK_CACHE")
		parallelDirs = fs.Bool("parallel-dirops", false, "INIT: FUSE_PARALLEL_DIROPS")
		asyncDIO     = fs.Bool("async-dio", false, "INIT: FUSE_ASYNC_DIO")
		parallelOD   = fs.Bool("parallel-odirect-writes", false, "INIT: FUSE_PARALLEL_ODIRECT_WRITES (with -parallel-direct-writes and without -direct-io: O_DIRECT opens keep the page cache for the rest and write in parallel)")
		workers      = fs.Int("workers", 0, "worker goroutines, each on its own cloned /dev/fuse fd (default 2)")
		maxWrite     = fs.Uint("max-write", 0, "INIT max_write in bytes (default 1 MiB)")
		maxPages     = fs.Uint("max-pages", 0, "INIT max_pages (default max_write in pages)")
		attrTimeout  = fs.Duration("attr-timeout", 0, "attribute cache timeout")
		entryTimeout = fs.Duration("entry-timeout", 0, "entry cache timeout")
		subtype      = fs.String("subtype", "", "file system subtype (type fuse.SUBTYPE)")
		capsExtra    = fs.Uint64("caps", 0, "extra raw INIT capability bits")
		capsDisabled = fs.Uint64("caps-disabled", 0, "raw INIT capability bits never requested")
		source       = fs.String("source", "", "pass through to the files of `DIR` instead of serving an in-memory tree")
		fsname       = fs.String("fsname", "", "mount source shown in /proc/mounts")
		defaultPerms = fs.Bool("default-permissions", false, "mount with default_permissions (the kernel checks access)")
		readOnly     = fs.Bool("ro", false, "mount read-only")
	)
	fs.StringVar(&o.mount, "mount", "", "mount point `DIR` (required)")
	fs.StringVar(&o.ctl, "ctl", "", "control unix `SOCKET` for package remote")
	fs.StringVar(&configFile, "config", "", "JSON fuse.Config `FILE`")
	fs.BoolVar(&o.verbose, "v", false, "log server diagnostics to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(usageOut)
			fmt.Fprintln(usageOut, "usage: fuseserver -mount DIR [-ctl SOCKET] [-config FILE.json] [flags]")
			fs.PrintDefaults()
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.mount == "" {
		return o, errors.New("-mount DIR is required")
	}
	if configFile != "" {
		c, err := fuse.LoadConfig(configFile)
		if err != nil {
			return o, err
		}
		o.cfg = c
	}
	c := &o.cfg
	caps := &c.Capabilities
	caps.DirectIOAllowMmap = caps.DirectIOAllowMmap || *allowMmap
	caps.WritebackCache = caps.WritebackCache || *writeback
	caps.ParallelDirops = caps.ParallelDirops || *parallelDirs
	caps.AsyncDIO = caps.AsyncDIO || *asyncDIO
	caps.ParallelODirectWrites = caps.ParallelODirectWrites || *parallelOD
	caps.Extra |= *capsExtra
	caps.Disabled |= *capsDisabled
	if *workers < 0 {
		return o, fmt.Errorf("-workers %d: must be positive", *workers)
	}
	if *workers > 0 {
		c.Workers = *workers
	}
	if *maxWrite > 0 {
		if *maxWrite < 4096 || *maxWrite > 1<<30 {
			return o, fmt.Errorf("-max-write %d out of range", *maxWrite)
		}
		caps.MaxWrite = uint32(*maxWrite)
	}
	if *maxPages > 0 {
		if *maxPages > 0xffff {
			return o, fmt.Errorf("-max-pages %d out of range", *maxPages)
		}
		caps.MaxPages = uint16(*maxPages)
	}
	if *attrTimeout > 0 {
		c.AttrTimeout = fuse.Duration(*attrTimeout)
	}
	if *entryTimeout > 0 {
		c.EntryTimeout = fuse.Duration(*entryTimeout)
	}
	if *subtype != "" {
		c.Subtype = *subtype
	}
	if *source != "" {
		c.Source = *source
	}
	if *fsname != "" {
		c.FSName = *fsname
	}
	c.DefaultPermissions = c.DefaultPermissions || *defaultPerms
	c.ReadOnly = c.ReadOnly || *readOnly
	pol := fuse.OpenPolicy{
		DirectIO:             *directIO,
		ParallelDirectWrites: *parallel,
		KeepCache:            *keepCache,
		NoFlush:              *noFlush,
	}
	if *passthrough != "" {
		caps.Passthrough = true
		c.BackingDir = *passthrough
		pol.Passthrough = true
	}
	if pol != (fuse.OpenPolicy{}) {
		// Flag policy is the catch-all after the config's own rules.
		c.Rules = append(c.Rules, fuse.OpenRule{Glob: "", OpenPolicy: pol})
	}
	return o, nil
}
