package vm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// descriptions is where the repository keeps the machine descriptions.
const descriptions = "../../qemu"

// shippedCmdline is the kernel command line of qemu/x86_64.json: a
// panic ends QEMU, kmsg markers are never rate-limited and carry
// timestamps, a task blocked 30 s is reported with every CPU's
// backtrace, and the host's NMI panics the kernel, which then prints
// the held locks, every CPU's backtrace and the blocked tasks
// (panic_print 0x08|0x40|0x80).
const shippedCmdline = "panic=-1 printk.devkmsg=on printk.time=1 rdinit=/init " +
	"sysctl.kernel.hung_task_timeout_secs=30 sysctl.kernel.hung_task_all_cpu_backtrace=1 unknown_nmi_panic panic_print=0xc8"

func testMachine(t *testing.T) Machine {
	t.Helper()
	m, err := LoadMachine(filepath.Join(descriptions, "x86_64.json"))
	if err != nil {
		t.Fatalf("LoadMachine: %v", err)
	}
	return m
}

func TestLoadMachineRepository(t *testing.T) {
	m := testMachine(t)
	if got, want := m.KernelCmdline([]string{"dioharness.plan=/etc/dioharness/plan.json"}),
		"console=ttyS0,115200 "+shippedCmdline+" dioharness.plan=/etc/dioharness/plan.json"; got != want {
		t.Errorf("KernelCmdline = %q, want %q", got, want)
	}
	if got := m.AgentTTY(); got != "/dev/ttyS1" {
		t.Errorf("AgentTTY = %q, want /dev/ttyS1", got)
	}
	if got := m.ExitPort(); got != 0xf4 {
		t.Errorf("ExitPort = %#x, want 0xf4", got)
	}
	if _, err := os.Stat(m.KconfigPath()); err != nil {
		t.Errorf("KconfigPath: %v", err)
	}
}

// TestArgs pins the QEMU command line the description produces: the
// one the harness ran before the description existed, plus the TCG
// thread mode spelled out.
func TestArgs(t *testing.T) {
	c := Config{Machine: testMachine(t), Accel: "tcg", CPUs: 2, MemoryMiB: 2048,
		Kernel: "bzImage", Initramfs: "initrd", Disks: []string{"a.img", "b.img"}, Append: []string{"x=1"}}
	want := []string{
		"-nodefaults", "-no-reboot", "-display", "none",
		"-machine", "pc", "-accel", "tcg,thread=single", "-cpu", "max",
		"-smp", "2", "-m", "2048",
		"-kernel", "bzImage", "-initrd", "initrd",
		"-append", "console=ttyS0,115200 " + shippedCmdline + " x=1",
		"-chardev", "socket,id=console,path=CON", "-serial", "chardev:console",
		"-chardev", "socket,id=agent,path=AGENT", "-serial", "chardev:agent",
		"-qmp", "unix:QMP,server=on,wait=off",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-device", "virtio-rng-pci",
		"-drive", "file=a.img,format=raw,if=virtio,cache=unsafe,index=0",
		"-drive", "file=b.img,format=raw,if=virtio,cache=unsafe,index=1",
	}
	if d := cmp.Diff(want, c.args("CON", "AGENT", "QMP")); d != "" {
		t.Errorf("args (-want +got):\n%s", d)
	}
	c.Accel = "kvm"
	if got := c.args("CON", "AGENT", "QMP")[7]; got != "kvm" {
		t.Errorf("-accel under KVM = %q, want kvm", got)
	}
}

func TestSerialOrderIsData(t *testing.T) {
	m := testMachine(t)
	m.Serial = []string{RoleAgent, RoleConsole}
	if got := m.AgentTTY(); got != "/dev/ttyS0" {
		t.Errorf("AgentTTY with the agent first = %q, want /dev/ttyS0", got)
	}
	if got := m.KernelCmdline(nil); !strings.HasPrefix(got, "console=ttyS1,115200 ") {
		t.Errorf("KernelCmdline with the console second = %q", got)
	}
}

func TestLoadMachineErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(descriptions, "x86_64.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		old, new string // replaced in the good description
		file     string // default x86_64.json
		want     string
	}{
		{name: "cpus", old: `"cpus": 2`, new: `"cpus": 0`, want: "bad cpus 0, want [1-8]"},
		{name: "memory", old: `"memory_mib": 2048`, new: `"memory_mib": 64`, want: "bad memory_mib 64, want [256-16384]"},
		{name: "tcg thread", old: `"tcg_thread": "single"`, new: `"tcg_thread": "many"`, want: `bad tcg_thread "many", want one of multi, single`},
		{name: "serial twice", old: `["console", "agent"]`, new: `["console", "console"]`, want: `bad serial ["console" "console"]: want "console" and "agent", each once`},
		{name: "serial missing", old: `["console", "agent"]`, new: `["console"]`, want: "bad serial"},
		{name: "baud", old: `"console_baud": 115200`, new: `"console_baud": 100`, want: "bad console_baud 100, want one of [9600 19200 38400 57600 115200]"},
		{name: "exit device", old: `"device": "isa-debug-exit"`, new: `"device": "pvpanic"`, want: `bad exit device "pvpanic", want one of isa-debug-exit`},
		{name: "exit port", old: `"iobase": "0xf4"`, new: `"iobase": "0x10000"`, want: `bad exit iobase "0x10000", want [0x1-0xfffc] for iosize 4`},
		{name: "exit port text", old: `"iobase": "0xf4"`, new: `"iobase": "port"`, want: `bad exit iobase "port"`},
		{name: "exit size", old: `"iosize": 4`, new: `"iosize": 3`, want: "bad exit iosize 3, want one of [1 2 4]"},
		{name: "disks", old: `"disk_interface": "virtio"`, new: `"disk_interface": "ide"`, want: `bad disk_interface "ide", want one of virtio`},
		{name: "console in cmdline", old: `"panic=-1"`, new: `"console=ttyS0"`, want: "console= is derived from serial"},
		{name: "contract key in cmdline", old: `"panic=-1"`, new: `"dioharness.plan=/x"`, want: "belong to the host-guest contract"},
		{name: "two words", old: `"panic=-1"`, new: `"panic=-1 quiet"`, want: `bad cmdline word "panic=-1 quiet"`},
		{name: "no machine", old: `"machine": "pc"`, new: `"machine": ""`, want: `bad machine ""`},
		{name: "kconfig outside", old: `"kconfig": "x86_64.config"`, new: `"kconfig": "../kconfig/base.config"`, want: "want a fragment next to the description"},
		{name: "kconfig missing", old: `"kconfig": "x86_64.config"`, new: `"kconfig": "none.config"`, want: "bad kconfig: stat"},
		{name: "unknown field", old: `"cpus": 2`, new: `"vcpus": 2`, want: `unknown field "vcpus"`},
		{name: "arch differs from file name", file: "aarch64.json", want: `arch "x86_64", want "aarch64" (the file name)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.old != "" && !strings.Contains(string(good), tc.old) {
				t.Fatalf("the description has no %q", tc.old)
			}
			dir := t.TempDir()
			body := strings.Replace(string(good), tc.old, tc.new, 1)
			file := tc.file
			if file == "" {
				file = "x86_64.json"
			}
			if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "x86_64.config"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadMachine(filepath.Join(dir, file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadMachine = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestVolatileDisk: a volatile disk is attached with snapshot=on, the
// others as before; a volatile disk that is not attached is refused.
func TestVolatileDisk(t *testing.T) {
	c := Config{Machine: testMachine(t), Accel: "tcg", CPUs: 2, MemoryMiB: 2048,
		Kernel: "bzImage", Initramfs: "initrd", Disks: []string{"root.img", "test.img"}, Volatile: []string{"root.img"}}
	args := c.args("CON", "AGENT", "QMP")
	want := []string{
		"-drive", "file=root.img,format=raw,if=virtio,cache=unsafe,index=0,snapshot=on",
		"-drive", "file=test.img,format=raw,if=virtio,cache=unsafe,index=1",
	}
	if d := cmp.Diff(want, args[len(args)-4:]); d != "" {
		t.Errorf("drives (-want +got):\n%s", d)
	}
	dir := t.TempDir()
	for _, f := range []string{"bzImage", "initrd", "root.img"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.Kernel, c.Initramfs = filepath.Join(dir, "bzImage"), filepath.Join(dir, "initrd")
	c.Disks = []string{filepath.Join(dir, "root.img")}
	c.Volatile = []string{filepath.Join(dir, "other.img")}
	if _, err := exec.LookPath(c.Machine.QEMU); err != nil {
		t.Skipf("%s not installed", c.Machine.QEMU)
	}
	if err := c.validate(); err == nil || !strings.Contains(err.Error(), "is not one of the disks") {
		t.Errorf("validate() with a volatile disk not attached = %v", err)
	}
	c.Volatile = c.Disks
	if err := c.validate(); err != nil {
		t.Errorf("validate() = %v", err)
	}
}
