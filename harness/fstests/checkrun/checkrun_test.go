package checkrun

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"

	"dioharness/harness/fstests"
	"dioharness/harness/guest/pid1"
	"dioharness/harness/guestproto"
	"dioharness/harness/verdict"
)

// runnerChild makes the test binary run runnerScript in its own
// process: a Supervisor reaps every child of its process, so it must
// not share one with the test framework.
const runnerChild = "CHECKRUN_RUNNER_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(runnerChild); dir != "" {
		os.Exit(runnerScript(dir))
	}
	os.Exit(m.Run())
}

// fakeCheck stands for fstests' check (check -R xunit TEST): the test
// that blocks on purpose (fstests' own selftest/006 sleeps forever)
// leaves a child in its process group, as a real test's fsx or fio
// does; any other test writes a passing xunit report.
const fakeCheck = `#!/bin/sh
case "$3" in
selftest/006) sleep 4242 & exec sleep 4242 ;;
esac
cat > "$RESULTS/result.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="xfstests" failures="0" skipped="0" tests="1" time="1">
	<testcase classname="xfstests.global" name="$3" time="1">
	</testcase>
</testsuite>
EOF
`

// childReport is what the child tells the test.
type childReport struct {
	Results []Result
	Sysrq   string
	// Left are the processes of the blocked test still alive after
	// its result (their pids).
	Left []string
}

// runnerScript runs the blocking test, then a passing one, with a one
// second bound, as a subreaper (what PID 1 is by nature), and prints a
// childReport.
func runnerScript(dir string) int {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "subreaper:", err)
		return 1
	}
	sup := pid1.NewSupervisor()
	defer sup.Close()
	var rep childReport
	results := filepath.Join(dir, "results")
	r := &Runner{
		plan:    guestproto.FSTests{Dir: dir, TimeoutSec: 1},
		sup:     sup,
		env:     []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "RESULTS=" + results},
		results: results,
		paths:   &pathCounter{missing: map[string]string{}},
		sysrq:   func(c byte) { rep.Sysrq += string(c) },
	}
	for _, test := range []string{"selftest/006", "generic/001"} {
		rep.Results = append(rep.Results, r.Run(context.Background(), test))
		if test == "selftest/006" {
			rep.Left = sleepers()
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// sleepers are the blocked test's processes still alive.
func sleepers() []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && string(b) == "sleep\x004242\x00" {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestRunBoundKillsAndGoesOn: a test that outlives its bound has the
// task states asked for (sysrq w, then t), its whole process group
// killed and a TIMEOUT result; the next test runs and passes.
func TestRunBoundKillsAndGoesOn(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"results/output", "results/" + fstests.XunitDir} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "check"), []byte(fakeCheck), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), runnerChild+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("runner child: %v\n%s", err, out)
	}
	var got childReport
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("runner child's report %q: %v", out, err)
	}
	want := childReport{
		Results: []Result{
			{Test: "selftest/006", Verdict: verdict.Timeout, Reason: "still running after 1s: task states (sysrq w, t) on the console, 2 processes killed"},
			{Test: "generic/001", Verdict: verdict.Pass},
		},
		Sysrq: "wt",
	}
	// Durations vary; Detail holds the kernel path counts, which the
	// host's tracefs may or may not give.
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(Result{}, "Duration", "Detail")); d != "" {
		t.Errorf("runner (-want +got):\n%s", d)
	}
	if len(got.Results) == 2 && got.Results[0].Duration.Seconds() < 1 {
		t.Errorf("the blocked test ended after %s, before its bound", got.Results[0].Duration)
	}
	if _, err := os.Stat(filepath.Join(dir, "results", fstests.XunitDir, fstests.XunitFile("generic/001"))); err != nil {
		t.Errorf("the passing test's xunit report was not kept: %v", err)
	}
}
