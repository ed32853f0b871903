// Command probeguest runs the probe package's tests inside a QEMU guest
// booted from a kernel image, with the test binary as /init. It is the
// developer's check that the fentry/fexit/kprobe programs load and fire on
// the target kernel (the host kernel may refuse them). The guest is the
// one the scenarios run in: the same initramfs layout, disks and harness/vm
// machine, and the test binary sets up PID 1 as the agent does
// (harness/guest/pid1).
//
//	usage: probeguest [-build DIR] [-accel kvm|tcg] [-timeout D] [-keep] BZIMAGE [go test flags...]
//	e.g.   probeguest build/kernel/v6.12/base/_obj/arch/x86/boot/bzImage -test.run=FUSE
//
// The test output streams from the agent channel; the kernel console is
// kept in DIR/probe-guest/console.log. Exit status as harness qemu-test:
// 0 tests passed, 1 a test failed or the kernel printed a report, 2 the
// guest could not be built, booted or finished, 3 bad input.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"dioharness/harness/guestproto"
	"dioharness/harness/image"
	"dioharness/harness/testrun"
	"dioharness/harness/vm"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command line.
type options struct {
	build   string
	accel   string
	timeout time.Duration
	keep    bool
	kernel  string
	// testFlags are passed to the test binary after "--" on the kernel
	// command line (the kernel hands them to /init as arguments).
	testFlags []string
}

const usage = "usage: probeguest [-build DIR] [-accel kvm|tcg] [-timeout D] [-keep] BZIMAGE [go test flags...]"

// parseArgs reads the command line. -h prints the usage to stdout and
// returns flag.ErrHelp.
func parseArgs(args []string, stdout io.Writer) (options, error) {
	fs := flag.NewFlagSet("probeguest", flag.ContinueOnError)
	// Errors are returned as one line; only -h prints the flag list.
	fs.SetOutput(io.Discard)
	var o options
	fs.StringVar(&o.build, "build", "build", "build directory (accelerator cache, console log)")
	fs.StringVar(&o.accel, "accel", os.Getenv("QEMU_ACCEL"), "kvm or tcg (default: prove KVM by a bounded boot)")
	fs.DurationVar(&o.timeout, "timeout", 20*time.Minute, "bound on build, boot and tests")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (initramfs, disks)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, usage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return o, err
		}
		return o, fmt.Errorf("%v (%s)", err, usage)
	}
	if fs.NArg() == 0 {
		return o, errors.New("missing BZIMAGE (e.g. build/kernel/v6.12/base/_obj/arch/x86/boot/bzImage)")
	}
	o.kernel, o.testFlags = fs.Arg(0), fs.Args()[1:]
	if o.accel != "" && o.accel != "kvm" && o.accel != "tcg" {
		return o, fmt.Errorf("-accel %q: want kvm or tcg", o.accel)
	}
	if o.timeout <= 0 {
		return o, fmt.Errorf("-timeout %s: want a positive duration", o.timeout)
	}
	if _, err := os.Stat(o.kernel); err != nil {
		return o, fmt.Errorf("kernel image: %w", err)
	}
	for _, f := range o.testFlags {
		if !strings.HasPrefix(f, "-test.") {
			return o, fmt.Errorf("%q: only go test flags (-test.*) follow BZIMAGE", f)
		}
	}
	return o, nil
}

// diskEnv names each disk's guest device for the tests' mountFS, which
// reads PROBE_<NAME>_DEV ("ext4-noextent" -> PROBE_EXT4_NOEXTENT_DEV).
// Words with '=' before "--" on the kernel command line reach /init as
// its environment.
func diskEnv(mach vm.Machine, disks []image.Disk) []string {
	var env []string
	for i, d := range disks {
		name := strings.ToUpper(strings.ReplaceAll(d.Name, "-", "_"))
		env = append(env, fmt.Sprintf("PROBE_%s_DEV=%s", name, mach.DiskDevice(i)))
	}
	return env
}

// cmdline is what the guest kernel gets beyond vm's defaults.
func cmdline(mach vm.Machine, disks []image.Disk, testFlags []string) []string {
	out := diskEnv(mach, disks)
	out = append(out, "--", "-test.v", "-test.count=1")
	return append(out, testFlags...)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return testrun.ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "probeguest: %v\n", err)
		return testrun.ExitBadArgs
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	infra := func(err error) int {
		fmt.Fprintf(stderr, "probeguest: %v\n", err)
		return testrun.ExitInfra
	}
	if err := os.MkdirAll(filepath.Join(o.build, "probe-guest"), 0o755); err != nil {
		return infra(err)
	}
	work, err := os.MkdirTemp(o.build, "probe-guest-run-")
	if err != nil {
		return infra(err)
	}
	if o.keep {
		fmt.Fprintf(stderr, "probeguest: work directory %s kept\n", work)
	} else {
		defer os.RemoveAll(work)
	}

	initBin := filepath.Join(work, "init")
	repo, err := buildTests(ctx, initBin)
	if err != nil {
		return infra(err)
	}
	// The tests would only find a bad flag inside the guest, where the
	// testing package exits and the kernel panics: ask the binary here.
	if out, err := exec.CommandContext(ctx, initBin, append(append([]string{}, o.testFlags...), "-test.list=^$")...).CombinedOutput(); err != nil {
		fmt.Fprintf(stderr, "probeguest: go test flags %q: %s\n", o.testFlags, firstLine(out))
		return testrun.ExitBadArgs
	}
	mach, err := vm.LoadMachine(filepath.Join(repo, "qemu", testrun.Arch+".json"))
	if err != nil {
		return infra(err)
	}
	cfg, err := prepare(ctx, o, mach, work, initBin)
	if err != nil {
		return infra(err)
	}
	accel, err := vm.ChooseAccel(ctx, o.accel, cfg, filepath.Join(o.build, "accel.cache"), stderr)
	if err != nil {
		return infra(err)
	}
	cfg.Accel = accel
	fmt.Fprintf(stderr, "probeguest: booting %s under %s\n", o.kernel, strings.ToUpper(accel))
	m, err := vm.Start(ctx, cfg)
	if err != nil {
		return infra(err)
	}
	defer m.Close()
	for line := range m.Agent() {
		fmt.Fprintln(stdout, line)
	}
	code, waitErr := m.Wait()
	fmt.Fprintf(stderr, "probeguest: kernel console in %s\n", cfg.ConsoleLog)
	reports := m.Console().Reports()
	for _, r := range reports {
		fmt.Fprintf(stderr, "probeguest: kernel report: %s\n    %s\n", r.Title, strings.Join(r.Lines, "\n    "))
	}
	switch {
	case ctx.Err() != nil:
		return infra(fmt.Errorf("guest killed: %w (bound: -timeout %s)", ctx.Err(), o.timeout))
	case waitErr != nil:
		return infra(waitErr)
	case len(reports) > 0:
		return testrun.ExitFailed
	case code == 0:
		return testrun.ExitOK
	case code == 1:
		return testrun.ExitFailed
	}
	return infra(fmt.Errorf("test init ended with status %d", code))
}

// prepare makes the guest's inputs in work: a private copy of the kernel
// (a build may replace it meanwhile), the initramfs with a plan that
// names the machine's agent channel and exit port (no scenarios: the
// test binary runs the tests), and fresh disks.
func prepare(ctx context.Context, o options, mach vm.Machine, work, initBin string) (vm.Config, error) {
	kernel := filepath.Join(work, "bzImage")
	if err := copyFile(o.kernel, kernel); err != nil {
		return vm.Config{}, err
	}
	initrd := filepath.Join(work, "initramfs.cpio.gz")
	entries := []image.Entry{{Path: "init", Source: initBin, Mode: 0o755}}
	for _, d := range []string{"dev", "proc", "sys", "tmp", "run"} {
		entries = append(entries, image.Entry{Path: d, Dir: true, Mode: 0o755})
	}
	plan, err := guestproto.Wiring{AgentTTY: mach.AgentTTY(), ExitPort: mach.ExitPort()}.Encode()
	if err != nil {
		return vm.Config{}, err
	}
	entries = append(entries, image.Entry{Path: guestproto.PlanPath, Data: plan, Mode: 0o644})
	f, err := os.Create(initrd)
	if err != nil {
		return vm.Config{}, err
	}
	if err := image.WriteInitramfs(f, entries); err != nil {
		f.Close()
		return vm.Config{}, fmt.Errorf("initramfs: %w", err)
	}
	if err := f.Close(); err != nil {
		return vm.Config{}, err
	}
	disks, err := image.Make(ctx, work)
	if err != nil {
		return vm.Config{}, err
	}
	return vm.Config{
		Machine:    mach,
		Kernel:     kernel,
		Initramfs:  initrd,
		Disks:      disks,
		ConsoleLog: filepath.Join(o.build, "probe-guest", "console.log"),
		Append:     append(guestproto.Cmdline{Plan: guestproto.PlanPath}.Words(), cmdline(mach, image.Disks, o.testFlags)...),
	}, nil
}

// buildTests compiles the probe package's tests as a static binary and
// returns the module's root.
func buildTests(ctx context.Context, out string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return "", fmt.Errorf("run probeguest inside the dioharness module (go env GOMOD: %q, %v)", strings.TrimSpace(string(gomod)), err)
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-trimpath", "-o", out, "./harness/probe")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the probe tests: %w: %s", err, b)
	}
	return cmd.Dir, nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("kernel image: %w", err)
	}
	return os.WriteFile(dst, b, 0o644)
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}
