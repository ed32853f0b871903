package vm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckAccel: kvm is refused, with the reason and what to do, on a
// host whose /dev/kvm cannot be opened.
func TestCheckAccel(t *testing.T) {
	dir := t.TempDir()
	usable := filepath.Join(dir, "kvm")
	if err := os.WriteFile(usable, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		accel, dev string
		want       string // "" for no error
	}{
		{"tcg", filepath.Join(dir, "missing"), ""},
		{"kvm", usable, ""},
		{"kvm", filepath.Join(dir, "missing"), "kvm cannot work on this host: open " + filepath.Join(dir, "missing") + ": no such file or directory; use tcg"},
		{"xen", usable, `bad accelerator "xen", want kvm or tcg`},
	}
	for _, tc := range tests {
		err := checkAccel(tc.accel, tc.dev)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("checkAccel(%s, %s) = %v, want nil", tc.accel, tc.dev, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("checkAccel(%s, %s) = %v, want %q", tc.accel, tc.dev, err, tc.want)
		}
	}
}

// TestStartFailureShowsQEMUStderr: QEMU that cannot start (here: an
// empty file as the kernel) exits 1, which is also the status of the
// agent's "ok" verdict; the guest never wrote a line, so Wait fails
// with QEMU's own error.
func TestStartFailureShowsQEMUStderr(t *testing.T) {
	m := testMachine(t)
	if _, err := exec.LookPath(m.QEMU); err != nil {
		t.Skipf("%s not installed: %v", m.QEMU, err)
	}
	dir := t.TempDir()
	kernel, initrd := filepath.Join(dir, "bzImage"), filepath.Join(dir, "initrd")
	for _, f := range []string{kernel, initrd} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, err := Start(context.Background(), Config{Machine: m, Accel: "tcg", Kernel: kernel, Initramfs: initrd, ConsoleLog: filepath.Join(dir, "console.log")})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer g.Close()
	for range g.Agent() {
	}
	v, err := g.Wait()
	want := "qemu exited with status 1 before the guest wrote a line: qemu: could not load kernel '" + kernel + "'"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Wait() = %v, %v; want %q", v, err, want)
	}
}
