package fusecli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/fuse"
)

// childEnv makes the test binary act as fuseserver (the os.Executable
// re-exec pattern), so mmap workloads fault on a mount served by another
// process.
const childEnv = "FUSECLI_TEST_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(Run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func requireFuse(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting FUSE needs root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no /dev/fuse: %v", err)
	}
}

// startChild runs the server in a child process and stops it at cleanup.
func startChild(t *testing.T, args ...string) *Process {
	t.Helper()
	requireFuse(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, append([]string{"-mount", t.TempDir()}, args...)...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := StartCmd(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return p
}

func TestRunBadFlags(t *testing.T) {
	tests := [][]string{
		{},
		{"-mount"},
		{"-mount", "/x", "-workers", "-1"},
		{"-mount", "/x", "-no-such-flag"},
		{"-mount", "/x", "extra"},
		{"-mount", "/x", "-max-write", "12"},
		{"-mount", "/x", "-config", "/nonexistent.json"},
	}
	for _, args := range tests {
		var out, errb bytes.Buffer
		if code := Run(args, &out, &errb); code != 2 {
			t.Errorf("Run(%q) = %d, want 2", args, code)
		}
		if lines := strings.Count(errb.String(), "\n"); lines != 1 || out.Len() != 0 {
			t.Errorf("Run(%q) stderr %q stdout %q: want one error line", args, errb.String(), out.String())
		}
	}
	var out, errb bytes.Buffer
	if code := Run([]string{"-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "-mount") {
		t.Errorf("-h: code %d, usage %q", code, errb.String())
	}
}

func TestFlagValue(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-ctl", "/a"}, "/a"},
		{[]string{"--ctl=/b"}, "/b"},
		{[]string{"-mount", "/m"}, ""},
		{[]string{"---ctl", "/c"}, ""},
	} {
		if got := flagValue(tc.args, "ctl"); got != tc.want {
			t.Errorf("flagValue(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestStartStop runs the CLI as a child, drives it through the mount and
// the remote client, and stops it with SIGTERM.
func TestStartStop(t *testing.T) {
	p := startChild(t, "-workers", "3", "-direct-io")
	if err := os.WriteFile(filepath.Join(p.Mountpoint, "f"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := p.Client.FileContent("/f")
	if err != nil || string(b) != "hello" {
		t.Fatalf("FileContent = %q, %v", b, err)
	}
	log, err := p.Client.Log()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range log {
		if r.Op == fuse.OpCreate && r.Reply&fuse.FopenDirectIO == 0 {
			t.Errorf("CREATE replied %#x without FOPEN_DIRECT_IO", r.Reply)
		}
	}
	mp := p.Mountpoint
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), " "+mp+" ") {
		t.Error("still mounted after Stop")
	}
}

// TestExternalUnmountExits: the server exits 0 when unmounted from outside.
func TestExternalUnmountExits(t *testing.T) {
	p := startChild(t)
	if err := unix.Unmount(p.Mountpoint, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
		if err := p.ExitErr(); err != nil {
			t.Errorf("exit: %v; stderr %s", err, p.Stderr())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server still running after unmount")
	}
}

// TestMmapDirectIO maps a FOPEN_DIRECT_IO file shared: the kernel refuses
// unless INIT granted FUSE_DIRECT_IO_ALLOW_MMAP, and with it page faults are
// served by the child server.
func TestMmapDirectIO(t *testing.T) {
	data := bytes.Repeat([]byte("mmap-me!"), 1024)
	for _, allow := range []bool{false, true} {
		t.Run(map[bool]string{false: "refused", true: "allowed"}[allow], func(t *testing.T) {
			args := []string{"-direct-io"}
			if allow {
				args = append(args, "-allow-mmap")
			}
			p := startChild(t, args...)
			if err := p.Client.WriteFile("/m", data); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(filepath.Join(p.Mountpoint, "m"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m, err := unix.Mmap(int(f.Fd()), 0, len(data), unix.PROT_READ, unix.MAP_SHARED)
			if !allow {
				if !errors.Is(err, syscall.ENODEV) {
					t.Errorf("shared mmap without allow-mmap: %v, want ENODEV", err)
				}
				if err == nil {
					unix.Munmap(m)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Munmap(m)
			if !bytes.Equal(m, data) {
				t.Error("mapped content differs")
			}
			info, err := p.Client.Info()
			if err != nil || !info.Init.Has(fuse.CapDirectIOAllowMmap) {
				t.Errorf("INIT %+v, %v", info.Init, err)
			}
		})
	}
}

// TestConfigFile starts the server from a JSON config.
func TestConfigFile(t *testing.T) {
	cfg := `{
		"workers": 2,
		"files": [{"path": "/etc/motd", "text": "hi"}],
		"rules": [{"glob": "/etc/*", "direct_io": true}],
		"faults": [{"name": "no-mkdir", "op": "MKDIR", "glob": "/etc/**", "errno": "EPERM"}],
		"gates": [{"name": "reads", "op": "READ", "glob": "/nothing"}]
	}`
	file := filepath.Join(t.TempDir(), "cfg.json")
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var c fuse.Config
	if err := json.Unmarshal([]byte(cfg), &c); err != nil || c.Faults[0].Errno != fuse.Errno(syscall.EPERM) || c.Faults[0].Op != fuse.OpMkdir {
		t.Fatalf("config decodes to %+v, %v", c, err)
	}
	p := startChild(t, "-config", file)
	if b, err := os.ReadFile(filepath.Join(p.Mountpoint, "etc/motd")); err != nil || string(b) != "hi" {
		t.Errorf("motd = %q, %v", b, err)
	}
	if err := os.Mkdir(filepath.Join(p.Mountpoint, "etc/x"), 0o755); !errors.Is(err, syscall.EPERM) {
		t.Errorf("mkdir: %v, want EPERM", err)
	}
	st, err := p.Client.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Gate("reads"); !ok {
		t.Errorf("gate from config missing: %+v", st.Gates)
	}
}
