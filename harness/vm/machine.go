package vm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"dioharness/harness/guestproto"
)

// Machine is the machine description: everything about the virtual
// hardware that is data rather than code, read at run time from
// qemu/<arch>.json (one file per architecture; qemu/README.md documents
// every field). A Config boots a kernel on it.
type Machine struct {
	// Arch names the architecture; it must match the file name.
	Arch string `json:"arch"`
	// QEMU is the emulator binary, and QEMUPackage the Debian package
	// that provides it (named when the binary is missing).
	QEMU        string `json:"qemu"`
	QEMUPackage string `json:"qemu_package"`
	// Type is QEMU's -machine.
	Type string `json:"machine"`
	// CPU is QEMU's -cpu model.
	CPU string `json:"cpu"`
	// TCGThread is TCG's thread mode: "multi" (one host thread per
	// vCPU) or "single" (all vCPUs on one thread).
	TCGThread string `json:"tcg_thread"`
	// CPUs and MemoryMiB are the defaults a Config may override.
	CPUs      int `json:"cpus"`
	MemoryMiB int `json:"memory_mib"`
	// SerialTTY is the guest's name prefix for the -serial ports
	// ("ttyS" for the 8250 UARTs of a pc).
	SerialTTY string `json:"serial_tty"`
	// Serial assigns the -serial ports in order: each of "console"
	// (the kernel console) and "agent" (the agent's KTAP) once.
	Serial []string `json:"serial"`
	// ConsoleBaud is the console's line speed.
	ConsoleBaud int `json:"console_baud"`
	// Exit is the device that carries the agent's verdict out.
	Exit ExitDevice `json:"exit"`
	// Devices are extra -device arguments.
	Devices []string `json:"devices"`
	// DiskInterface is how Config.Disks are attached (-drive if=).
	DiskInterface string `json:"disk_interface"`
	// Kconfig is the kconfig fragment this hardware needs, relative to
	// the description's directory. The kernel build merges it before
	// kconfig/*.config.
	Kconfig string `json:"kconfig"`
	// Cmdline is the default kernel command line; the console= word
	// is derived from Serial and ConsoleBaud.
	Cmdline []string `json:"cmdline"`

	// dir is where the description was read from.
	dir string
}

// ExitDevice is QEMU's isa-debug-exit: a write of v to its port ends
// QEMU with status (v << 1) | 1 (guestproto.DecodeExit).
type ExitDevice struct {
	Device string `json:"device"`
	// IOBase is the port, as a string so it can be written in hex.
	IOBase string `json:"iobase"`
	IOSize int    `json:"iosize"`
}

// Serial roles.
const (
	RoleConsole = "console"
	RoleAgent   = "agent"
)

// Allowed values, syzkaller style: a bad value fails naming the range.
const (
	minCPUs, maxCPUs     = 1, 8
	minMemMiB, maxMemMiB = 256, 16384
)

var (
	tcgThreads     = []string{"multi", "single"}
	consoleBauds   = []int{9600, 19200, 38400, 57600, 115200}
	exitDevices    = []string{"isa-debug-exit"}
	exitSizes      = []int{1, 2, 4}
	diskInterfaces = []string{"virtio"} // the guest names disks /dev/vdX (Machine.DiskDevice)
)

// LoadMachine reads and validates a machine description.
func LoadMachine(path string) (Machine, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Machine{}, fmt.Errorf("machine description: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Machine
	if err := dec.Decode(&m); err != nil {
		return Machine{}, fmt.Errorf("machine description %s: %w", path, err)
	}
	m.dir = filepath.Dir(path)
	if want := strings.TrimSuffix(filepath.Base(path), ".json"); m.Arch != want {
		return Machine{}, fmt.Errorf("machine description %s: arch %q, want %q (the file name)", path, m.Arch, want)
	}
	if err := m.Validate(); err != nil {
		return Machine{}, fmt.Errorf("machine description %s: %w", path, err)
	}
	return m, nil
}

// Validate checks every field and names the allowed values of a bad one.
func (m Machine) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"arch", m.Arch}, {"qemu", m.QEMU}, {"qemu_package", m.QEMUPackage},
		{"machine", m.Type}, {"cpu", m.CPU}, {"serial_tty", m.SerialTTY},
	} {
		if f.v == "" || strings.ContainsAny(f.v, " \t\n") {
			return fmt.Errorf("bad %s %q: want one non-empty word", f.name, f.v)
		}
	}
	if !slices.Contains(tcgThreads, m.TCGThread) {
		return fmt.Errorf("bad tcg_thread %q, want one of %s", m.TCGThread, strings.Join(tcgThreads, ", "))
	}
	if err := checkCPUs(m.CPUs); err != nil {
		return err
	}
	if err := checkMemory(m.MemoryMiB); err != nil {
		return err
	}
	if c, a := count(m.Serial, RoleConsole), count(m.Serial, RoleAgent); c != 1 || a != 1 || len(m.Serial) != 2 {
		return fmt.Errorf("bad serial %q: want %q and %q, each once, in port order", m.Serial, RoleConsole, RoleAgent)
	}
	if !slices.Contains(consoleBauds, m.ConsoleBaud) {
		return fmt.Errorf("bad console_baud %d, want one of %v", m.ConsoleBaud, consoleBauds)
	}
	if !slices.Contains(exitDevices, m.Exit.Device) {
		return fmt.Errorf("bad exit device %q, want one of %s", m.Exit.Device, strings.Join(exitDevices, ", "))
	}
	if !slices.Contains(exitSizes, m.Exit.IOSize) {
		return fmt.Errorf("bad exit iosize %d, want one of %v", m.Exit.IOSize, exitSizes)
	}
	port, err := strconv.ParseUint(m.Exit.IOBase, 0, 32)
	if err != nil || port == 0 || port+uint64(m.Exit.IOSize) > 0x10000 {
		return fmt.Errorf("bad exit iobase %q, want [0x1-0x%x] for iosize %d", m.Exit.IOBase, 0x10000-m.Exit.IOSize, m.Exit.IOSize)
	}
	for _, d := range m.Devices {
		if d == "" || strings.ContainsAny(d, " \t\n") {
			return fmt.Errorf("bad device %q: want one -device argument without spaces", d)
		}
	}
	if !slices.Contains(diskInterfaces, m.DiskInterface) {
		return fmt.Errorf("bad disk_interface %q, want one of %s", m.DiskInterface, strings.Join(diskInterfaces, ", "))
	}
	for _, w := range m.Cmdline {
		switch {
		case w == "" || strings.ContainsAny(w, " \t\n"):
			return fmt.Errorf("bad cmdline word %q: want one word", w)
		case strings.HasPrefix(w, "console="):
			return fmt.Errorf("bad cmdline word %q: console= is derived from serial and console_baud", w)
		case guestproto.IsKey(w):
			return fmt.Errorf("bad cmdline word %q: %s* keys belong to the host-guest contract", w, guestproto.KeyPrefix)
		}
	}
	if m.Kconfig == "" || filepath.IsAbs(m.Kconfig) || strings.HasPrefix(filepath.Clean(m.Kconfig), "..") {
		return fmt.Errorf("bad kconfig %q: want a fragment next to the description", m.Kconfig)
	}
	if m.dir != "" {
		if _, err := os.Stat(m.KconfigPath()); err != nil {
			return fmt.Errorf("bad kconfig: %w", err)
		}
	}
	return nil
}

func checkCPUs(n int) error {
	if n < minCPUs || n > maxCPUs {
		return fmt.Errorf("bad cpus %d, want [%d-%d]", n, minCPUs, maxCPUs)
	}
	return nil
}

func checkMemory(mib int) error {
	if mib < minMemMiB || mib > maxMemMiB {
		return fmt.Errorf("bad memory_mib %d, want [%d-%d]", mib, minMemMiB, maxMemMiB)
	}
	return nil
}

func count(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// KconfigPath is the hardware's kconfig fragment.
func (m Machine) KconfigPath() string {
	return filepath.Join(m.dir, m.Kconfig)
}

// ExitPort is the isa-debug-exit port (validated by LoadMachine).
func (m Machine) ExitPort() uint16 {
	p, _ := strconv.ParseUint(m.Exit.IOBase, 0, 16)
	return uint16(p)
}

// serialTTY is the guest's name of the port carrying role.
func (m Machine) serialTTY(role string) string {
	return m.SerialTTY + strconv.Itoa(slices.Index(m.Serial, role))
}

// AgentTTY is the device the agent writes KTAP to, for the plan.
func (m Machine) AgentTTY() string { return "/dev/" + m.serialTTY(RoleAgent) }

// KernelCmdline is the default command line followed by extra.
func (m Machine) KernelCmdline(extra []string) string {
	w := []string{fmt.Sprintf("console=%s,%d", m.serialTTY(RoleConsole), m.ConsoleBaud)}
	w = append(append(w, m.Cmdline...), extra...)
	return strings.Join(w, " ")
}

// accelArg is the -accel value for accel ("kvm" or "tcg").
func (m Machine) accelArg(accel string) string {
	if accel == "tcg" {
		return "tcg,thread=" + m.TCGThread
	}
	return accel
}

// DiskDevice is the guest's block device of the i-th of Config.Disks:
// the machine attaches them in order on its disk interface, which the
// guest names /dev/vda, /dev/vdb, ... (virtio-blk).
func (m Machine) DiskDevice(i int) string {
	return "/dev/vd" + string(rune('a'+i))
}
