package scenarios

import (
	"os"
	"time"

	"dioharness/harness/scenario"
)

// harnessScenarios prove the harness's own failure paths. They are
// manual: `make qemu-test SCENARIO=harness/forced-fail` must exit 1,
// harness/kernel-warn must exit 1 with the WARN quoted, and
// harness/hang must be killed and exit 2 with the console kept.
func harnessScenarios() scenario.Catalogue {
	return scenario.Catalogue{
		{
			Name:   "harness/forced-fail",
			Area:   "harness",
			Setup:  "nothing",
			Checks: "fails on purpose: the run must turn red (exit 1)",
			Manual: true,
			Run: func(t *scenario.T) {
				t.Fatalf("forced failure (harness self-test)")
			},
		},
		{
			Name:   "harness/kernel-warn",
			Area:   "harness",
			Setup:  "LKDTM provoke-crash in debugfs",
			Checks: "triggers a kernel WARN through LKDTM: the host must quote the report and exit 1",
			Manual: true,
			Run: func(t *scenario.T) {
				const lkdtm = "/sys/kernel/debug/provoke-crash/DIRECT"
				if _, err := os.Stat(lkdtm); err != nil {
					t.Skipf("LKDTM not in this kernel: %v", err)
				}
				t.Check(os.WriteFile(lkdtm, []byte("WARNING\n"), 0), "write %s", lkdtm)
			},
		},
		{
			Name:    "harness/hang",
			Area:    "harness",
			Setup:   "nothing",
			Checks:  "never returns: the host must kill the guest after its scenario timeout and exit 2",
			Manual:  true,
			Timeout: 24 * time.Hour,
			Run: func(t *scenario.T) {
				// Deliberately ignores its context: a hung guest.
				select {}
			},
		},
	}
}
