package guestproto

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "dioharness/harness/"

// shared are the packages both binaries link: the contract and the
// vocabularies it speaks.
var shared = []string{"guestproto", "verdict", "junit", "ktap", "kstack", "fstests", "bench"}

// guestOnly are the packages of the guest agent: its runner, the
// scenario bodies and what they use (kernel rules, workloads, libaio),
// the FUSE server and the eBPF probes.
var guestOnly = []string{
	"cmd/guest", "guest", "guest/pid1", "guest/evidence", "scenario", "scenarios", "probe", "filestate",
	"fuse", "fuse/remote", "fuse/fusecli", "fstests/checkrun",
	"invariant", "aio", "workload",
}

// deps lists what a command links: its packages and their imports,
// recursively.
func deps(t *testing.T, cmd string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "../cmd/"+cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps ./harness/cmd/%s: %v\n%s", cmd, err, out)
	}
	return strings.Fields(string(out))
}

// TestGuestLinksNothingOfTheHost: the static /init links the contract
// and the guest's own packages, nothing of the host (kernel, debian and
// through them bitfield/script, gojq and mvdan/sh; image, kselftest,
// report, the catalogue file...): what crosses the boundary crosses it
// in the plan.
func TestGuestLinksNothingOfTheHost(t *testing.T) {
	allowed := append(slices.Clone(shared), guestOnly...)
	for _, p := range deps(t, "guest") {
		if rest, ok := strings.CutPrefix(p, module); ok && !slices.Contains(allowed, rest) {
			t.Errorf("the guest links %s, a host package", p)
		}
		for _, host := range []string{"github.com/bitfield/script", "github.com/itchyny/gojq", "mvdan.cc/sh/"} {
			if strings.HasPrefix(p, host) {
				t.Errorf("the guest links %s", p)
			}
		}
	}
}

// TestHostLinksNothingOfTheGuest: the harness command reads the
// catalogue's declarations, never the scenario bodies, the FUSE server
// or the probes (nor so cilium/ebpf).
func TestHostLinksNothingOfTheGuest(t *testing.T) {
	for _, p := range deps(t, "harness") {
		if rest, ok := strings.CutPrefix(p, module); ok && slices.Contains(guestOnly, rest) {
			t.Errorf("the host links %s, a guest package", p)
		}
		if strings.HasPrefix(p, "github.com/cilium/ebpf") {
			t.Errorf("the host links %s", p)
		}
	}
}
