// Package vm boots a kernel in QEMU with the guest agent as /init and
// hands the host two line streams: the kernel console (ttyS0), kept in
// full and scanned for kernel reports, and the agent channel (ttyS1),
// which carries KTAP. It proves an accelerator works before using it.
package vm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Config describes one guest.
type Config struct {
	// QEMU is the emulator binary; default "qemu-system-x86_64".
	QEMU string
	// Kernel is the bzImage to boot.
	Kernel string
	// Initramfs is the gzip cpio holding the agent as /init.
	Initramfs string
	// Disks are raw images attached as virtio-blk, /dev/vda first.
	Disks []string
	// MemoryMiB is the guest memory; default 2048, range [256, 16384].
	MemoryMiB int
	// CPUs is the guest CPU count; default 2, range [1, 8].
	CPUs int
	// Accel is "kvm" or "tcg"; Choose picks it by proof.
	Accel string
	// Append is added to the kernel command line.
	Append []string
	// ConsoleLog receives everything the kernel console printed.
	ConsoleLog string
}

// defaultCmdline turns the guest into a test box: the console on ttyS0,
// an oops ends the run at once (PANIC_ON_OOPS plus panic=-1 and
// -no-reboot), and agent messages to /dev/kmsg are never rate-limited.
// panic_on_warn stays off on purpose: a WARN is reported and fails the
// run, but the remaining scenarios still run and report.
var defaultCmdline = []string{"console=ttyS0,115200", "panic=-1", "printk.devkmsg=on", "rdinit=/init"}

func (c *Config) validate() error {
	if c.QEMU == "" {
		c.QEMU = "qemu-system-x86_64"
	}
	if c.MemoryMiB == 0 {
		c.MemoryMiB = 2048
	}
	if c.CPUs == 0 {
		c.CPUs = 2
	}
	if c.MemoryMiB < 256 || c.MemoryMiB > 16384 {
		return fmt.Errorf("bad guest memory: %d MiB, want [256-16384]", c.MemoryMiB)
	}
	if c.CPUs < 1 || c.CPUs > 8 {
		return fmt.Errorf("bad guest CPUs: %d, want [1-8]", c.CPUs)
	}
	if c.Accel != "kvm" && c.Accel != "tcg" {
		return fmt.Errorf("bad accelerator %q, want kvm or tcg", c.Accel)
	}
	if _, err := exec.LookPath(c.QEMU); err != nil {
		return fmt.Errorf("%s not found: install Debian package qemu-system-x86 (make deps)", c.QEMU)
	}
	for _, f := range append([]string{c.Kernel, c.Initramfs}, c.Disks...) {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("guest input: %w", err)
		}
	}
	return nil
}

// accelArg is the -accel value. TCG runs all vCPUs in one host thread
// (thread=single) because QEMU 7.2's multi-threaded TCG does not keep a
// vCPU's translated code coherent with another vCPU's writes: after the
// kernel patched a jump label or a BPF trampoline with its INT3 protocol
// (text_poke, sync IPIs, INT3 removed), a vCPU could still run a block
// translated from the INT3 and die with "Oops: int3". Real x86 CPUs and
// round-robin TCG never do that; the guest keeps its 2 CPUs either way.
func (c *Config) accelArg() string {
	if c.Accel == "tcg" && c.CPUs > 1 {
		return "tcg,thread=single"
	}
	return c.Accel
}

func (c *Config) args(conSock, agentSock string) []string {
	a := []string{
		"-nodefaults", "-no-reboot", "-display", "none",
		"-machine", "pc", "-accel", c.accelArg(), "-cpu", "max",
		"-smp", strconv.Itoa(c.CPUs), "-m", strconv.Itoa(c.MemoryMiB),
		"-kernel", c.Kernel, "-initrd", c.Initramfs,
		"-append", strings.Join(append(append([]string{}, defaultCmdline...), c.Append...), " "),
		"-chardev", "socket,id=con,path=" + conSock, "-serial", "chardev:con",
		"-chardev", "socket,id=agent,path=" + agentSock, "-serial", "chardev:agent",
		// The agent writes its verdict to port 0xf4; QEMU exits with
		// (value << 1) | 1.
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-device", "virtio-rng-pci",
	}
	for i, d := range c.Disks {
		a = append(a, "-drive", fmt.Sprintf("file=%s,format=raw,if=virtio,cache=unsafe,index=%d", d, i))
	}
	return a
}

// Machine is a running guest. Close is safe at any point.
type Machine struct {
	cmd     *exec.Cmd
	tmp     string
	agent   chan string
	console *Console
	exited  chan struct{}
	exitErr error
	stderr  *tailBuffer
	once    sync.Once
	wg      sync.WaitGroup
}

// Start boots the guest. The returned Machine streams agent lines on
// Agent() until the guest ends.
func Start(ctx context.Context, c Config) (*Machine, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	// Unix socket paths are limited to 108 bytes: keep them short.
	tmp, err := os.MkdirTemp("", "dioh-vm")
	if err != nil {
		return nil, err
	}
	m := &Machine{tmp: tmp, agent: make(chan string, 256), exited: make(chan struct{}), stderr: &tailBuffer{max: 4096}}
	conSock, agentSock := filepath.Join(tmp, "con"), filepath.Join(tmp, "agent")
	conL, err := net.Listen("unix", conSock)
	if err != nil {
		m.Close()
		return nil, err
	}
	agentL, err := net.Listen("unix", agentSock)
	if err != nil {
		conL.Close()
		m.Close()
		return nil, err
	}
	logf, err := os.Create(c.ConsoleLog)
	if err != nil {
		conL.Close()
		agentL.Close()
		m.Close()
		return nil, fmt.Errorf("console log: %w", err)
	}
	m.console = newConsole(logf)
	m.cmd = exec.CommandContext(ctx, c.QEMU, c.args(conSock, agentSock)...)
	m.cmd.Stdout = m.stderr
	m.cmd.Stderr = m.stderr
	if err := m.cmd.Start(); err != nil {
		conL.Close()
		agentL.Close()
		logf.Close()
		m.Close()
		return nil, fmt.Errorf("start %s: %w", c.QEMU, err)
	}
	go func() {
		m.exitErr = m.cmd.Wait()
		conL.Close()
		agentL.Close()
		close(m.exited)
	}()
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		defer logf.Close()
		conn, err := conL.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		m.console.consume(conn)
	}()
	go func() {
		defer m.wg.Done()
		defer close(m.agent)
		conn, err := agentL.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		sc := bufio.NewScanner(conn)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			m.agent <- strings.TrimRight(sc.Text(), "\r")
		}
	}()
	return m, nil
}

// Agent streams the agent channel line by line; it is closed when the
// guest ends.
func (m *Machine) Agent() <-chan string { return m.agent }

// Console is the kernel console of this guest.
func (m *Machine) Console() *Console { return m.console }

// Exited is closed when QEMU has exited.
func (m *Machine) Exited() <-chan struct{} { return m.exited }

// Kill stops QEMU at once; used on timeouts.
func (m *Machine) Kill() {
	if m.cmd != nil && m.cmd.Process != nil {
		m.cmd.Process.Kill()
	}
}

// Wait returns the agent's verdict as carried by isa-debug-exit: 0 when
// the agent reported success, 1 when it reported failure, or an error
// when QEMU ended any other way (reboot after a panic, killed, crashed).
func (m *Machine) Wait() (int, error) {
	<-m.exited
	m.wg.Wait()
	var ee *exec.ExitError
	switch {
	case m.exitErr == nil:
		return -1, errors.New("guest rebooted or powered off without reporting a verdict (kernel panic?)")
	case errors.As(m.exitErr, &ee) && ee.Exited() && ee.ExitCode()&1 == 1:
		return ee.ExitCode() >> 1, nil
	default:
		return -1, fmt.Errorf("qemu: %w: %s", m.exitErr, strings.TrimSpace(m.stderr.String()))
	}
}

// Close kills the guest if it still runs and removes its sockets.
func (m *Machine) Close() error {
	m.once.Do(func() {
		if m.cmd != nil && m.cmd.Process != nil {
			m.Kill()
			<-m.exited
			m.wg.Wait()
		}
		os.RemoveAll(m.tmp)
	})
	return nil
}

// tailBuffer keeps the last max bytes written: QEMU's own messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

var _ io.Writer = (*tailBuffer)(nil)
