// Package guest is the agent that runs as PID 1 in the test VM: it
// mounts the pseudo filesystems, runs the requested scenarios, writes
// KTAP to the agent channel (ttyS1) and ends the VM carrying the verdict
// out through QEMU's isa-debug-exit port (the PID-1 parts are package
// pid1).
package guest

import (
	"fmt"
	"os"
	"strings"
)

// Cmdline is what the host asks of this boot, read from /proc/cmdline.
type Cmdline struct {
	// Run is the comma-separated scenario glob list.
	Run string
	// Flavour is base, patched or custom.
	Flavour string
	// Probe asks the agent only to prove it started (accelerator probe).
	Probe bool
	// Repeat runs the selection this many times (flake checks).
	Repeat int
}

// ParseCmdline reads dioharness.* words from a kernel command line.
func ParseCmdline(s string) Cmdline {
	c := Cmdline{Flavour: "custom", Repeat: 1}
	for _, w := range strings.Fields(s) {
		k, v, _ := strings.Cut(w, "=")
		switch k {
		case "dioharness.run":
			c.Run = v
		case "dioharness.flavour":
			c.Flavour = v
		case "dioharness.probe":
			c.Probe = v == "1"
		case "dioharness.repeat":
			fmt.Sscan(v, &c.Repeat)
			if c.Repeat < 1 {
				c.Repeat = 1
			}
		}
	}
	return c
}

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
