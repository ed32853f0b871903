// Package remote controls a fuse.Server from another process over a unix
// socket, with net/rpc and the JSON codec from the standard library.
//
// Scenario code runs in a different process from the server because a
// process that page-faults on an mmap of a file served by itself deadlocks.
// The server side calls Serve; the scenario side Dials and uses Client,
// whose methods mirror the fuse.Server control methods.
package remote

import (
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"sync"
	"time"

	"dioharness/harness/fuse"
)

// serviceName is the net/rpc service name; methods are "Fuse.<Method>".
const serviceName = "Fuse"

// Empty is the argument or reply of calls that carry none.
type Empty struct{}

// RulesArgs replaces the open rules.
type RulesArgs struct{ Rules []fuse.OpenRule }

// WaitArgs asks to wait until a gate holds N requests.
type WaitArgs struct {
	Name    string
	N       int
	Timeout time.Duration
}

// WaitReply reports the number held and whether the wait timed out
// (timeouts are a result, not an RPC error, so the count survives).
type WaitReply struct {
	Held     int
	TimedOut bool
}

// ReleaseArgs releases N held requests (N < 0: all).
type ReleaseArgs struct {
	Name string
	N    int
}

// PathArgs names a file in the mount.
type PathArgs struct{ Path string }

// WriteArgs sets a file's content.
type WriteArgs struct {
	Path string
	Data []byte
}

// WaitCountArgs waits for N requests of an opcode.
type WaitCountArgs struct {
	Op      fuse.Opcode
	N       uint64
	Timeout time.Duration
}

// InfoReply describes the mount.
type InfoReply struct {
	Mountpoint   string
	ConnectionID uint32
	Init         fuse.InitInfo
}

// Service is the RPC receiver wrapping a server. Its methods follow the
// net/rpc convention; use Client rather than calling them directly.
type Service struct{ s *fuse.Server }

// Info returns the mountpoint, connection and INIT result.
func (v *Service) Info(_ Empty, r *InfoReply) error {
	*r = InfoReply{Mountpoint: v.s.Mountpoint(), ConnectionID: v.s.ConnectionID(), Init: v.s.Init()}
	return nil
}

// SetRules replaces the open rules.
func (v *Service) SetRules(a RulesArgs, _ *Empty) error { return v.s.SetRules(a.Rules) }

// AddRule appends an open rule.
func (v *Service) AddRule(a fuse.OpenRule, _ *Empty) error { return v.s.AddRule(a) }

// Rules returns the open rules.
func (v *Service) Rules(_ Empty, r *[]fuse.OpenRule) error { *r = v.s.Rules(); return nil }

// SetFault adds or replaces a fault.
func (v *Service) SetFault(a fuse.Fault, _ *Empty) error { return v.s.SetFault(a) }

// ClearFaults removes all faults.
func (v *Service) ClearFaults(_ Empty, _ *Empty) error { v.s.ClearFaults(); return nil }

// ArmGate arms a gate.
func (v *Service) ArmGate(a fuse.GateSpec, _ *Empty) error { return v.s.ArmGateSpec(a) }

// WaitHeld waits until a gate holds N requests.
func (v *Service) WaitHeld(a WaitArgs, r *WaitReply) error {
	held, err := v.s.WaitHeld(a.Name, a.N, a.Timeout)
	r.Held = held
	if errors.Is(err, fuse.ErrWaitTimeout) {
		r.TimedOut = true
		return nil
	}
	return err
}

// Release releases held requests.
func (v *Service) Release(a ReleaseArgs, r *int) error {
	n, err := v.s.Release(a.Name, a.N)
	*r = n
	return err
}

// DisarmGate releases and removes a gate.
func (v *Service) DisarmGate(a PathArgs, r *int) error {
	n, err := v.s.DisarmGate(a.Path)
	*r = n
	return err
}

// Stats returns the counters.
func (v *Service) Stats(_ Empty, r *fuse.Stats) error { *r = v.s.Stats(); return nil }

// WaitCount waits for N requests of an opcode.
func (v *Service) WaitCount(a WaitCountArgs, r *fuse.Stats) error {
	st, err := v.s.WaitCount(a.Op, a.N, a.Timeout)
	*r = st
	return err
}

// Log returns the request log.
func (v *Service) Log(_ Empty, r *[]fuse.Record) error { *r = v.s.Log(); return nil }

// Pending returns the requests not answered yet.
func (v *Service) Pending(_ Empty, r *[]fuse.Record) error { *r = v.s.Pending(); return nil }

// ResetStats clears the counters and the log.
func (v *Service) ResetStats(_ Empty, _ *Empty) error { v.s.ResetStats(); return nil }

// FileContent returns a file's bytes.
func (v *Service) FileContent(a PathArgs, r *[]byte) error {
	b, err := v.s.FileContent(a.Path)
	*r = b
	return err
}

// WriteFile sets a file's content.
func (v *Service) WriteFile(a WriteArgs, _ *Empty) error { return v.s.WriteFile(a.Path, a.Data) }

// CreateFile creates a file from a spec.
func (v *Service) CreateFile(a fuse.FileSpec, _ *Empty) error { return v.s.CreateFile(a) }

// Mkdir creates a directory.
func (v *Service) Mkdir(a PathArgs, _ *Empty) error { return v.s.Mkdir(a.Path) }

// NodeID returns the node ID of a path.
func (v *Service) NodeID(a PathArgs, r *uint64) error {
	id, err := v.s.NodeID(a.Path)
	*r = id
	return err
}

// Abort aborts the connection.
func (v *Service) Abort(_ Empty, _ *Empty) error { return v.s.Abort() }

// Serve answers control calls for s on every connection accepted from ln
// until ln is closed. It then closes the connections it accepted and
// returns once their goroutines have exited; the return value is nil after
// ln.Close.
func Serve(ln net.Listener, s *fuse.Server) error {
	srv := rpc.NewServer()
	if err := srv.RegisterName(serviceName, &Service{s: s}); err != nil {
		return fmt.Errorf("register rpc service: %w", err)
	}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	defer func() {
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept control connection: %w", err)
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.ServeCodec(jsonrpc.NewServerCodec(c))
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		}()
	}
}
