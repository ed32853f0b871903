package probe

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMain doubles as the FUSE test server (when re-executed) and as a
// minimal /init, so the same test binary can run inside the 6.12 guest
// (see scripts/guest-test.sh).
func TestMain(m *testing.M) {
	if os.Getenv(probeFUSEServerEnv) == "1" {
		if err := serveFUSE(os.NewFile(3, "/dev/fuse")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getpid() == 1 {
		guestInit(m)
	}
	os.Exit(m.Run())
}

// guestInit mounts what the tests need, runs them, prints a line the host
// script looks for and reboots (QEMU runs with -no-reboot, so it exits).
func guestInit(m *testing.M) {
	for _, mnt := range []struct{ src, dir, fstype string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
		{"tmpfs", "/tmp", "tmpfs"},
	} {
		os.MkdirAll(mnt.dir, 0o755)
		if err := unix.Mount(mnt.src, mnt.dir, mnt.fstype, 0, ""); err != nil {
			fmt.Printf("guest init: mount %s: %v\n", mnt.dir, err)
		}
	}
	os.Setenv("TMPDIR", "/tmp")
	code := m.Run()
	fmt.Printf("PROBE-GUEST-EXIT %d\n", code)
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	select {}
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

// mountFS mounts a fresh file system of the given flavour ("ext4",
// "ext4-noextent" or "xfs") and returns its directory. In the guest the
// device comes from PROBE_<FLAVOUR>_DEV (a virtio disk prepared by the host
// script); on the host an image file goes on a loop device.
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
