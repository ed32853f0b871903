package vm

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// qmp is a QEMU Machine Protocol session on a unix socket: JSON
// commands, one reply each, asynchronous events skipped. The host uses
// it on a hung guest for what only QEMU can give: the vCPUs' registers
// and an NMI.
type qmp struct {
	conn net.Conn
	rd   *bufio.Reader
}

// dialQMP connects and leaves capabilities negotiation mode.
func dialQMP(path string, deadline time.Time) (*qmp, error) {
	c, err := net.DialTimeout("unix", path, time.Until(deadline))
	if err != nil {
		return nil, fmt.Errorf("qmp: %w", err)
	}
	c.SetDeadline(deadline)
	q := &qmp{conn: c, rd: bufio.NewReader(c)}
	// The greeting: {"QMP": {...}}.
	if _, err := q.rd.ReadBytes('\n'); err != nil {
		c.Close()
		return nil, fmt.Errorf("qmp greeting: %w", err)
	}
	if _, err := q.execute("qmp_capabilities", nil); err != nil {
		c.Close()
		return nil, err
	}
	return q, nil
}

func (q *qmp) Close() error { return q.conn.Close() }

// execute runs one command and returns its "return" value.
func (q *qmp) execute(cmd string, args any) (json.RawMessage, error) {
	req := map[string]any{"execute": cmd}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := q.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", cmd, err)
	}
	for {
		line, err := q.rd.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("qmp %s: %w", cmd, err)
		}
		var resp struct {
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Class string `json:"class"`
				Desc  string `json:"desc"`
			} `json:"error"`
			Event string `json:"event"`
		}
		if err := json.Unmarshal(line, &resp); err != nil {
			return nil, fmt.Errorf("qmp %s: %w: %s", cmd, err, line)
		}
		switch {
		case resp.Event != "":
			continue
		case resp.Error != nil:
			return nil, fmt.Errorf("qmp %s: %s: %s", cmd, resp.Error.Class, resp.Error.Desc)
		case resp.Return == nil:
			return nil, fmt.Errorf("qmp %s: no return in %s", cmd, line)
		}
		return resp.Return, nil
	}
}

// hmp runs a human monitor command ("info registers -a") and returns
// its text.
func (q *qmp) hmp(cmd string) (string, error) {
	r, err := q.execute("human-monitor-command", map[string]string{"command-line": cmd})
	if err != nil {
		return "", err
	}
	var s string
	if err := json.Unmarshal(r, &s); err != nil {
		return "", fmt.Errorf("qmp %q: %w", cmd, err)
	}
	return s, nil
}

// errNoMonitor is returned when the guest has no monitor socket.
var errNoMonitor = errors.New("the guest has no QEMU monitor")

// monitorBound bounds one monitor session: QEMU answers at once unless
// it is itself stuck.
const monitorBound = 10 * time.Second

// Registers returns QEMU's "info registers -a": every vCPU's registers,
// the instruction pointer first.
func (m *Guest) Registers() (string, error) {
	return m.withMonitor(func(q *qmp) (string, error) { return q.hmp("info registers -a") })
}

// InjectNMI delivers an NMI to every vCPU. With unknown_nmi_panic on
// the kernel command line the kernel panics, and panic_print prints what
// it holds (qemu/x86_64.json).
func (m *Guest) InjectNMI() error {
	_, err := m.withMonitor(func(q *qmp) (string, error) {
		_, err := q.execute("inject-nmi", nil)
		return "", err
	})
	return err
}

func (m *Guest) withMonitor(f func(*qmp) (string, error)) (string, error) {
	if m.qmpSock == "" {
		return "", errNoMonitor
	}
	q, err := dialQMP(m.qmpSock, time.Now().Add(monitorBound))
	if err != nil {
		return "", err
	}
	defer q.Close()
	return f(q)
}
