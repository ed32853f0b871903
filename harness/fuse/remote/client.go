package remote

import (
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"strings"
	"time"

	"dioharness/harness/fuse"
)

// Client is the typed control client. It is safe for concurrent use: a
// WaitHeld in one goroutine does not block calls from another.
type Client struct {
	rc *rpc.Client
}

// Dial connects to the control socket of a server.
func Dial(socketPath string) (*Client, error) {
	c, err := net.Dial("unix", socketPath)
	if err != nil {
		return nil, fmt.Errorf("dial fuse control %s: %w", socketPath, err)
	}
	return &Client{rc: jsonrpc.NewClient(c)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.rc.Close() }

// sentinels are errors whose identity survives the RPC (net/rpc only
// carries the message), so errors.Is works on the client side.
var sentinels = []error{fuse.ErrWaitTimeout, fuse.ErrNoGate, fuse.ErrNotMounted}

func (c *Client) call(method string, args, reply any) error {
	err := c.rc.Call(serviceName+"."+method, args, reply)
	if err == nil {
		return nil
	}
	var se rpc.ServerError
	if errors.As(err, &se) {
		for _, s := range sentinels {
			if strings.Contains(string(se), s.Error()) {
				return fmt.Errorf("fuse control %s: %s: %w", method, string(se), s)
			}
		}
	}
	return fmt.Errorf("fuse control %s: %w", method, err)
}

// Info returns the mountpoint, the connection number and the INIT result.
func (c *Client) Info() (InfoReply, error) {
	var r InfoReply
	err := c.call("Info", Empty{}, &r)
	return r, err
}

// SetRules replaces the open rules.
func (c *Client) SetRules(rules ...fuse.OpenRule) error {
	return c.call("SetRules", RulesArgs{Rules: rules}, &Empty{})
}

// AddRule appends an open rule.
func (c *Client) AddRule(rule fuse.OpenRule) error { return c.call("AddRule", rule, &Empty{}) }

// Rules returns the open rules.
func (c *Client) Rules() ([]fuse.OpenRule, error) {
	var r []fuse.OpenRule
	err := c.call("Rules", Empty{}, &r)
	return r, err
}

// SetFault adds a fault (replacing one with the same non-empty name).
func (c *Client) SetFault(f fuse.Fault) error { return c.call("SetFault", f, &Empty{}) }

// ClearFaults removes all faults.
func (c *Client) ClearFaults() error { return c.call("ClearFaults", Empty{}, &Empty{}) }

// ArmGate arms a gate holding requests with opcode op on paths matching glob.
func (c *Client) ArmGate(name string, op fuse.Opcode, glob string) error {
	return c.ArmGateSpec(fuse.GateSpec{Name: name, Match: fuse.Match{Op: op, Glob: glob}})
}

// ArmGateSpec arms a gate with Skip/Count control.
func (c *Client) ArmGateSpec(spec fuse.GateSpec) error { return c.call("ArmGate", spec, &Empty{}) }

// WaitHeld waits until gate name holds n requests. On timeout it returns
// the number held and an error wrapping fuse.ErrWaitTimeout.
func (c *Client) WaitHeld(name string, n int, timeout time.Duration) (int, error) {
	var r WaitReply
	if err := c.call("WaitHeld", WaitArgs{Name: name, N: n, Timeout: timeout}, &r); err != nil {
		return r.Held, err
	}
	if r.TimedOut {
		return r.Held, fmt.Errorf("gate %q holds %d of %d after %v: %w", name, r.Held, n, timeout, fuse.ErrWaitTimeout)
	}
	return r.Held, nil
}

// Release lets n held requests go (oldest first) and returns how many.
func (c *Client) Release(name string, n int) (int, error) {
	var r int
	err := c.call("Release", ReleaseArgs{Name: name, N: n}, &r)
	return r, err
}

// ReleaseAll lets every held request go; the gate stays armed.
func (c *Client) ReleaseAll(name string) (int, error) { return c.Release(name, -1) }

// DisarmGate releases everything held and removes the gate.
func (c *Client) DisarmGate(name string) (int, error) {
	var r int
	err := c.call("DisarmGate", PathArgs{Path: name}, &r)
	return r, err
}

// Stats returns per-opcode counts, in-flight maxima and gate states.
func (c *Client) Stats() (fuse.Stats, error) {
	var r fuse.Stats
	err := c.call("Stats", Empty{}, &r)
	return r, err
}

// WaitCount waits until n requests with opcode op were received.
func (c *Client) WaitCount(op fuse.Opcode, n uint64, timeout time.Duration) (fuse.Stats, error) {
	var r fuse.Stats
	err := c.call("WaitCount", WaitCountArgs{Op: op, N: n, Timeout: timeout}, &r)
	return r, err
}

// Log returns the request log.
func (c *Client) Log() ([]fuse.Record, error) {
	var r []fuse.Record
	err := c.call("Log", Empty{}, &r)
	return r, err
}

// Pending returns the requests the server has not answered, oldest
// first.
func (c *Client) Pending() ([]fuse.Record, error) {
	var r []fuse.Record
	err := c.call("Pending", Empty{}, &r)
	return r, err
}

// ResetStats clears counts, maxima and the log.
func (c *Client) ResetStats() error { return c.call("ResetStats", Empty{}, &Empty{}) }

// FileContent returns a file's bytes as the server holds them.
func (c *Client) FileContent(path string) ([]byte, error) {
	var r []byte
	err := c.call("FileContent", PathArgs{Path: path}, &r)
	return r, err
}

// WriteFile sets a file's content server side.
func (c *Client) WriteFile(path string, data []byte) error {
	return c.call("WriteFile", WriteArgs{Path: path, Data: data}, &Empty{})
}

// CreateFile creates a file of spec.Size bytes starting with spec.Data.
func (c *Client) CreateFile(spec fuse.FileSpec) error { return c.call("CreateFile", spec, &Empty{}) }

// Mkdir creates a directory (and parents) server side.
func (c *Client) Mkdir(path string) error { return c.call("Mkdir", PathArgs{Path: path}, &Empty{}) }

// NodeID returns the node ID of a path.
func (c *Client) NodeID(path string) (uint64, error) {
	var r uint64
	err := c.call("NodeID", PathArgs{Path: path}, &r)
	return r, err
}

// Abort aborts the FUSE connection.
func (c *Client) Abort() error { return c.call("Abort", Empty{}, &Empty{}) }
