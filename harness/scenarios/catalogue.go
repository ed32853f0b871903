// Package scenarios is the catalogue: each scenario runs in the guest,
// asserts what user space sees and which kernel path was taken, and
// declares its verdict on the base and the patched kernel.
package scenarios

import "dioharness/harness/scenario"

// All returns the catalogue in run order.
func All() scenario.Catalogue {
	var c scenario.Catalogue
	c = append(c, fuseScenarios()...)
	c = append(c, fuseModeScenarios()...)
	c = append(c, fuseLockScenarios()...)
	c = append(c, fuseMixedScenarios()...)
	c = append(c, fusePatchScenarios()...)
	c = append(c, fusePdioScenarios()...)
	c = append(c, selftestScenarios()...)
	c = append(c, ext4Scenarios()...)
	c = append(c, xfsScenarios()...)
	c = append(c, fioScenarios()...)
	c = append(c, workloadScenarios()...)
	c = append(c, harnessScenarios()...)
	c = append(c, benchScenarios()...)
	return c
}
