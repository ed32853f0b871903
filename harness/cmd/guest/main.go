// Command guest is the test VM's /init: the guest agent. Run as PID 1 it
// executes the scenarios named on the kernel command line; run as
// "init fuse-server ..." it is the test FUSE server, in its own process
// so that workloads faulting on its files cannot deadlock against it;
// run as "init fuse-mount ..." it is mount(8)'s helper that starts that
// server for fstests; "init watchdog" answers the host's request for
// the evidence of a hang; "init catalogue" prints the scenario declarations
// the host reads (harness/catalogue, make generate).
package main

import (
	"os"
	"time"

	"dioharness/harness/fstests"
	"dioharness/harness/fuse/fusecli"
	"dioharness/harness/guest"
	"dioharness/harness/scenarios"
	"dioharness/harness/workload"
)

func main() {
	os.Exit(guest.Main(scenarios.All(), map[string]func([]string) int{
		"fuse-server": func(args []string) int { return fusecli.Run(args, os.Stdout, os.Stderr) },
		"open-file":   guest.OpenFile,
		// Answers the host's request for a hang's evidence (guest.Watchdog).
		"watchdog": guest.Watchdog,
		// the killed opener of the seeded workloads
		workload.OpenerCommand: workload.Opener,
		// mount(8)'s helper for fstests' FSTYP=fuse (fstests.FUSESubtype).
		"fuse-mount": func(args []string) int {
			exe, err := os.Executable()
			if err != nil {
				exe = "/init"
			}
			h := fusecli.Helper{Server: exe, ServerArgs: []string{"fuse-server"}, LogDir: fstests.RunDir, Ready: 30 * time.Second}
			return h.Run(args, os.Stderr)
		},
	}))
}
