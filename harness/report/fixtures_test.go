package report

import (
	"errors"
	"time"

	"dioharness/harness/kbase"
	"dioharness/harness/verdict"
)

var started = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// baseRun has one scenario of each kind.
func baseRun() Run {
	return Run{
		Variant:  kbase.Variant{Base: "v7.3", Flavour: kbase.Base},
		Source:   "Debian linux-source-7.3 7.3.4-1~bpo13+1",
		Kernel:   "6.9.0 (abc123)",
		Started:  started,
		Duration: ms(95250),
		Scenarios: []Scenario{
			{Name: "mmap_race", Area: "mm", Verdict: verdict.Fail, Expected: verdict.Fail, Matches: true, Reason: "use-after-free",
				Why: "missing lock in dio_mmap", Duration: ms(1500), Attempts: 1,
				Detail: []string{"KASAN: use-after-free in dio_mmap", "  at step 3"}},
			{Name: "short_read", Area: "fs", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Duration: ms(20), Attempts: 1},
			{Name: "aio_order", Area: "fs", Verdict: verdict.Pass, Expected: verdict.Fail, Why: "aio completes out of order",
				Duration: ms(3000), Attempts: 3},
			{Name: "no_iommu", Area: "iommu", Verdict: verdict.Skip, Expected: verdict.Pass, Reason: "no IOMMU in guest", Attempts: 1},
			{Name: "hang", Area: "mm", Verdict: verdict.Error, Expected: verdict.Pass, Reason: "guest stopped responding",
				Duration: ms(60000), Attempts: 2, Detail: []string{"last line: # step 2"}},
		},
		KernelReports: []string{"WARNING: CPU: 0 PID: 1 at mm/dio.c:42 dio_mmap+0x1/0x2\n<TASK>\n</TASK>"},
	}
}

// patchedRun is the patched counterpart of baseRun.
func patchedRun() Run {
	return Run{
		Variant:  kbase.Variant{Base: "v7.3", Flavour: kbase.Patched},
		Source:   "Debian linux-source-7.3 7.3.4-1~bpo13+1",
		Kernel:   "6.9.0-dio (def456)",
		Started:  started.Add(time.Hour),
		Duration: ms(80000),
		Scenarios: []Scenario{
			{Name: "mmap_race", Area: "mm", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Why: "missing lock in dio_mmap", Attempts: 1},
			{Name: "short_read", Area: "fs", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1},
			{Name: "aio_order", Area: "fs", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true, Attempts: 1},
			{Name: "no_iommu", Area: "iommu", Verdict: verdict.Skip, Expected: verdict.Pass, Reason: "no IOMMU in guest", Attempts: 1},
			{Name: "splice_new", Area: "fs", Verdict: verdict.Fail, Expected: verdict.Pass, Reason: "EINVAL", Attempts: 2},
		},
	}
}

// errWriter fails every write.
type errWriter struct{}

var errDiskFull = errors.New("disk full")

func (errWriter) Write([]byte) (int, error) { return 0, errDiskFull }
