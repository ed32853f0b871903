// Package vm boots a kernel in QEMU on a machine described as data
// (qemu/<arch>.json, see Machine) and hands the host two line streams:
// the kernel console, kept in full and scanned for kernel reports, and
// the agent channel, which carries KTAP. The description assigns the
// two to serial ports. It proves an accelerator works before using it.
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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"dioharness/harness/guestproto"
)

// Config describes one guest: a kernel, its initramfs and disks, booted
// on a Machine. It is all a caller needs to boot something under QEMU;
// the harness's own runs and any second caller (a test binary as /init)
// use it alike:
//
//	m, _ := vm.LoadMachine("qemu/x86_64.json")
//	g, err := vm.Start(ctx, vm.Config{Machine: m, Accel: "tcg",
//		Kernel: bzImage, Initramfs: initrd, Disks: imgs,
//		ConsoleLog: "console.log", Echo: os.Stdout})
//	...
//	v, err := g.Wait() // what the guest wrote to the exit port
//	g.Close()
type Config struct {
	// Machine is the virtual hardware (qemu/<arch>.json).
	Machine Machine
	// Kernel is the kernel image to boot.
	Kernel string
	// Initramfs is the initramfs (one or several concatenated cpio
	// archives); its /init is the guest's first process.
	Initramfs string
	// Disks are raw images attached in order on the machine's disk
	// interface: /dev/vda first.
	Disks []string
	// Volatile lists those of Disks whose guest writes QEMU keeps in a
	// temporary overlay and drops at exit (-drive snapshot=on): a cached
	// image that many guests boot read-write stays as it was built.
	Volatile []string
	// CPUs and MemoryMiB override the machine's defaults when non-zero.
	CPUs      int
	MemoryMiB int
	// Accel is "kvm" or "tcg"; ChooseAccel picks it by proof.
	Accel string
	// Append is added to the machine's kernel command line.
	Append []string
	// ConsoleLog receives everything the kernel console printed.
	ConsoleLog string
	// Echo, if set, also receives every console line as it arrives.
	Echo io.Writer
}

func (c *Config) validate() error {
	if err := c.Machine.Validate(); err != nil {
		return fmt.Errorf("machine: %w", err)
	}
	if c.CPUs == 0 {
		c.CPUs = c.Machine.CPUs
	}
	if c.MemoryMiB == 0 {
		c.MemoryMiB = c.Machine.MemoryMiB
	}
	if err := checkCPUs(c.CPUs); err != nil {
		return err
	}
	if err := checkMemory(c.MemoryMiB); err != nil {
		return err
	}
	if err := CheckAccel(c.Accel); err != nil {
		return err
	}
	if _, err := exec.LookPath(c.Machine.QEMU); err != nil {
		return fmt.Errorf("%s not found: install Debian package %s (make deps)", c.Machine.QEMU, c.Machine.QEMUPackage)
	}
	for _, f := range append([]string{c.Kernel, c.Initramfs}, c.Disks...) {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("guest input: %w", err)
		}
	}
	for _, v := range c.Volatile {
		if !slices.Contains(c.Disks, v) {
			return fmt.Errorf("volatile disk %s is not one of the disks", v)
		}
	}
	return nil
}

// CheckAccel accepts the accelerators a Config can boot with on this
// host: tcg, or kvm when /dev/kvm can be opened.
func CheckAccel(accel string) error { return checkAccel(accel, devKVM) }

// devKVM is the device KVM guests need.
const devKVM = "/dev/kvm"

func checkAccel(accel, kvm string) error {
	switch accel {
	case "tcg":
		return nil
	case "kvm":
		f, err := os.OpenFile(kvm, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("kvm cannot work on this host: %w; use tcg, or leave the accelerator empty to prove KVM by a bounded boot", err)
		}
		f.Close()
		return nil
	}
	return fmt.Errorf("bad accelerator %q, want kvm or tcg", accel)
}

func (c *Config) args(conSock, agentSock, qmpSock string) []string {
	m := c.Machine
	a := []string{
		"-nodefaults", "-no-reboot", "-display", "none",
		"-machine", m.Type, "-accel", m.accelArg(c.Accel), "-cpu", m.CPU,
		"-smp", strconv.Itoa(c.CPUs), "-m", strconv.Itoa(c.MemoryMiB),
		"-kernel", c.Kernel, "-initrd", c.Initramfs,
		"-append", m.KernelCmdline(c.Append),
	}
	// The serial ports in the order the description assigns them.
	for _, role := range m.Serial {
		sock := conSock
		if role == RoleAgent {
			sock = agentSock
		}
		a = append(a, "-chardev", "socket,id="+role+",path="+sock, "-serial", "chardev:"+role)
	}
	// The monitor: the vCPUs' registers and an NMI for a hung guest.
	a = append(a, "-qmp", "unix:"+qmpSock+",server=on,wait=off")
	a = append(a, "-device", fmt.Sprintf("%s,iobase=%s,iosize=0x%02x", m.Exit.Device, m.Exit.IOBase, m.Exit.IOSize))
	for _, d := range m.Devices {
		a = append(a, "-device", d)
	}
	for i, d := range c.Disks {
		drive := fmt.Sprintf("file=%s,format=raw,if=%s,cache=unsafe,index=%d", d, m.DiskInterface, i)
		if slices.Contains(c.Volatile, d) {
			drive += ",snapshot=on"
		}
		a = append(a, "-drive", drive)
	}
	return a
}

// Guest is a running guest. Close is safe at any point, also after a
// failed Start.
type Guest struct {
	cmd     *exec.Cmd
	tmp     string
	agent   chan string
	console *Console
	exited  chan struct{}
	exitErr error
	// spoke: the guest wrote a line on the agent port.
	spoke  atomic.Bool
	stderr *tailBuffer
	once   sync.Once
	wg     sync.WaitGroup
	// qmpSock is QEMU's monitor (QMP) socket.
	qmpSock string
	// agentConn is the agent port's connection once QEMU connected
	// it: the host writes the dump request there.
	mu        sync.Mutex
	agentConn net.Conn
}

// Start boots the guest. The returned Guest streams agent lines on
// Agent() until the guest ends.
func Start(ctx context.Context, c Config) (*Guest, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	// Unix socket paths are limited to 108 bytes: keep them short.
	tmp, err := os.MkdirTemp("", "dioh-vm")
	if err != nil {
		return nil, err
	}
	m := &Guest{tmp: tmp, agent: make(chan string, 256), exited: make(chan struct{}), stderr: &tailBuffer{max: 4096}}
	conSock, agentSock := filepath.Join(tmp, "con"), filepath.Join(tmp, "agent")
	m.qmpSock = filepath.Join(tmp, "qmp")
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
	m.console = newConsole(logf, c.Echo)
	m.cmd = exec.CommandContext(ctx, c.Machine.QEMU, c.args(conSock, agentSock, m.qmpSock)...)
	m.cmd.Stdout = m.stderr
	m.cmd.Stderr = m.stderr
	if err := m.cmd.Start(); err != nil {
		conL.Close()
		agentL.Close()
		logf.Close()
		m.Close()
		return nil, fmt.Errorf("start %s: %w", c.Machine.QEMU, err)
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
		m.mu.Lock()
		m.agentConn = conn
		m.mu.Unlock()
		sc := bufio.NewScanner(conn)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			m.spoke.Store(true)
			m.agent <- strings.TrimRight(sc.Text(), "\r")
		}
	}()
	return m, nil
}

// Agent streams the agent channel line by line; it is closed when the
// guest ends.
func (m *Guest) Agent() <-chan string { return m.agent }

// Console is the kernel console of this guest.
func (m *Guest) Console() *Console { return m.console }

// Exited is closed when QEMU has exited.
func (m *Guest) Exited() <-chan struct{} { return m.exited }

// SendAgent writes one line to the guest on the agent port.
func (m *Guest) SendAgent(line string) error {
	m.mu.Lock()
	c := m.agentConn
	m.mu.Unlock()
	if c == nil {
		return errors.New("the agent port is not connected")
	}
	c.SetWriteDeadline(time.Now().Add(monitorBound))
	_, err := io.WriteString(c, line+"\n")
	return err
}

// Kill stops QEMU at once; used on timeouts.
func (m *Guest) Kill() {
	if m.cmd != nil && m.cmd.Process != nil {
		m.cmd.Process.Kill()
	}
}

// Wait returns what the guest wrote to the exit port (the agent's
// verdict), or an error when QEMU ended any other way (a reboot after a
// panic, killed, crashed).
func (m *Guest) Wait() (guestproto.Verdict, error) {
	<-m.exited
	m.wg.Wait()
	var ee *exec.ExitError
	switch {
	case m.exitErr == nil:
		return 0, errors.New("guest rebooted or powered off without reporting a verdict (kernel panic?)")
	case errors.As(m.exitErr, &ee) && ee.Exited():
		v, ok := guestproto.DecodeExit(ee.ExitCode())
		switch {
		case ok && v == guestproto.VerdictOK && !m.spoke.Load():
			// Status 1 is also QEMU's own failure (a bad option, an
			// accelerator it cannot open): a guest that never wrote a
			// line did not write its verdict either.
			return 0, fmt.Errorf("qemu exited with status 1 before the guest wrote a line: %s", qemuError(m.stderr.String()))
		case ok:
			return v, nil
		}
	}
	return 0, fmt.Errorf("qemu: %w: %s", m.exitErr, qemuError(m.stderr.String()))
}

// qemuError is QEMU's stderr on one line, or says it printed nothing.
func qemuError(stderr string) string {
	s := strings.Join(strings.Fields(stderr), " ")
	if s == "" {
		return "(QEMU printed nothing on stderr)"
	}
	return s
}

// Close kills the guest if it still runs and removes its sockets.
func (m *Guest) Close() error {
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
