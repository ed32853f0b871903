// Command guest is the test VM's /init: the guest agent. Run as PID 1 it
// executes the scenarios named on the kernel command line; run as
// "init fuse-server ..." it is the test FUSE server, in its own process
// so that workloads faulting on its files cannot deadlock against it.
package main

import (
	"os"

	"dioharness/harness/fuse/fusecli"
	"dioharness/harness/guest"
	"dioharness/harness/scenarios"
)

func main() {
	os.Exit(guest.Main(scenarios.All(), map[string]func([]string) int{
		"fuse-server": func(args []string) int { return fusecli.Run(args, os.Stdout, os.Stderr) },
		"open-file":   guest.OpenFile,
	}))
}
