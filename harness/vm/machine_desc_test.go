package vm

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestShippedMachineTCGSingle: the shipped x86_64 machine runs TCG guests
// with one host thread for all vCPUs. QEMU 7.2's multi-threaded TCG runs
// stale INT3s after the kernel patches its text (jump labels, static
// calls, BPF trampolines), which kills the guest with "Oops: int3".
func TestShippedMachineTCGSingle(t *testing.T) {
	m, err := LoadMachine(filepath.Join("..", "..", "qemu", "x86_64.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := Config{Machine: m, Accel: "tcg", CPUs: 2}
	a := c.args("con", "agent", "qmp")
	i := slices.Index(a, "-accel")
	if i < 0 || a[i+1] != "tcg,thread=single" {
		t.Errorf("-accel = %q, want tcg,thread=single", a[i+1:i+2])
	}
}
