package report

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/kbase"
	"dioharness/harness/verdict"
)

func TestWriteTable(t *testing.T) {
	tests := []struct {
		name string
		run  Run
		want string
	}{
		{
			name: "fixture base run",
			run:  baseRun(),
			want: `dioharness v7.3/base run, kernel 6.9.0 (abc123), from Debian linux-source-7.3 7.3.4-1~bpo13+1, started 2025-03-04T10:00:00Z, took 1m35.25s
SCENARIO        AREA     VERDICT  EXPECTED  TIME
mmap_race       mm       fail     fail      1.5s
short_read      fs       pass     pass      20ms
aio_order       fs       pass !   fail      3s
no_iommu        iommu    skip     pass      0s
hang            mm       error !  pass      1m0s
kernel-reports  harness  fail !   pass      -
failures (!):
  aio_order: unexpected pass (expected fail)
  hang: guest stopped responding
  kernel-reports: 1 kernel report
2 passed, 3 failed, 1 skipped
`,
		},
		{
			name: "infrastructure failure before any scenario",
			run:  Run{Variant: kbase.Variant{Flavour: kbase.Custom}, Infra: "boot timeout\nlast console line: ..."},
			want: `dioharness custom run, took 0s
SCENARIO        AREA     VERDICT  EXPECTED  TIME
infrastructure  harness  error !  pass      -
failures (!):
  infrastructure: boot timeout
0 passed, 1 failed, 0 skipped
`,
		},
		{
			name: "odd names stay on one row",
			run: Run{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Patched}, Duration: ms(1), Scenarios: []Scenario{
				{Name: "tab\tname", Verdict: verdict.Fail, Expected: verdict.Pass, Reason: "line1\nline2"},
			}},
			want: `dioharness v7.3/patched run, took 1ms
SCENARIO  AREA  VERDICT  EXPECTED  TIME
tab name  -     fail !   pass      0s
failures (!):
  tab name: failed (expected pass): line1 line2
0 passed, 1 failed, 0 skipped
`,
		},
	}
	summary := regexp.MustCompile(`^\d+ passed, \d+ failed, \d+ skipped$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteTable(&b, tt.run); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("table mismatch (-want +got):\n%s", diff)
			}
			lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			if last := lines[len(lines)-1]; !summary.MatchString(last) || last != tt.run.Totals().String() {
				t.Errorf("last line %q is not the summary %q", last, tt.run.Totals())
			}
		})
	}
}

func TestWritersWrapErrors(t *testing.T) {
	m := BuildMatrix(baseRun(), patchedRun())
	writers := map[string]func() error{
		"WriteTable":          func() error { return WriteTable(errWriter{}, baseRun()) },
		"WriteJUnit":          func() error { return WriteJUnit(errWriter{}, baseRun()) },
		"WriteJSON":           func() error { return WriteJSON(errWriter{}, baseRun()) },
		"WriteMatrixMarkdown": func() error { return WriteMatrixMarkdown(errWriter{}, m) },
		"WriteMatrixJSON":     func() error { return WriteMatrixJSON(errWriter{}, m) },
	}
	for name, write := range writers {
		err := write()
		if !errors.Is(err, errDiskFull) || !strings.HasPrefix(err.Error(), "report: ") {
			t.Errorf("%s error = %v, want report: ... wrapping %v", name, err, errDiskFull)
		}
	}
}
