// Package guest is the agent that runs as PID 1 in the test VM: it
// mounts the pseudo filesystems (package pid1), reads the host's plan, runs the planned
// scenarios, writes KTAP to the agent channel the plan names and ends
// the VM carrying its verdict out through QEMU's isa-debug-exit port.
// Everything it shares with the host is in harness/guestproto.
package guest

import (
	"fmt"
	"os"
)

// OpenFile is the "open-file PATH" subcommand: a separate process that
// waits for a line on stdin, then opens PATH read-write, prints "opened"
// and exits. A scenario starts it before it opens any file of its own
// (a forked child flushes every inherited FUSE file at exec) and kills
// it while it waits in the kernel.
func OpenFile(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: open-file PATH")
		return 2
	}
	fmt.Println("ready")
	var go_ string
	fmt.Scanln(&go_)
	f, err := os.OpenFile(args[0], os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "open-file: %v\n", err)
		return 1
	}
	fmt.Println("opened")
	f.Close()
	return 0
}
