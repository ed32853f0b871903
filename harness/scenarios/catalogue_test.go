package scenarios

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/catalogue"
)

// TestCatalogueFileIsCurrent: the host plans and judges runs from
// harness/catalogue/catalogue.json, so it must say what these scenarios
// declare, byte for byte.
func TestCatalogueFileIsCurrent(t *testing.T) {
	cat := All()
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	want, err := cat.Declarations().Encode()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(catalogue.Committed())); d != "" {
		t.Errorf("harness/catalogue/%s is stale: run make generate and commit it (-code +file):\n%s", catalogue.File, d)
	}
}
