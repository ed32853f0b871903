package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// makefile is the repository's Makefile, from this package's directory.
const makefile = "../../../Makefile"

// isolatedMake is make on the repository's Makefile, apart from any make
// that runs this test (make unit): no inherited flags, no "Entering
// directory" lines.
func isolatedMake(args ...string) *exec.Cmd {
	cmd := exec.Command("make", append([]string{"--no-print-directory", "-f", makefile}, args...)...)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MAKELEVEL" && k != "MFLAGS" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// TestMakeKeepsExitStatus: make exits 2 for any failed recipe; the
// harness's own status (here 3, bad input) is in EXIT_STATUS.
func TestMakeKeepsExitStatus(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skipf("no make: %v", err)
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "harness")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"harness: bad input\" >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	status := filepath.Join(dir, "exit-status")
	// -o: the harness and its deps count as built; the fake stands in.
	cmd := isolatedMake("-s", "-o", "harness", "-o", "deps", "list", "HARNESS="+fake, "BUILD="+dir, "EXIT_STATUS="+status)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("make list: %v, want make's exit status 2\n%s", err, out)
	}
	b, err := os.ReadFile(status)
	if err != nil || strings.TrimSpace(string(b)) != "3" {
		t.Errorf("%s: %q, %v; want the harness's status 3", status, b, err)
	}
}

// TestEveryHarnessRecipeKeepsStatus: every recipe that runs the harness
// (or the probe guest) ends with $(KEEP_STATUS).
func TestEveryHarnessRecipeKeepsStatus(t *testing.T) {
	b, err := os.ReadFile(makefile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	runs := regexp.MustCompile(`^\t@\$\((HARNESS|BUILD)\)(/bin/probeguest)? `)
	n := 0
	for i := 0; i < len(lines); i++ {
		if !runs.MatchString(lines[i]) {
			continue
		}
		n++
		start := i
		for strings.HasSuffix(lines[i], `\`) {
			i++
		}
		if !strings.HasSuffix(lines[i], " $(KEEP_STATUS)") {
			t.Errorf("Makefile:%d: %q does not end with $(KEEP_STATUS)", start+1, strings.TrimSpace(lines[start]))
		}
	}
	if n < 10 {
		t.Errorf("found %d harness recipes, want every one (the pattern no longer matches?)", n)
	}
}

// TestFSTestsPrepareTarget: make fstests-prepare asks the harness to
// build and not boot.
func TestFSTestsPrepareTarget(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skipf("no make: %v", err)
	}
	out, err := isolatedMake("-n", "-o", "harness", "-o", "deps", "fstests-prepare", "HARNESS=/bin/harness", "FSTESTS=/src/fstests").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "/bin/harness fstests -prepare ") || !strings.Contains(string(out), "-fstests '/src/fstests'") {
		t.Errorf("make -n fstests-prepare: %v\n%s\nwant the harness's fstests -prepare with the checkout", err, out)
	}
}
