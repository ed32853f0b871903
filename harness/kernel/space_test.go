package kernel

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckSpace(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet", "there")
	if err := checkSpace(dir, 1); err != nil {
		t.Errorf("one byte: %v", err)
	}
	err := checkSpace(dir, 1<<62)
	if err == nil || !strings.Contains(err.Error(), "not enough disk space for "+dir) {
		t.Errorf("an exabyte: err = %v, want one naming %s", err, dir)
	}
}
