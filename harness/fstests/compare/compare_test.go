package compare

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/fstests"
	"dioharness/harness/junit"
	"dioharness/harness/kbase"
	"dioharness/harness/report"
	"dioharness/harness/verdict"
)

// run is a report.Run of one kernel with test verdicts.
func run(fl kbase.Flavour, d time.Duration, tests ...report.Scenario) report.Run {
	return report.Run{Variant: kbase.Variant{Base: "v7.3", Flavour: fl}, Kernel: "7.3.4 " + string(fl), Source: "Debian linux-source-7.3", Duration: d, Scenarios: tests}
}

// picksOf are picks of named tests.
func picksOf(tests ...string) []fstests.Pick {
	var out []fstests.Pick
	for _, t := range tests {
		out = append(out, fstests.Pick{Test: t, Why: "named"})
	}
	return out
}

// names are the names of setups.
func names(ss []fstests.Setup) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func TestBuild(t *testing.T) {
	xfs, _ := fstests.SetupNamed("xfs")
	dio, _ := fstests.SetupNamed("fuse-direct-io")
	pass := func(n string) report.Scenario {
		return report.Scenario{Name: n, Verdict: verdict.Pass, Duration: 90 * time.Second,
			Detail: []string{"kernel path: __iomap_dio_rw=12 fuse_direct_io=0"}}
	}
	fail := func(n, why string) report.Scenario {
		return report.Scenario{Name: n, Verdict: verdict.Fail, Reason: why, Duration: 100 * time.Second}
	}
	timeout := report.Scenario{Name: "generic/095", Verdict: verdict.Fail, Directive: "TIMEOUT", Reason: "killed by the host"}
	notrun := report.Scenario{Name: "generic/208", Verdict: verdict.Skip, Reason: "aio-dio utilities required"}
	patchedXFS := run(kbase.Patched, 5*time.Minute, pass("generic/091"), fail("generic/263", "output mismatch"), notrun)
	patchedXFS.KernelReports = []string{"WARNING: at fs/iomap/direct-io.c (during generic/263)\nline", "BUG: at boot\nx"}
	runs := []SetupRun{
		{Setup: xfs, Run: run(kbase.Base, 4*time.Minute, pass("generic/091"), pass("generic/263"), notrun), Dir: "results/fstests-v7.3-base-xfs-1"},
		{Setup: xfs, Run: patchedXFS, Xunit: map[string]junit.Case{"generic/263": {Name: "generic/263", Failure: &junit.Message{Message: "output mismatch"}}}},
		{Setup: dio, Run: run(kbase.Base, 6*time.Minute, fail("generic/091", "fsx"), timeout)},
		{Setup: dio, Run: run(kbase.Patched, 6*time.Minute, fail("generic/091", "fsx"), pass("generic/095"))},
	}
	picks := map[string][]fstests.Pick{
		"xfs":            picksOf("generic/091", "generic/208", "generic/263"),
		"fuse-direct-io": picksOf("generic/091", "generic/095"),
	}
	c := Build("v7.3", fstests.DefaultTests, picks, runs)
	reg := c.Regressions()
	if len(reg) != 1 || reg[0].Setup != "xfs" || reg[0].Test != "generic/263" {
		t.Errorf("regressions %+v, want xfs generic/263 only", reg)
	}
	var order []string
	for _, r := range c.Rows {
		order = append(order, r.Setup+" "+r.Test)
	}
	// In the selection's order, not the run's.
	if d := cmp.Diff([]string{"xfs generic/091", "xfs generic/208", "xfs generic/263", "fuse-direct-io generic/091", "fuse-direct-io generic/095"}, order); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	cell := c.Rows[2].Cells["patched"]
	if cell.FSTests != verdict.Fail || len(cell.Reports) != 1 || !strings.HasPrefix(cell.Reports[0], "WARNING:") {
		t.Errorf("xfs generic/263 on patched: %+v", cell)
	}
	if d := cmp.Diff([]Note{{Flavour: "patched", Setup: "xfs", Tests: fstests.DefaultTests, Text: "BUG: at boot\nx"}}, c.Unattributed); d != "" {
		t.Errorf("unattributed reports (-want +got):\n%s", d)
	}
	wantParts := []Part{
		{Tests: fstests.DefaultTests, Setup: "xfs", Count: 3, Kernels: map[string]string{"base": "7.3.4 base", "patched": "7.3.4 patched"},
			Time: map[string]time.Duration{"base": 4 * time.Minute, "patched": 5 * time.Minute},
			Dirs: map[string]string{"base": "results/fstests-v7.3-base-xfs-1"}, Picks: picks["xfs"]},
		{Tests: fstests.DefaultTests, Setup: "fuse-direct-io", Count: 2, Kernels: map[string]string{"base": "7.3.4 base", "patched": "7.3.4 patched"},
			Time: map[string]time.Duration{"base": 6 * time.Minute, "patched": 6 * time.Minute}, Picks: picks["fuse-direct-io"]},
	}
	if d := cmp.Diff(wantParts, c.Parts); d != "" {
		t.Errorf("runs (-want +got):\n%s", d)
	}
	// Each setup with the tests it ran, not the whole list TESTS= named.
	want := "fstests on v7.3: generic/091 generic/208 generic/263 on xfs: base 2 pass, 0 fail, 1 notrun, 0 timeout; patched 1 pass, 1 fail, 1 notrun, 0 timeout; " +
		"generic/091 generic/095 on fuse-direct-io: base 0 pass, 1 fail, 0 notrun, 1 timeout; patched 1 pass, 1 fail, 0 notrun, 0 timeout; 1 new failures on patched; 2 kernel reports"
	if got := c.Summary(); got != want {
		t.Errorf("Summary:\n got %s\nwant %s", got, want)
	}
	wantPart := "xfs, generic/091 generic/208 generic/263: base 2 pass, 0 fail, 1 notrun, 0 timeout; patched 1 pass, 1 fail, 1 notrun, 0 timeout; 1 new failures on patched"
	if got := c.PartSummary(c.Parts[0]); got != wantPart {
		t.Errorf("PartSummary:\n got %s\nwant %s", got, wantPart)
	}
	var md bytes.Buffer
	if err := c.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"- base: 7.3.4 (Debian linux-source-7.3), local tree commit base\n",
		"| " + fstests.DefaultTests + " | xfs | base, 4m0s: 2 pass, 0 fail, 1 notrun, 0 timeout | patched, 5m0s: 1 pass, 1 fail, 1 notrun, 0 timeout | 1 |",
		"## xfs: " + fstests.DefaultTests + "\n", "| generic/263 | pass 90s | fail 100s (1 kernel report) **NEW** |",
		"| generic/095 | timeout | pass 90s |", "| *time, boots included* | 4m0s | 5m0s |",
		"xfs generic/208, base: notrun: aio-dio utilities required",
		"[patched xfs generic/263]\nWARNING: at fs/iomap/direct-io.c",
		"- xfs generic/091: __iomap_dio_rw 12 / 12\n", "- fuse-direct-io generic/095: __iomap_dio_rw - / 12\n",
	} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("markdown lacks %q:\n%s", s, md.String())
		}
	}
	if strings.Contains(md.String(), "## Why") {
		t.Errorf("markdown explains the picks of a list of named tests:\n%s", md.String())
	}
	var js bytes.Buffer
	if err := c.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Format      int    `json:"format"`
		Summary     string `json:"summary"`
		Regressions int    `json:"new_failures_on_patched"`
		Runs        []struct {
			Summary string `json:"summary"`
		} `json:"runs"`
		Rows []struct {
			Tests      string `json:"tests"`
			Test       string `json:"test"`
			Regression bool   `json:"new_failure_on_patched"`
			Cells      map[string]struct {
				Verdict string `json:"verdict"`
				Seconds int64  `json:"seconds"`
			} `json:"cells"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Format != Format || back.Summary != want || back.Regressions != 1 || len(back.Rows) != 5 || !back.Rows[2].Regression ||
		back.Rows[2].Cells["patched"].Seconds != 100 || back.Rows[2].Tests != fstests.DefaultTests || len(back.Runs) != 2 || back.Runs[0].Summary != wantPart {
		t.Errorf("JSON: %+v", back)
	}
}

// TestBuildOneFlavour: a run of one flavour has no regressions and
// no missing column.
func TestBuildOneFlavour(t *testing.T) {
	xfs, _ := fstests.SetupNamed("xfs")
	c := Build("v7.3", "generic/091", nil, []SetupRun{{Setup: xfs, Run: run(kbase.Patched, time.Minute, report.Scenario{Name: "generic/091", Verdict: verdict.Fail})}})
	if len(c.Columns) != 1 || len(c.Regressions()) != 0 || c.Rows[0].Cells["patched"].Verdict != verdict.Fail || c.Parts[0].Count != 1 {
		t.Errorf("one flavour: %+v", c)
	}
}

// TestSummaryRan: the summary says per setup which tests ran; setups
// that ran the same share a clause, and a named selection says how many
// of its tests ran.
func TestSummaryRan(t *testing.T) {
	ext4, _ := fstests.SetupNamed("ext4")
	xfs, _ := fstests.SetupNamed("xfs")
	cached, _ := fstests.SetupNamed("fuse-cached")
	pass := func(names ...string) []report.Scenario {
		var out []report.Scenario
		for _, n := range names {
			out = append(out, report.Scenario{Name: n, Verdict: verdict.Pass})
		}
		return out
	}
	both := func(s fstests.Setup, names ...string) []SetupRun {
		return []SetupRun{{Setup: s, Run: run(kbase.Base, time.Minute, pass(names...)...)}, {Setup: s, Run: run(kbase.Patched, time.Minute, pass(names...)...)}}
	}
	tests := []struct {
		name, tests string
		picks       map[string][]fstests.Pick
		runs        []SetupRun
		want        string
	}{
		{"a list, one setup taking fewer", "generic/091 generic/095 generic/208",
			map[string][]fstests.Pick{"ext4": picksOf("generic/091", "generic/095", "generic/208"), "xfs": picksOf("generic/091", "generic/095", "generic/208"), "fuse-cached": picksOf("generic/091", "generic/095")},
			append(append(both(ext4, "generic/091", "generic/095", "generic/208"), both(xfs, "generic/091", "generic/095", "generic/208")...), both(cached, "generic/091", "generic/095")...),
			"generic/091 generic/095 generic/208 on ext4, xfs: base 6 pass, 0 fail, 0 notrun, 0 timeout; patched 6 pass, 0 fail, 0 notrun, 0 timeout; " +
				"generic/091 generic/095 on fuse-cached: base 2 pass, 0 fail, 0 notrun, 0 timeout; patched 2 pass, 0 fail, 0 notrun, 0 timeout"},
		{"a named selection cut short on one setup", "@iomap-dio",
			map[string][]fstests.Pick{"ext4": picksOf("generic/091", "generic/095", "generic/208"), "xfs": picksOf("generic/091", "generic/095", "generic/208")},
			append(both(ext4, "generic/091", "generic/095", "generic/208"), both(xfs, "generic/091")...),
			"@iomap-dio (3 tests) on ext4: base 3 pass, 0 fail, 0 notrun, 0 timeout; patched 3 pass, 0 fail, 0 notrun, 0 timeout; " +
				"@iomap-dio (1 of 3 tests) on xfs: base 1 pass, 0 fail, 0 notrun, 0 timeout; patched 1 pass, 0 fail, 0 notrun, 0 timeout"},
	}
	for _, tc := range tests {
		c := Build("v7.3", tc.tests, tc.picks, tc.runs)
		want := "fstests on v7.3: " + tc.want + "; 0 new failures on patched; 0 kernel reports"
		if got := c.Summary(); got != want {
			t.Errorf("%s: Summary:\n got %s\nwant %s", tc.name, got, want)
		}
	}
}

// TestFileName: base and patched share results/fstests-<base>; base and
// one declared flavour have a file of their own; any other set of
// kernels is no comparison results/ keeps.
func TestFileName(t *testing.T) {
	tests := []struct {
		base     string
		flavours []string
		want     string
		err      string
	}{
		{"v7.3", []string{"base", "patched"}, "fstests-v7.3", ""},
		{"v7.3", []string{"patched", "base"}, "fstests-v7.3", ""},
		{"v7.3", []string{"base"}, "fstests-v7.3", ""},
		{"v7.3", []string{"patched"}, "fstests-v7.3", ""},
		{"v7.3", []string{"base", "pdio"}, "fstests-v7.3-pdio", ""},
		{"v7.3", []string{"pdio"}, "fstests-v7.3-pdio", ""},
		{"v7.3", []string{"base", "pdio", "pdio"}, "fstests-v7.3-pdio", ""},
		{"v7.3", []string{"base", "patched", "pdio"}, "", "fstests: v7.3: results/ compares base with patched or with one declared flavour, not with patched and pdio"},
		{"v7.3", []string{"base", "pdio", "rfc2"}, "", "fstests: v7.3: results/ compares base with patched or with one declared flavour, not with pdio and rfc2"},
		{"v7.3", []string{"custom"}, "", "fstests: v7.3: results/ compares base with patched or with one declared flavour, not with custom"},
		{"", []string{"custom"}, "", "fstests: a comparison of no base (custom) is not kept in results/"},
	}
	for _, tc := range tests {
		got, err := FileName(tc.base, tc.flavours)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if d := cmp.Diff([]string{tc.want, tc.err}, []string{got, gotErr}); d != "" {
			t.Errorf("FileName(%s, %v) (-want +got):\n%s", tc.base, tc.flavours, d)
		}
	}
}

// TestBuildDeclaredFlavour: base beside a flavour a BASE file declares
// (the pdio RFC): the columns are base then the flavour, whatever order
// the runs came in; a test failing only on the flavour is its new
// failure, marked in its column; a kernel report on it counts; and the
// texts name the flavour where base vs patched says patched.
func TestBuildDeclaredFlavour(t *testing.T) {
	s, _ := fstests.SetupNamed("fuse-parallel-odirect")
	pass := report.Scenario{Name: "generic/095", Verdict: verdict.Pass, Duration: 30 * time.Second,
		Detail: []string{"kernel path: __iomap_dio_rw=0 fuse_direct_io=7"}}
	tests := []struct {
		name           string
		runs           []SetupRun
		columns        []string
		newOn          map[string][]string
		summary, title string
		lines          []string
	}{
		{
			name: "a new failure on the flavour",
			runs: []SetupRun{
				{Setup: s, Run: run("pdio", time.Minute, report.Scenario{Name: "generic/091", Verdict: verdict.Fail, Reason: "output mismatch", Duration: 60 * time.Second}, pass)},
				{Setup: s, Run: run(kbase.Base, time.Minute, report.Scenario{Name: "generic/091", Verdict: verdict.Pass, Duration: 50 * time.Second}, pass)},
			},
			columns: []string{"base", "pdio"},
			newOn:   map[string][]string{"base": nil, "pdio": {"generic/091"}},
			summary: "fstests on v7.3: generic/091 generic/095 on fuse-parallel-odirect: base 2 pass, 0 fail, 0 notrun, 0 timeout; pdio 1 pass, 1 fail, 0 notrun, 0 timeout; 1 new failures on pdio; 0 kernel reports",
			title:   "# fstests on v7.3: base vs pdio\n",
			lines: []string{
				"| generic/091 | pass 50s | fail 60s **NEW** |\n",
				"| tests | setup | base | pdio | new failures on pdio |\n",
				"**NEW** marks a test that fails only on the pdio kernel.",
				"`make fstests FSTESTS=<fstests checkout> BASE=v7.3 KERNEL=base,pdio FSTYP=<setup> TESTS='<tests>'`",
				"Calls while each test ran, base / pdio (functions with no call left out)",
			},
		},
		{
			name: "a failure on both is no new failure",
			runs: []SetupRun{
				{Setup: s, Run: run(kbase.Base, time.Minute, report.Scenario{Name: "generic/091", Verdict: verdict.Fail, Duration: 50 * time.Second}, pass)},
				{Setup: s, Run: run("pdio", time.Minute, report.Scenario{Name: "generic/091", Verdict: verdict.Fail, Duration: 60 * time.Second}, pass)},
			},
			columns: []string{"base", "pdio"},
			newOn:   map[string][]string{"base": nil, "pdio": nil},
			summary: "fstests on v7.3: generic/091 generic/095 on fuse-parallel-odirect: base 1 pass, 1 fail, 0 notrun, 0 timeout; pdio 1 pass, 1 fail, 0 notrun, 0 timeout; 0 new failures on pdio; 0 kernel reports",
			title:   "# fstests on v7.3: base vs pdio\n",
			lines:   []string{"| generic/091 | fail 50s | fail 60s |\n", "- fuse-parallel-odirect generic/095: fuse_direct_io 7 / 7\n"},
		},
		{
			name: "base and patched keep their texts",
			runs: []SetupRun{
				{Setup: s, Run: run(kbase.Patched, time.Minute, report.Scenario{Name: "generic/091", Verdict: verdict.Fail, Duration: 60 * time.Second}, pass)},
				{Setup: s, Run: run(kbase.Base, time.Minute, report.Scenario{Name: "generic/091", Verdict: verdict.Pass, Duration: 50 * time.Second}, pass)},
			},
			columns: []string{"base", "patched"},
			newOn:   map[string][]string{"base": nil, "patched": {"generic/091"}},
			summary: "fstests on v7.3: generic/091 generic/095 on fuse-parallel-odirect: base 2 pass, 0 fail, 0 notrun, 0 timeout; patched 1 pass, 1 fail, 0 notrun, 0 timeout; 1 new failures on patched; 0 kernel reports",
			title:   "# fstests on v7.3: base vs patched\n",
			lines: []string{
				"| generic/091 | pass 50s | fail 60s **NEW** |\n",
				"`make fstests FSTESTS=<fstests checkout> BASE=v7.3 FSTYP=<setup> TESTS='<tests>'`",
				"Calls while each test ran, base / patched (functions with no call left out)",
			},
		},
	}
	for _, tc := range tests {
		c := Build("v7.3", "generic/091 generic/095", map[string][]fstests.Pick{s.Name: picksOf("generic/091", "generic/095")}, tc.runs)
		var cols []string
		for _, col := range c.Columns {
			cols = append(cols, col.Flavour)
		}
		if d := cmp.Diff(tc.columns, cols); d != "" {
			t.Errorf("%s: columns (-want +got):\n%s", tc.name, d)
		}
		newOn := map[string][]string{}
		for _, fl := range cols {
			newOn[fl] = nil
			for _, r := range c.Rows {
				if r.RegressionOn(fl) {
					newOn[fl] = append(newOn[fl], r.Test)
				}
			}
		}
		if d := cmp.Diff(tc.newOn, newOn); d != "" {
			t.Errorf("%s: new failures per kernel (-want +got):\n%s", tc.name, d)
		}
		if d := cmp.Diff(tc.summary, c.Summary()); d != "" {
			t.Errorf("%s: summary (-want +got):\n%s", tc.name, d)
		}
		var md bytes.Buffer
		if err := c.WriteMarkdown(&md); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(md.String(), tc.title) {
			t.Errorf("%s: markdown does not start with %q:\n%s", tc.name, tc.title, md.String())
		}
		for _, l := range tc.lines {
			if !strings.Contains(md.String(), l) {
				t.Errorf("%s: markdown lacks %q:\n%s", tc.name, l, md.String())
			}
		}
	}
}
