package scenarios

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"dioharness/harness/guestproto"
	"dioharness/harness/ktap"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// selftestScenarios run the kernel selftests the series adds: the
// harness builds them from the series (harness/kselftest) and puts them
// into every guest of the base, so they fail without the fix as they
// pass with it.
func selftestScenarios() scenario.Catalogue {
	return scenario.Catalogue{
		{
			Declaration: guestproto.Declaration{
				Name: "fuse/selftest-parallel-dio-wait",
				Area: "fuse",
				Setup: "tools/testing/selftests/filesystems/fuse/parallel_dio_wait_test from the fuse series, built static; " +
					"its own raw /dev/fuse server holds a parallel direct WRITE while a child opens the file cached and is killed",
				Checks: "the selftest's KTAP: both tests (killed_opener_exits, parallel_writes_after_killed_opener) ok and the binary exits 0. " +
					"Kernel path, every task: fuse_file_cached_io_open was entered and at least one call returned -EINTR (the killed opener's wait ended by the kill)",
				Patch:       patchKillable,
				FailsOnBase: "the wait in fuse_file_cached_io_open is uninterruptible: the killed opener stays until the server answers the held WRITE, and both selftests fail",
			},
			Timeout: 3 * time.Minute,
			Run:     selftestParallelDIOWait,
		},
		{
			Declaration: guestproto.Declaration{
				Name: "fuse/selftest-parallel-odirect-write",
				Area: "fuse",
				Setup: "tools/testing/selftests/filesystems/fuse/parallel_odirect_write_test from the pdio RFC, built static; its own raw " +
					"/dev/fuse server negotiates FUSE_PARALLEL_ODIRECT_WRITES and holds the first WRITE",
				Checks: "the selftest's KTAP: its three tests (parallel_odirect_writes, parallel_odirect_writes_two_opens, " +
					"buffered_read_waits_for_parallel_write) ok, none skipped, and the binary exits 0. Kernel path, every task: " +
					"fuse_file_cached_io_open was entered (the buffered read entered caching io mode)",
				Patch: patchPdio,
				FailsOnBase: "the kernel does not offer FUSE_PARALLEL_ODIRECT_WRITES: every test of the selftest is skipped, which this " +
					"scenario counts as a failure, since the RFC's kernels must run them",
			},
			Timeout: 3 * time.Minute,
			Run:     selftestParallelODirectWrite,
		},
	}
}

func selftestParallelODirectWrite(t *scenario.T) {
	dir := t.Env().SelftestDir
	if dir == "" {
		t.Skipf("the plan puts no kernel selftests into this guest")
	}
	bin := filepath.Join(dir, "parallel_odirect_write_test")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s is not in this guest: the series of this base adds no such selftest", bin)
	}
	entered, err := probe.NewCallCounter("fuse_file_cached_io_open")
	if err != nil {
		t.Fatalf("fuse_file_cached_io_open calls are not observable: %v", err)
	}
	defer entered.Close()
	var out []byte
	var runErr error
	calls, err := entered.CountAll(func() {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin)
		cmd.Dir = "/tmp"
		out, runErr = cmd.CombinedOutput()
	})
	t.Check(err, "count calls")
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		t.Logf("selftest: %s", l)
	}
	rep, perr := ktap.Parse(bytes.NewReader(out))
	t.Check(perr, "parse the selftest's KTAP")
	want := map[string]bool{"fuse.parallel_odirect_writes": false, "fuse.parallel_odirect_writes_two_opens": false,
		"fuse.buffered_read_waits_for_parallel_write": false}
	for _, r := range rep.Results {
		if _, ok := want[r.Name]; !ok {
			continue
		}
		if r.Status != ktap.Pass {
			t.Errorf("selftest %s: %s %s", r.Name, r.Status, r.Reason)
		}
		want[r.Name] = true
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("selftest %s did not report", name)
		}
	}
	if runErr != nil {
		t.Errorf("selftest exited: %v", runErr)
	}
	if calls == 0 {
		t.Errorf("fuse_file_cached_io_open was never entered: the buffered read did not enter caching io mode")
	}
}

func selftestParallelDIOWait(t *scenario.T) {
	dir := t.Env().SelftestDir
	if dir == "" {
		t.Skipf("the plan puts no kernel selftests into this guest")
	}
	bin := filepath.Join(dir, "parallel_dio_wait_test")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s is not in this guest: the series of this base adds no such selftest", bin)
	}
	entered, err := probe.NewCallCounter("fuse_file_cached_io_open")
	if err != nil {
		t.Fatalf("fuse_file_cached_io_open calls are not observable: %v", err)
	}
	defer entered.Close()
	returns, err := probe.NewReturnProbe("fuse_file_cached_io_open", 32)
	if err != nil {
		t.Fatalf("fuse_file_cached_io_open returns are not observable: %v", err)
	}
	defer returns.Close()

	var out []byte
	var runErr error
	var calls int
	var callErr error
	rets, err := returns.ReturnsAll(func() {
		calls, callErr = entered.CountAll(func() {
			// kselftest_harness bounds each test (30 s by default);
			// the scenario's context bounds the binary as a whole.
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin)
			cmd.Dir = "/tmp"
			out, runErr = cmd.CombinedOutput()
		})
	})
	t.Check(err, "record the returns")
	interrupted := 0
	for _, r := range rets {
		if r == -int64(syscall.EINTR) {
			interrupted++
		}
	}
	t.Check(callErr, "count calls")
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		t.Logf("selftest: %s", l)
	}
	rep, perr := ktap.Parse(bytes.NewReader(out))
	t.Check(perr, "parse the selftest's KTAP")
	want := map[string]bool{"fuse.killed_opener_exits": false, "fuse.parallel_writes_after_killed_opener": false}
	for _, r := range rep.Results {
		if _, ok := want[r.Name]; !ok {
			continue
		}
		if r.Status != ktap.Pass {
			t.Errorf("selftest %s: %s %s", r.Name, r.Status, r.Reason)
		}
		want[r.Name] = true
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("selftest %s did not report", name)
		}
	}
	if runErr != nil {
		t.Errorf("selftest exited: %v", runErr)
	}
	t.Logf("fuse_file_cached_io_open: %d calls, %d returned -EINTR", calls, interrupted)
	if calls == 0 {
		t.Errorf("fuse_file_cached_io_open was never entered: the selftest did not reach the cached-open wait")
	}
	if interrupted == 0 {
		t.Errorf("no fuse_file_cached_io_open call returned -EINTR: the killed opener's wait did not end with the kill")
	}
}
