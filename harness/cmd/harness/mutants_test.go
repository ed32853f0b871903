package main

import (
	"os"
	"path/filepath"
	"testing"

	"dioharness/harness/mutant"
	"dioharness/harness/scenarios"
)

// The committed mutants parse, name scenarios of the catalogue as their
// killers, and include the one bisect-demo plants.
func TestCommittedMutants(t *testing.T) {
	dirs, err := filepath.Glob("../../../mutants/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no mutants/<base>/ directories: %v", err)
	}
	total := 0
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		ms, err := mutant.Load(d, "", scenarios.All())
		if err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		total += len(ms)
	}
	if total < 10 {
		t.Errorf("%d mutants, want at least 10", total)
	}
	if _, err := os.Stat(filepath.Join("../../../mutants/v7.3", demoMutant)); err != nil {
		t.Errorf("bisect-demo's mutant: %v", err)
	}
}
