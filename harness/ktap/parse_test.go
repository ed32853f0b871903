package ktap

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// text joins lines, terminating each with a newline.
func text(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Report
	}{
		{
			name: "empty",
			in:   "",
			want: &Report{Plan: NoPlan},
		},
		{
			name: "only console noise",
			in:   text("Linux version 6.9.0", "# ", "ok so far", "Run /init as init process"),
			want: &Report{Plan: NoPlan},
		},
		{
			name: "writer output, complete",
			in: text(
				"KTAP version 1",
				"1..3",
				"# duration_ms: 12",
				"ok 1 mmap_race",
				"# expected 0, got 17",
				"#   at step 3",
				"# duration_ms: 1500",
				"not ok 2 uaf_close",
				"# duration_ms: 0",
				"ok 3 no_iommu # SKIP no IOMMU",
			),
			want: &Report{
				Version: "KTAP version 1", Plan: 3, Complete: true,
				Results: []Result{
					{Number: 1, Name: "mmap_race", Status: Pass, Duration: ms(12)},
					{Number: 2, Name: "uaf_close", Status: Fail, Diag: []string{"expected 0, got 17", "  at step 3"}, Duration: ms(1500)},
					{Number: 3, Name: "no_iommu", Status: Skip, Directive: DirSkip, Reason: "no IOMMU"},
				},
			},
		},
		{
			name: "console noise before, between and after",
			in: text(
				"[    0.000000] Linux version 6.9.0",
				"# ",
				"# echo start",
				"KTAP version 1",
				"[    1.100000] random: crng init done",
				"1..2",
				"  [    1.2] indented noise",
				"# detail for one",
				"[    1.3] ok we are fine",
				"ok 1 one",
				"BUG: kernel NULL pointer dereference, address: 0000000000000000",
				"not ok 2 two",
				"reboot: Power down",
			),
			want: &Report{
				Version: "KTAP version 1", Plan: 2, Complete: true,
				Results: []Result{
					{Number: 1, Name: "one", Status: Pass, Diag: []string{"detail for one"}},
					{Number: 2, Name: "two", Status: Fail},
				},
			},
		},
		{
			name: "CRLF line endings",
			in:   "KTAP version 1\r\n1..1\r\n# d\r\nok 1 x\r\n",
			want: &Report{
				Version: "KTAP version 1", Plan: 1, Complete: true,
				Results: []Result{{Number: 1, Name: "x", Status: Pass, Diag: []string{"d"}}},
			},
		},
		{
			name: "empty plan",
			in:   text("KTAP version 1", "1..0 # SKIP nothing to run"),
			want: &Report{Version: "KTAP version 1", Plan: 0, Complete: true},
		},
		{
			name: "spec example with two levels",
			in: text(
				"KTAP version 1",
				"1..1",
				"  KTAP version 1",
				"  1..2",
				"  ok 1 test_1",
				"  not ok 2 test_2",
				"# example failed",
				"not ok 1 example",
			),
			want: &Report{
				Version: "KTAP version 1", Plan: 1, Complete: true,
				Results: []Result{{
					Number: 1, Name: "example", Status: Fail, Diag: []string{"example failed"},
					Subtests: []Result{
						{Number: 1, Name: "test_1", Status: Pass},
						{Number: 2, Name: "test_2", Status: Fail},
					},
				}},
			},
		},
		{
			name: "spec example with three levels",
			in: text(
				"KTAP version 1",
				"1..1",
				"  KTAP version 1",
				"  1..3",
				"    KTAP version 1",
				"    1..1",
				"    # test_1: initializing test_1",
				"    ok 1 test_1",
				"  ok 1 example_test_1",
				"    KTAP version 1",
				"    1..2",
				"    ok 1 test_1 # SKIP test_1 skipped",
				"    ok 2 test_2",
				"  ok 2 example_test_2",
				"    KTAP version 1",
				"    1..3",
				"    ok 1 test_1",
				"    # test_2: FAIL",
				"    not ok 2 test_2",
				"    ok 3 test_3 # SKIP test_3 skipped",
				"  not ok 3 example_test_3",
				"not ok 1 main_test",
			),
			want: &Report{
				Version: "KTAP version 1", Plan: 1, Complete: true,
				Results: []Result{{
					Number: 1, Name: "main_test", Status: Fail,
					Subtests: []Result{
						{Number: 1, Name: "example_test_1", Status: Pass, Subtests: []Result{
							{Number: 1, Name: "test_1", Status: Pass, Diag: []string{"test_1: initializing test_1"}},
						}},
						{Number: 2, Name: "example_test_2", Status: Pass, Subtests: []Result{
							{Number: 1, Name: "test_1", Status: Skip, Directive: DirSkip, Reason: "test_1 skipped"},
							{Number: 2, Name: "test_2", Status: Pass},
						}},
						{Number: 3, Name: "example_test_3", Status: Fail, Subtests: []Result{
							{Number: 1, Name: "test_1", Status: Pass},
							{Number: 2, Name: "test_2", Status: Fail, Diag: []string{"test_2: FAIL"}},
							{Number: 3, Name: "test_3", Status: Skip, Directive: DirSkip, Reason: "test_3 skipped"},
						}},
					},
				}},
			},
		},
		{
			name: "KUnit style four-space indent and subtest header",
			in: text(
				"KTAP version 1",
				"1..1",
				"    KTAP version 1",
				"    # Subtest: example",
				"    # module: example",
				"    1..1",
				"    ok 1 example_simple_test",
				"# example: pass:1 fail:0 skip:0 total:1",
				"ok 1 example",
			),
			want: &Report{
				Version: "KTAP version 1", Plan: 1, Complete: true,
				Results: []Result{{
					Number: 1, Name: "example", Status: Pass,
					Diag:     []string{"example: pass:1 fail:0 skip:0 total:1"},
					Subtests: []Result{{Number: 1, Name: "example_simple_test", Status: Pass, Diag: []string{"Subtest: example", "module: example"}}},
				}},
			},
		},
		{
			name: "guest died between results",
			in: text(
				"KTAP version 1",
				"1..4",
				"# duration_ms: 5",
				"ok 1 a",
				"# duration_ms: 7",
				"not ok 2 b",
				"# starting c",
				"[   33.1] Kernel panic - not syncing: Fatal exception",
			),
			want: &Report{
				Version: "KTAP version 1", Plan: 4,
				Results: []Result{
					{Number: 1, Name: "a", Status: Pass, Duration: ms(5)},
					{Number: 2, Name: "b", Status: Fail, Duration: ms(7)},
				},
				Missing: []int{3, 4},
				Partial: &Result{Number: 3, Status: Incomplete, Diag: []string{"starting c"}},
			},
		},
		{
			name: "guest died right after the plan",
			in:   text("KTAP version 1", "1..2"),
			want: &Report{Version: "KTAP version 1", Plan: 2, Missing: []int{1, 2}},
		},
		{
			name: "guest died inside nested subtests",
			in: text(
				"KTAP version 1",
				"1..2",
				"  KTAP version 1",
				"  1..2",
				"    KTAP version 1",
				"    1..1",
				"    ok 1 deep",
				"  ok 1 mid",
				"    KTAP version 1",
				"    1..2",
				"    # duration_ms: 3",
				"    ok 1 deep2",
				"    # about to crash",
			),
			want: &Report{
				Version: "KTAP version 1", Plan: 2,
				Missing: []int{1, 2},
				Partial: &Result{Number: 1, Status: Incomplete, Subtests: []Result{
					{Number: 1, Name: "mid", Status: Pass, Subtests: []Result{{Number: 1, Name: "deep", Status: Pass}}},
					{Number: 2, Status: Incomplete, Subtests: []Result{
						{Number: 1, Name: "deep2", Status: Pass, Duration: ms(3)},
						{Number: 2, Status: Incomplete, Diag: []string{"about to crash"}},
					}},
				}},
				Problems: []string{
					"end of input: subtest 2 at depth 2 has no result line",
					"end of input: subtest 2 at depth 1 has no result line",
				},
			},
		},
		{
			name: "guest died mid-line",
			in:   "KTAP version 1\n1..2\nok 1 a\nok 2 trunc",
			want: &Report{
				Version: "KTAP version 1", Plan: 2,
				Results:  []Result{{Number: 1, Name: "a", Status: Pass}},
				Missing:  []int{2},
				Problems: []string{`line 4: unterminated last line "ok 2 trunc" ignored`},
			},
		},
		{
			name: "trailing diagnostics after a satisfied plan",
			in:   text("KTAP version 1", "1..1", "ok 1 a", "# Totals: pass:1 fail:0", "# bye"),
			want: &Report{
				Version: "KTAP version 1", Plan: 1, Complete: true,
				Results: []Result{{Number: 1, Name: "a", Status: Pass}},
				Diag:    []string{"Totals: pass:1 fail:0", "bye"},
			},
		},
		{
			name: "no plan",
			in:   text("KTAP version 1", "ok 1 a", "ok 3 c"),
			want: &Report{
				Version: "KTAP version 1", Plan: NoPlan,
				Results: []Result{
					{Number: 1, Name: "a", Status: Pass},
					{Number: 3, Name: "c", Status: Pass},
				},
				Missing:  []int{2},
				Problems: []string{`line 3: result 3 "c" out of sequence (expected 2)`},
			},
		},
		{
			name: "trailing plan (TAP style) without version",
			in:   text("TAP version 13", "ok 1 - a", "not ok 2 - b", "1..2"),
			want: &Report{
				Version: "TAP version 13", Plan: 2, Complete: true,
				Results: []Result{
					{Number: 1, Name: "a", Status: Pass},
					{Number: 2, Name: "b", Status: Fail},
				},
			},
		},
		{
			name: "plan without version line",
			in:   text("1..1", "ok 1 a"),
			want: &Report{
				Plan: 1, Complete: true,
				Results:  []Result{{Number: 1, Name: "a", Status: Pass}},
				Problems: []string{"line 1: document starts without a version line"},
			},
		},
		{
			name: "duplicate and extra results",
			in:   text("KTAP version 1", "1..2", "ok 1 a", "ok 1 a", "ok 2 b", "ok 3 c"),
			want: &Report{
				Version: "KTAP version 1", Plan: 2,
				Results: []Result{
					{Number: 1, Name: "a", Status: Pass},
					{Number: 1, Name: "a", Status: Pass},
					{Number: 2, Name: "b", Status: Pass},
					{Number: 3, Name: "c", Status: Pass},
				},
				Problems: []string{
					`line 4: result 1 "a" out of sequence (expected 2)`,
					`line 6: result 3 "c" beyond plan 1..2`,
				},
			},
		},
		{
			name: "restarted agent: second version and plan ignored",
			in:   text("KTAP version 1", "1..1", "KTAP version 1", "1..1", "ok 1 a"),
			want: &Report{
				Version: "KTAP version 1", Plan: 1, Complete: true,
				Results: []Result{{Number: 1, Name: "a", Status: Pass}},
				Problems: []string{
					`line 3: unexpected version line "KTAP version 1" ignored`,
					"line 4: second plan line 1..1 ignored (plan is 1..1)",
				},
			},
		},
		{
			name: "nested document closed early",
			in: text(
				"KTAP version 1",
				"1..1",
				"  KTAP version 1",
				"  1..3",
				"  ok 1 x",
				"not ok 1 parent # ERROR subtest runner crashed",
			),
			want: &Report{
				Version: "KTAP version 1", Plan: 1, Complete: true,
				Results: []Result{{
					Number: 1, Name: "parent", Status: Fail, Directive: DirError, Reason: "subtest runner crashed",
					Subtests: []Result{
						{Number: 1, Name: "x", Status: Pass},
					},
				}},
				Problems: []string{"line 6: nested document at depth 1 closed after 1 of 3 results"},
			},
		},
		{
			name: "nested test in progress when the parent reports",
			in: text(
				"KTAP version 1",
				"1..1",
				"  KTAP version 1",
				"  1..2",
				"  ok 1 x",
				"  # y hung",
				"not ok 1 parent # TIMEOUT 60s",
			),
			want: &Report{
				Version: "KTAP version 1", Plan: 1, Complete: true,
				Results: []Result{{
					Number: 1, Name: "parent", Status: Fail, Directive: DirTimeout, Reason: "60s",
					Subtests: []Result{
						{Number: 1, Name: "x", Status: Pass},
						{Number: 2, Status: Incomplete, Diag: []string{"y hung"}},
					},
				}},
				Problems: []string{"line 7: subtest 2 at depth 1 has no result line"},
			},
		},
		{
			name: "nested results without version line",
			in:   text("KTAP version 1", "1..1", "  ok 1 x", "ok 1 parent"),
			want: &Report{
				Version: "KTAP version 1", Plan: 1, Complete: true,
				Results: []Result{{
					Number: 1, Name: "parent", Status: Pass,
					Subtests: []Result{{Number: 1, Name: "x", Status: Pass}},
				}},
				Problems: []string{"line 3: nested test without a version line"},
			},
		},
		{
			name: "over-long noise line is skipped",
			in:   text("KTAP version 1", "1..1", "ok 1 "+strings.Repeat("x", maxLine+10), "ok 1 a"),
			want: &Report{
				Version: "KTAP version 1", Plan: 1, Complete: true,
				Results: []Result{{Number: 1, Name: "a", Status: Pass}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseReadError(t *testing.T) {
	boom := errors.New("serial gone")
	r := io.MultiReader(strings.NewReader(text("KTAP version 1", "1..2", "ok 1 a")), iotest.ErrReader(boom))
	got, err := Parse(r)
	if !errors.Is(err, boom) {
		t.Fatalf("Parse error = %v, want wrapping %v", err, boom)
	}
	want := &Report{
		Version: "KTAP version 1", Plan: 2,
		Results: []Result{{Number: 1, Name: "a", Status: Pass}},
		Missing: []int{2},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("partial report mismatch (-want +got):\n%s", diff)
	}
}
