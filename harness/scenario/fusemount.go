package scenario

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"dioharness/harness/fuse"
	"dioharness/harness/fuse/fusecli"
	"dioharness/harness/fuse/remote"
)

// FUSEMount is a test FUSE server running in its own process (a workload
// that faults on a mapping of a file served by its own process
// deadlocks), mounted for one scenario.
type FUSEMount struct {
	// Dir is the mount point.
	Dir string
	// Server controls the server: rules, faults, gates, stats, content.
	*remote.Client
	proc *fusecli.Process
}

// FUSE mounts a test server with cfg and stops it when t ends. The
// server is checked for a clean exit: a server that crashed or hung is a
// scenario failure.
func (t *T) FUSE(cfg fuse.Config) *FUSEMount {
	n := t.env.seq.Add(1)
	dir := filepath.Join(t.env.Work, fmt.Sprintf("fuse%d", n))
	t.Check(os.MkdirAll(dir, 0o755), "mkdir %s", dir)
	cfgFile := dir + ".json"
	data, err := json.Marshal(cfg)
	t.Check(err, "encode FUSE config")
	t.Check(os.WriteFile(cfgFile, data, 0o644), "write %s", cfgFile)
	p, err := fusecli.Start(t.ctx, t.env.Exe, []string{"fuse-server", "-mount", dir, "-config", cfgFile})
	if err != nil {
		t.Fatalf("start FUSE server: %v", err)
	}
	m := &FUSEMount{Dir: dir, Client: p.Client, proc: p}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil && !strings.Contains(err.Error(), "signal: terminated") {
			t.Errorf("FUSE server: %v", err)
		}
		os.Remove(cfgFile)
	})
	return m
}

// Path is the mount path of a file in the server's tree.
func (m *FUSEMount) Path(name string) string {
	return filepath.Join(m.Dir, name)
}

// Stderr is what the server process printed.
func (m *FUSEMount) Stderr() string { return m.proc.Stderr() }
