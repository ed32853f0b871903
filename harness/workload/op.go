// Package workload generates seeded random operation sequences on one
// file, in the spirit of fsx, runs them against a reference model of
// the file's content and shrinks a failing one to the shortest sequence
// that still fails.
//
// A sequence works on one file through several descriptors (O_DIRECT
// and buffered, O_DIRECT toggled with fcntl), with synchronous and
// libaio reads and writes, shared, private and read-only mappings,
// truncate, fallocate, fsync, dropped caches and an opener that is
// killed after writing. Offsets and lengths are drawn from the
// boundaries the kernel rules care about: EOF and one byte either side,
// the filesystem block, the page, the folio. After every operation the
// file is read back through a fresh buffered descriptor, a fresh O_DIRECT
// descriptor and the long-lived mapping, and each must equal the model.
// The kernel rules of harness/invariant are checked on the probe trace of
// the whole run by the caller.
package workload

import (
	"fmt"
	"strings"
)

// Kind is what an operation does.
type Kind uint8

// The operations.
const (
	// Open opens descriptor Slot (O_DIRECT when Direct), closing what
	// the slot held.
	Open Kind = iota + 1
	// Close closes descriptor Slot.
	Close
	// SetDirect sets or clears O_DIRECT on descriptor Slot (fcntl).
	SetDirect
	// Write writes [Off, Off+Len) with pattern Seed through Slot, with
	// pwrite or (AIO) one libaio write.
	Write
	// Read reads [Off, Off+Len) through Slot and checks it.
	Read
	// Truncate sets the size to Off.
	Truncate
	// Fallocate calls fallocate(Mode, Off, Len).
	Fallocate
	// MapWrite maps the file (shared, or private when Private),
	// stores pattern Seed at [Off, Off+Len) and unmaps.
	MapWrite
	// Remap (re)creates the long-lived read-only shared mapping of the
	// whole file, which every check reads.
	Remap
	// Unmap drops the long-lived mapping.
	Unmap
	// KillOpener starts a process that opens the file (O_DIRECT when
	// Direct), writes [Off, Off+Len) with Seed (through a shared
	// mapping when Private is false and Mapped is set, else pwrite)
	// and is killed with SIGKILL once it reported the write.
	KillOpener
	// Fsync fsyncs Slot.
	Fsync
	// DropCaches writes back and drops the page cache.
	DropCaches
)

var kindNames = map[Kind]string{
	Open: "open", Close: "close", SetDirect: "set-direct", Write: "write", Read: "read",
	Truncate: "truncate", Fallocate: "fallocate", MapWrite: "map-write", Remap: "remap",
	Unmap: "unmap", KillOpener: "kill-opener", Fsync: "fsync", DropCaches: "drop-caches",
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind%d", k)
}

// Fallocate modes (linux/falloc.h).
const (
	FallocKeepSize  = 0x01
	FallocPunchHole = 0x02
	FallocZeroRange = 0x10
)

// Op is one operation.
type Op struct {
	Kind     Kind
	Slot     int
	Off, Len int64
	Seed     byte
	Direct   bool
	AIO      bool
	Private  bool
	Mapped   bool
	Mode     uint32
}

// String renders an op the way a failure report lists it.
func (o Op) String() string {
	var b strings.Builder
	b.WriteString(o.Kind.String())
	switch o.Kind {
	case Open:
		fmt.Fprintf(&b, " fd%d", o.Slot)
		if o.Direct {
			b.WriteString(" O_DIRECT")
		}
	case Close, Fsync:
		fmt.Fprintf(&b, " fd%d", o.Slot)
	case SetDirect:
		fmt.Fprintf(&b, " fd%d %v", o.Slot, o.Direct)
	case Write, Read:
		fmt.Fprintf(&b, " fd%d [%d, %d) len %d", o.Slot, o.Off, o.Off+o.Len, o.Len)
		if o.AIO {
			b.WriteString(" libaio")
		}
		if o.Kind == Write {
			fmt.Fprintf(&b, " seed %d", o.Seed)
		}
	case Truncate:
		fmt.Fprintf(&b, " to %d", o.Off)
	case Fallocate:
		fmt.Fprintf(&b, " mode %s [%d, %d)", fallocName(o.Mode), o.Off, o.Off+o.Len)
	case MapWrite:
		m := "shared"
		if o.Private {
			m = "private"
		}
		fmt.Fprintf(&b, " %s [%d, %d) seed %d", m, o.Off, o.Off+o.Len, o.Seed)
	case KillOpener:
		how := "pwrite"
		if o.Mapped {
			how = "shared mapping"
		}
		d := ""
		if o.Direct {
			d = " O_DIRECT"
		}
		fmt.Fprintf(&b, "%s %s [%d, %d) seed %d", d, how, o.Off, o.Off+o.Len, o.Seed)
	}
	return b.String()
}

func fallocName(m uint32) string {
	var parts []string
	if m&FallocZeroRange != 0 {
		parts = append(parts, "ZERO_RANGE")
	}
	if m&FallocPunchHole != 0 {
		parts = append(parts, "PUNCH_HOLE")
	}
	if m&FallocKeepSize != 0 {
		parts = append(parts, "KEEP_SIZE")
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

// Format lists a sequence, one numbered op per line.
func Format(ops []Op) string {
	var b strings.Builder
	for i, o := range ops {
		fmt.Fprintf(&b, "  %3d %s\n", i+1, o)
	}
	return b.String()
}

// Pattern is the content an op with seed writes at file offset off: a
// byte that differs per seed and offset, so a misplaced or stale byte
// shows.
func Pattern(seed byte, off int64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		o := off + int64(i)
		b[i] = seed*31 + byte(o) ^ byte(o>>9) ^ 0x5a
	}
	return b
}
