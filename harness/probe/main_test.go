package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/fuse"
	"dioharness/harness/fuse/fusecli"
	"dioharness/harness/guest/pid1"
	"dioharness/harness/guestproto"
)

// fuseServerEnv makes the test binary the project's test FUSE server
// (fusecli.Run, what the guest agent runs as "fuse-server"): a workload
// that faults on a FUSE mapping must never share a process with its
// server.
const fuseServerEnv = "PROBE_FUSE_SERVER"

// TestMain is also the FUSE server (when re-executed with fuseServerEnv)
// and the VM's /init (as PID 1; harness/cmd/probeguest boots it).
func TestMain(m *testing.M) {
	if os.Getenv(fuseServerEnv) == "1" {
		os.Exit(fusecli.Run(os.Args[1:], os.Stdout, os.Stderr))
	}
	if os.Getpid() == 1 {
		runAsInit(m)
	}
	os.Exit(m.Run())
}

// runAsInit runs the tests as the guest agent would: the same PID-1
// setup, the output on the agent channel, the exit code carried out of
// the VM. It never returns.
func runAsInit(m *testing.M) {
	fail := func(port uint16, err error) {
		fmt.Fprintf(os.Stderr, "probe test init: %v\n", err)
		pid1.PowerOff(port, 2)
	}
	if err := pid1.Setup(); err != nil {
		fail(0, err)
	}
	// The plan (harness/cmd/probeguest) names the machine's agent
	// channel and exit port.
	raw, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		fail(0, err)
	}
	b, err := os.ReadFile(guestproto.ParseCmdline(string(raw)).Plan)
	if err != nil {
		fail(0, fmt.Errorf("read the plan: %w", err))
	}
	plan, err := guestproto.DecodeWiring(b)
	if err != nil {
		fail(0, err)
	}
	tty, err := os.OpenFile(plan.AgentTTY, os.O_WRONLY|unix.O_NOCTTY, 0)
	if err != nil {
		fail(plan.ExitPort, err)
	}
	for _, fd := range []int{1, 2} {
		if err := unix.Dup3(int(tty.Fd()), fd, 0); err != nil {
			fail(plan.ExitPort, fmt.Errorf("dup agent channel: %w", err))
		}
	}
	code := m.Run()
	// QEMU exits at once on the exit port: let the UART drain first.
	unix.IoctlSetInt(int(tty.Fd()), unix.TCSBRK, 1)
	pid1.PowerOff(plan.ExitPort, byte(code))
}

// requireRoot skips tests that load BPF or mount file systems.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skipf("no kernel BTF: %v", err)
	}
}

// loadSet loads all probes for one test. Missing root or BTF skips; a
// Load failure beyond that is a failure.
func loadSet(t *testing.T) *Set {
	t.Helper()
	requireRoot(t)
	s, err := Load(Options{RingBufferSize: 4 << 20})
	if err != nil {
		t.Fatalf("probe.Load: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// has reports whether every named probe is attached; tests use it to
// assert a family's events only where its probes run.
func has(s *Set, names ...string) bool { return s.Require(names...) == nil }

// testFUSEConfig is the file system the FUSE tests use: four 1 MiB files
// whose names say how they open. "cached" opens with no FOPEN flags (page
// cache), "direct" and "other" with FOPEN_DIRECT_IO and
// FOPEN_PARALLEL_DIRECT_WRITES, "serial" with FOPEN_DIRECT_IO only.
// Shared mappings of direct-io files are allowed; entries and attributes
// stay valid for an hour, so the kernel does not ask again mid-test.
func testFUSEConfig() fuse.Config {
	parallel := fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true}
	cfg := fuse.Config{
		Capabilities: fuse.Capabilities{DirectIOAllowMmap: true},
		EntryTimeout: fuse.Duration(time.Hour),
		AttrTimeout:  fuse.Duration(time.Hour),
		Rules: []fuse.OpenRule{
			{Glob: "/direct", OpenPolicy: parallel},
			{Glob: "/other", OpenPolicy: parallel},
			{Glob: "/serial", OpenPolicy: fuse.OpenPolicy{DirectIO: true}},
		},
	}
	for _, name := range []string{"cached", "direct", "other", "serial"} {
		cfg.Files = append(cfg.Files, fuse.FileSpec{Path: "/" + name, Size: 1 << 20})
	}
	return cfg
}

// mountTestFUSE mounts the test FUSE server (harness/fuse) with
// testFUSEConfig in a child process and returns the mount directory. The
// server is stopped at cleanup and must exit cleanly.
func mountTestFUSE(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no FUSE: %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	cfgFile := filepath.Join(work, "fuse.json")
	data, err := json.Marshal(testFUSEConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-mount", filepath.Join(work, "mnt"), "-config", cfgFile)
	cmd.Env = append(os.Environ(), fuseServerEnv+"=1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := fusecli.StartCmd(ctx, cmd)
	if err != nil {
		t.Fatalf("start the test FUSE server: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("test FUSE server: %v", err)
		}
	})
	return p.Mountpoint
}

// mountFS mounts a fresh file system of the given flavour ("ext4",
// "ext4-noextent" or "xfs") and returns its directory. In the guest the
// device comes from PROBE_<FLAVOUR>_DEV (a virtio disk that
// harness/cmd/probeguest attaches); on the host an image file goes on a
// loop device.
func mountFS(t *testing.T, flavour string) string {
	t.Helper()
	fstype := strings.TrimSuffix(flavour, "-noextent")
	envName := "PROBE_" + strings.ToUpper(strings.ReplaceAll(flavour, "-", "_")) + "_DEV"
	dir := t.TempDir()
	if dev := os.Getenv(envName); dev != "" {
		if err := unix.Mount(dev, dir, fstype, 0, ""); err != nil {
			t.Fatalf("mount %s (%s) on %s: %v", dev, fstype, dir, err)
		}
		t.Cleanup(func() { unmount(t, dir) })
		return dir
	}
	for _, tool := range []string{"losetup", "mkfs." + fstype} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s unavailable and %s not set", tool, envName)
		}
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("no loop devices and %s not set", envName)
	}
	img := filepath.Join(t.TempDir(), flavour+".img")
	size := int64(64 << 20)
	mkfs := []string{"mkfs.ext4", "-q", "-F"}
	switch flavour {
	case "ext4-noextent":
		mkfs = append(mkfs, "-O", "^extent,^64bit")
	case "xfs":
		size = 320 << 20 // mkfs.xfs refuses smaller data devices
		mkfs = []string{"mkfs.xfs", "-q", "-f"}
	}
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	run(t, append(mkfs, img)...)
	loop := strings.TrimSpace(run(t, "losetup", "-f", "--show", img))
	t.Cleanup(func() { run(t, "losetup", "-d", loop) })
	if err := unix.Mount(loop, dir, fstype, 0, ""); err != nil {
		t.Fatalf("mount %s on %s: %v", loop, dir, err)
	}
	t.Cleanup(func() { unmount(t, dir) })
	return dir
}

func unmount(t *testing.T, dir string) {
	if err := unix.Unmount(dir, 0); err != nil {
		t.Errorf("unmount %s: %v", dir, err)
		unix.Unmount(dir, unix.MNT_DETACH)
	}
}

func run(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}
