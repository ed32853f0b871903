package vm

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/guestproto"
)

// ProbeTimeout bounds the KVM proof boot. A working KVM guest reaches
// the agent in about a second; a broken one prints nothing at all.
const ProbeTimeout = 30 * time.Second

// ChooseAccel returns "kvm" only if a bounded boot of cfg under KVM
// reaches the guest agent, else "tcg". override (QEMU_ACCEL) wins. The
// answer is cached in cacheFile, keyed by QEMU and host kernel version,
// because /dev/kvm existing proves nothing: on some hosts KVM guests
// hang before the kernel prints a line.
func ChooseAccel(ctx context.Context, override string, cfg Config, cacheFile string, log io.Writer) (string, error) {
	if override != "" {
		if err := CheckAccel(override); err != nil {
			return "", fmt.Errorf("QEMU_ACCEL: %w", err)
		}
		return override, nil
	}
	if _, err := os.Stat("/dev/kvm"); err != nil {
		return "tcg", nil
	}
	key := cacheKey(cfg)
	if b, err := os.ReadFile(cacheFile); err == nil {
		if k, accel, ok := strings.Cut(strings.TrimSpace(string(b)), " => "); ok && k == key {
			return accel, nil
		}
	}
	accel := "tcg"
	start := time.Now()
	err := probeBoot(ctx, cfg)
	if err == nil {
		accel = "kvm"
		fmt.Fprintf(log, "vm: KVM proven by a boot to the agent in %s\n", time.Since(start).Round(100*time.Millisecond))
	} else {
		fmt.Fprintf(log, "vm: KVM not usable (%v); using TCG\n", err)
	}
	if err := os.MkdirAll(filepath.Dir(cacheFile), 0o755); err == nil {
		os.WriteFile(cacheFile, []byte(key+" => "+accel+"\n"), 0o644)
	}
	return accel, nil
}

func probeBoot(ctx context.Context, cfg Config) error {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	cfg.Accel = "kvm"
	cfg.Disks, cfg.Volatile = nil, nil
	cfg.Append = append(append([]string{}, cfg.Append...), guestproto.Cmdline{Probe: true}.Words()...)
	tmp, err := os.MkdirTemp("", "dioh-probe")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cfg.ConsoleLog = filepath.Join(tmp, "console.log")
	m, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	select {
	case _, ok := <-m.Agent():
		if !ok {
			return fmt.Errorf("guest ended before the agent spoke")
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no agent output within %s", ProbeTimeout)
	}
}

func cacheKey(cfg Config) string {
	qemu := cfg.Machine.QEMU
	ver := "unknown"
	if out, err := exec.Command(qemu, "--version").Output(); err == nil {
		ver, _, _ = strings.Cut(string(out), "\n")
	}
	var u unix.Utsname
	unix.Uname(&u)
	// The machine type and CPU model are part of the answer: on the
	// project machines -cpu max makes KVM abort while other models hang.
	return fmt.Sprintf("%s | -machine %s -cpu %s | host %s", ver, cfg.Machine.Type, cfg.Machine.CPU, unix.ByteSliceToString(u.Release[:]))
}
