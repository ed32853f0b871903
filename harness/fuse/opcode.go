package fuse

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Opcode is a FUSE request opcode (enum fuse_opcode). The zero value means
// "any opcode" in rules. It marshals to JSON as its name ("WRITE") and
// unmarshals from a name or a number.
type Opcode uint32

// Opcodes of enum fuse_opcode.
const (
	OpAny           Opcode = 0
	OpLookup        Opcode = 1
	OpForget        Opcode = 2
	OpGetattr       Opcode = 3
	OpSetattr       Opcode = 4
	OpReadlink      Opcode = 5
	OpSymlink       Opcode = 6
	OpMknod         Opcode = 8
	OpMkdir         Opcode = 9
	OpUnlink        Opcode = 10
	OpRmdir         Opcode = 11
	OpRename        Opcode = 12
	OpLink          Opcode = 13
	OpOpen          Opcode = 14
	OpRead          Opcode = 15
	OpWrite         Opcode = 16
	OpStatfs        Opcode = 17
	OpRelease       Opcode = 18
	OpFsync         Opcode = 20
	OpSetxattr      Opcode = 21
	OpGetxattr      Opcode = 22
	OpListxattr     Opcode = 23
	OpRemovexattr   Opcode = 24
	OpFlush         Opcode = 25
	OpInit          Opcode = 26
	OpOpendir       Opcode = 27
	OpReaddir       Opcode = 28
	OpReleasedir    Opcode = 29
	OpFsyncdir      Opcode = 30
	OpGetlk         Opcode = 31
	OpSetlk         Opcode = 32
	OpSetlkw        Opcode = 33
	OpAccess        Opcode = 34
	OpCreate        Opcode = 35
	OpInterrupt     Opcode = 36
	OpBmap          Opcode = 37
	OpDestroy       Opcode = 38
	OpIoctl         Opcode = 39
	OpPoll          Opcode = 40
	OpNotifyReply   Opcode = 41
	OpBatchForget   Opcode = 42
	OpFallocate     Opcode = 43
	OpReaddirplus   Opcode = 44
	OpRename2       Opcode = 45
	OpLseek         Opcode = 46
	OpCopyFileRange Opcode = 47
	OpSetupmapping  Opcode = 48
	OpRemovemapping Opcode = 49
	OpSyncfs        Opcode = 50
	OpTmpfile       Opcode = 51
	OpStatx         Opcode = 52
	OpCuseInit      Opcode = 4096
)

var opNames = map[Opcode]string{
	OpAny: "ANY", OpLookup: "LOOKUP", OpForget: "FORGET", OpGetattr: "GETATTR",
	OpSetattr: "SETATTR", OpReadlink: "READLINK", OpSymlink: "SYMLINK",
	OpMknod: "MKNOD", OpMkdir: "MKDIR", OpUnlink: "UNLINK", OpRmdir: "RMDIR",
	OpRename: "RENAME", OpLink: "LINK", OpOpen: "OPEN", OpRead: "READ",
	OpWrite: "WRITE", OpStatfs: "STATFS", OpRelease: "RELEASE", OpFsync: "FSYNC",
	OpSetxattr: "SETXATTR", OpGetxattr: "GETXATTR", OpListxattr: "LISTXATTR",
	OpRemovexattr: "REMOVEXATTR", OpFlush: "FLUSH", OpInit: "INIT",
	OpOpendir: "OPENDIR", OpReaddir: "READDIR", OpReleasedir: "RELEASEDIR",
	OpFsyncdir: "FSYNCDIR", OpGetlk: "GETLK", OpSetlk: "SETLK", OpSetlkw: "SETLKW",
	OpAccess: "ACCESS", OpCreate: "CREATE", OpInterrupt: "INTERRUPT",
	OpBmap: "BMAP", OpDestroy: "DESTROY", OpIoctl: "IOCTL", OpPoll: "POLL",
	OpNotifyReply: "NOTIFY_REPLY", OpBatchForget: "BATCH_FORGET",
	OpFallocate: "FALLOCATE", OpReaddirplus: "READDIRPLUS", OpRename2: "RENAME2",
	OpLseek: "LSEEK", OpCopyFileRange: "COPY_FILE_RANGE",
	OpSetupmapping: "SETUPMAPPING", OpRemovemapping: "REMOVEMAPPING",
	OpSyncfs: "SYNCFS", OpTmpfile: "TMPFILE", OpStatx: "STATX", OpCuseInit: "CUSE_INIT",
}

// String returns the protocol name without the FUSE_ prefix, e.g. "WRITE".
func (o Opcode) String() string {
	if n, ok := opNames[o]; ok {
		return n
	}
	return "OP" + strconv.FormatUint(uint64(o), 10)
}

// ParseOpcode accepts "WRITE", "write", "FUSE_WRITE", "16" or "" (OpAny).
func ParseOpcode(s string) (Opcode, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimPrefix(t, "FUSE_")
	if t == "" || t == "*" {
		return OpAny, nil
	}
	for op, n := range opNames {
		if n == t {
			return op, nil
		}
	}
	t = strings.TrimPrefix(t, "OP")
	if n, err := strconv.ParseUint(t, 10, 32); err == nil {
		return Opcode(n), nil
	}
	return 0, fmt.Errorf("unknown FUSE opcode %q", s)
}

// MarshalJSON encodes the opcode as its name.
func (o Opcode) MarshalJSON() ([]byte, error) {
	return json.Marshal(o.String())
}

// UnmarshalJSON accepts a name or a number.
func (o *Opcode) UnmarshalJSON(b []byte) error {
	var n uint32
	if err := json.Unmarshal(b, &n); err == nil {
		*o = Opcode(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("opcode: %w", err)
	}
	op, err := ParseOpcode(s)
	if err != nil {
		return err
	}
	*o = op
	return nil
}

// noReply reports opcodes the kernel expects no reply for.
func (o Opcode) noReply() bool {
	return o == OpForget || o == OpBatchForget
}
