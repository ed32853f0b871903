package mutant

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/catalogue"
	"dioharness/harness/kbase"
	"dioharness/harness/report"
	"dioharness/harness/verdict"
)

const header = `From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Your Name <your.name@placeholder.invalid>
Date: Tue, 1 Dec 2026 12:00:00 +0000
Subject: [PATCH] MUTANT fuse: allow parallel dio writes
 with O_APPEND

Why it is a bug.

`

const diff = `---
 fs/fuse/file.c | 1 -
 1 file changed, 1 deletion(-)

diff --git a/fs/fuse/file.c b/fs/fuse/file.c
-Expect-killed-by: not/a-trailer
`

func writePatch(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
		flavour    kbase.Flavour
		wantErr    string
	}{
		{name: "one", body: header + "Expect-killed-by: fuse/a\n" + diff, want: []string{"fuse/a"}},
		{name: "on a declared flavour", body: header + "Flavour: pdio\nExpect-killed-by: fuse/a\n" + diff, want: []string{"fuse/a"}, flavour: "pdio"},
		{name: "on the base", body: header + "Flavour: base\nExpect-killed-by: fuse/a\n" + diff, wantErr: `Flavour: "base"`},
		{name: "list", body: header + "Expect-killed-by: fuse/a, fuse/b\n" + diff, want: []string{"fuse/a", "fuse/b"}},
		{name: "two trailers", body: header + "Expect-killed-by: fuse/a\nExpect-killed-by: xfs/c\n" + diff, want: []string{"fuse/a", "xfs/c"}},
		{name: "none", body: header + diff, wantErr: "no Expect-killed-by trailer"},
		{name: "only in the diff", body: header + "Signed-off-by: x\n" + diff, wantErr: "no Expect-killed-by trailer"},
		{name: "no header", body: "just text", wantErr: "not a git format-patch file"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writePatch(t, dir, "03-x.patch", tc.body)
			m, err := Parse(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse: error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := Mutant{Name: "03-x", Path: p, Subject: "MUTANT fuse: allow parallel dio writes with O_APPEND", ExpectKilledBy: tc.want, Flavour: kbase.Patched}
			if tc.flavour != "" {
				want.Flavour = tc.flavour
			}
			if d := cmp.Diff(want, m); d != "" {
				t.Errorf("Parse (-want +got):\n%s", d)
			}
		})
	}
}

func testCatalogue() catalogue.Catalogue {
	return catalogue.Catalogue{
		{Name: "fuse/a", Area: "fuse"},
		{Name: "fuse/b", Area: "fuse"},
		{Name: "fuse/manual", Area: "fuse", Manual: true},
		{Name: "ext4/c", Area: "ext4"},
		{Name: "xfs/d", Area: "xfs"},
		{Name: "harness/e", Area: "harness"},
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	writePatch(t, dir, "02-b.patch", header+"Expect-killed-by: xfs/d\n"+diff)
	writePatch(t, dir, "01-a.patch", header+"Expect-killed-by: fuse/a\n"+diff)
	writePatch(t, dir, "README.md", "not a mutant")
	ms, err := Load(dir, "", testCatalogue())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if d := cmp.Diff([]string{"01-a", "02-b"}, names); d != "" {
		t.Errorf("Load order (-want +got):\n%s", d)
	}
	if ms, err := Load(dir, "02-*", testCatalogue()); err != nil || len(ms) != 1 {
		t.Errorf("Load glob: %d mutants, %v; want 1", len(ms), err)
	}
	if _, err := Load(dir, "09-*", testCatalogue()); err == nil {
		t.Error("Load of a glob matching nothing: no error")
	}
	writePatch(t, dir, "03-c.patch", header+"Expect-killed-by: fuse/unknown\n"+diff)
	if _, err := Load(dir, "", testCatalogue()); err == nil || !strings.Contains(err.Error(), "03-c") {
		t.Errorf("Load with an unknown killer: %v, want an error naming 03-c", err)
	}
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		expect, want []string
	}{
		{[]string{"fuse/b"}, []string{"fuse/b", "fuse/a"}},
		{[]string{"ext4/c", "xfs/d"}, []string{"ext4/c", "xfs/d"}},
		{[]string{"fuse/manual"}, []string{"fuse/manual", "fuse/a", "fuse/b"}},
	}
	for _, tc := range tests {
		got := Scenarios(testCatalogue(), Mutant{ExpectKilledBy: tc.expect})
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("Scenarios(%v) (-want +got):\n%s", tc.expect, d)
		}
	}
}

func sc(name string, v verdict.Verdict, matches bool, directive string) report.Scenario {
	return report.Scenario{Name: name, Verdict: v, Expected: verdict.Pass, Matches: matches, Directive: directive, Reason: "why\nmore"}
}

// timedOut is a scenario that failed by a TIMEOUT, with what confirmed
// it (or not).
func timedOut(name string, c report.Confirmation) report.Scenario {
	s := sc(name, verdict.Fail, false, "TIMEOUT")
	s.Confirmation = c
	return s
}

func TestJudge(t *testing.T) {
	m := Mutant{Name: "m", Subject: "s", ExpectKilledBy: []string{"fuse/a"}}
	tests := []struct {
		name string
		run  Run
		want Result
	}{
		{
			name: "killed by the expected scenario",
			run:  Run{Stage: StageRun, Scenarios: []report.Scenario{sc("fuse/a", verdict.Fail, false, ""), sc("fuse/b", verdict.Pass, true, "")}},
			want: Result{Verdict: Killed, KilledBy: []Kill{{Scenario: "fuse/a", How: "fail", Reason: "why"}}, ExpectedKilled: true, Ran: 2},
		},
		{
			name: "killed by another scenario's timeout, confirmed on a fresh guest",
			run:  Run{Stage: StageRun, Scenarios: []report.Scenario{sc("fuse/a", verdict.Pass, true, ""), timedOut("fuse/b", report.Confirmed)}},
			want: Result{Verdict: Killed, KilledBy: []Kill{{Scenario: "fuse/b", How: "fail TIMEOUT, confirmed", Reason: "why"}}, Ran: 2},
		},
		{
			name: "a hang the kernel reported: the hung scenario kills, the never-run one does not count",
			run: Run{Stage: StageRun, Err: "guest gone", Scenarios: []report.Scenario{
				timedOut("fuse/a", report.Reported), sc("fuse/b", verdict.Error, false, "ERROR")}},
			want: Result{Verdict: Killed, KilledBy: []Kill{{Scenario: "fuse/a", How: "fail TIMEOUT, kernel report", Reason: "why"}}, ExpectedKilled: true, Ran: 1, Error: "guest gone"},
		},
		{
			name: "a TIMEOUT that passed on a fresh guest is no kill: flaky",
			run:  Run{Stage: StageRun, Scenarios: []report.Scenario{timedOut("fuse/a", report.Flaky), sc("fuse/b", verdict.Pass, true, "")}},
			want: Result{Verdict: Flaky, TimedOut: []Kill{{Scenario: "fuse/a", How: "fail TIMEOUT, flaky", Reason: "why"}}, Ran: 2},
		},
		{
			name: "a TIMEOUT that could not run again, or was never run again, is no kill",
			run:  Run{Stage: StageRun, Scenarios: []report.Scenario{timedOut("fuse/a", report.Unconfirmed), timedOut("fuse/b", "")}},
			want: Result{Verdict: Flaky, TimedOut: []Kill{{Scenario: "fuse/a", How: "fail TIMEOUT, unconfirmed", Reason: "why"}, {Scenario: "fuse/b", How: "fail TIMEOUT", Reason: "why"}}, Ran: 2},
		},
		{
			name: "a flaky TIMEOUT beside a real failure: killed by the failure alone",
			run:  Run{Stage: StageRun, Scenarios: []report.Scenario{timedOut("fuse/a", report.Flaky), sc("fuse/b", verdict.Fail, false, "")}},
			want: Result{Verdict: Killed, KilledBy: []Kill{{Scenario: "fuse/b", How: "fail", Reason: "why"}}, TimedOut: []Kill{{Scenario: "fuse/a", How: "fail TIMEOUT, flaky", Reason: "why"}}, Ran: 2},
		},
		{
			name: "survived",
			run:  Run{Stage: StageRun, Scenarios: []report.Scenario{sc("fuse/a", verdict.Pass, true, ""), sc("fuse/b", verdict.Skip, true, "SKIP")}},
			want: Result{Verdict: Survived, Ran: 2},
		},
		{
			name: "does not apply",
			run:  Run{Stage: StageApply, Err: "patch does not apply"},
			want: Result{Verdict: NotRun, Error: "patch does not apply"},
		},
		{
			name: "does not build",
			run:  Run{Stage: StageBuild, Err: "build failed", BuildSeconds: 12},
			want: Result{Verdict: NotRun, Error: "build failed", BuildSeconds: 12},
		},
		{
			name: "does not boot: every scenario an error, none a kill",
			run:  Run{Stage: StageBoot, Err: "no agent", Scenarios: []report.Scenario{sc("fuse/a", verdict.Error, false, "ERROR")}},
			want: Result{Verdict: NotRun, Error: "no agent"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			want.Name, want.Subject, want.Expected, want.Stage = "m", "s", []string{"fuse/a"}, tc.run.Stage
			if d := cmp.Diff(want, Judge(m, tc.run)); d != "" {
				t.Errorf("Judge (-want +got):\n%s", d)
			}
		})
	}
}

// fakeRunner returns a scripted Run per mutant and records what it
// was asked to run.
type fakeRunner struct {
	runs  map[string]Run
	asked map[string][]string
}

func (f *fakeRunner) Run(_ context.Context, m Mutant, scenarios []string) Run {
	f.asked[m.Name] = scenarios
	return f.runs[m.Name]
}

func TestSuiteAndFiles(t *testing.T) {
	ms := []Mutant{
		{Name: "01-k", Subject: "k", ExpectKilledBy: []string{"fuse/a"}},
		{Name: "02-s", Subject: "s", ExpectKilledBy: []string{"xfs/d"}},
		{Name: "03-n", Subject: "n", ExpectKilledBy: []string{"ext4/c"}},
		{Name: "04-f", Subject: "f", ExpectKilledBy: []string{"ext4/c"}},
		{Name: "05-h", Subject: "h", ExpectKilledBy: []string{"xfs/d"}},
	}
	f := &fakeRunner{asked: map[string][]string{}, runs: map[string]Run{
		"01-k": {Stage: StageRun, Scenarios: []report.Scenario{sc("fuse/a", verdict.Fail, false, "")}},
		"02-s": {Stage: StageRun, Scenarios: []report.Scenario{sc("xfs/d", verdict.Pass, true, "")}},
		"03-n": {Stage: StageBuild, Err: "error: implicit declaration"},
		"04-f": {Stage: StageRun, Scenarios: []report.Scenario{timedOut("ext4/c", report.Flaky)}},
		"05-h": {Stage: StageRun, Scenarios: []report.Scenario{timedOut("xfs/d", report.Confirmed)}},
	}}
	var log strings.Builder
	rep := Suite(context.Background(), "v7.3", f, testCatalogue(), ms, &log)
	if d := cmp.Diff(map[string][]string{"01-k": {"fuse/a", "fuse/b"}, "02-s": {"xfs/d"}, "03-n": {"ext4/c"}, "04-f": {"ext4/c"}, "05-h": {"xfs/d"}}, f.asked); d != "" {
		t.Errorf("scenarios asked for (-want +got):\n%s", d)
	}
	want := Totals{Killed: 2, Survived: 1, NotRun: 1, Flaky: 1, KillRate: 2.0 / 3}
	if d := cmp.Diff(want, rep.Totals); d != "" {
		t.Errorf("Totals (-want +got):\n%s", d)
	}
	dir := t.TempDir()
	if err := rep.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join(dir, "mutants.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rep, back); d != "" {
		t.Errorf("mutants.json round trip (-want +got):\n%s", d)
	}
	md, err := os.ReadFile(filepath.Join(dir, "mutants.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"Killed 2, survived 1, not run 1, flaky 1 (an unconfirmed TIMEOUT, not counted): kill rate 67 %",
		"| 01-k<br>k | killed | fuse/a (fail) | yes (fuse/a) | 1 | 0 | 0 |",
		"| 02-s<br>s | survived |  | no (xfs/d) | 1 | 0 | 0 |",
		"| 03-n<br>n | not run | build: error: implicit declaration | no (ext4/c) | 0 | 0 | 0 |",
		"| 04-f<br>f | flaky | none; timed out without confirmation: ext4/c (fail TIMEOUT, flaky) | no (ext4/c) | 1 | 0 | 0 |",
		"| 05-h<br>h | killed (hang, confirmed) | xfs/d (fail TIMEOUT, confirmed) | yes (xfs/d) | 1 | 0 | 0 |",
	} {
		if !strings.Contains(string(md), line) {
			t.Errorf("mutants.md lacks %q:\n%s", line, md)
		}
	}
}

// TestFold: a subset run's results replace the committed run's of the
// same mutants and join them where new, in name order; the totals are
// counted again, the subset run is listed, and a report of another base
// is refused.
func TestFold(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 17, 10, 0, 0, time.UTC)
	t1 := time.Date(2026, 12, 7, 19, 30, 0, 0, time.UTC)
	full := Report{Base: "v7.3", Started: t0, Seconds: 1325, Results: []Result{
		{Name: "01-a", Verdict: Killed}, {Name: "02-b", Verdict: Flaky}, {Name: "04-d", Verdict: Killed},
	}}
	full.Totals = Count(full.Results)
	sub := Report{Base: "v7.3", Started: t1, Seconds: 600, Results: []Result{
		{Name: "02-b", Verdict: Killed}, {Name: "03-c", Verdict: Survived},
	}}
	got, err := full.Fold(sub)
	if err != nil {
		t.Fatal(err)
	}
	want := Report{Base: "v7.3", Started: t0, Seconds: 1325,
		Results: []Result{{Name: "01-a", Verdict: Killed}, {Name: "02-b", Verdict: Killed}, {Name: "03-c", Verdict: Survived}, {Name: "04-d", Verdict: Killed}},
		Totals:  Totals{Killed: 3, Survived: 1, KillRate: 0.75},
		Folded:  []Folded{{Started: t1, Seconds: 600, Mutants: []string{"02-b", "03-c"}}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Fold (-want +got):\n%s", d)
	}
	if full.Results[1].Verdict != Flaky || len(full.Folded) != 0 {
		t.Errorf("Fold changed the report it folded into: %+v", full)
	}
	var md strings.Builder
	got.Markdown(&md)
	for _, line := range []string{
		"Run 2026-12-01 17:10 UTC, 22m5s in all, with the later run below folded in. Killed 3,",
		"Folded in from a later run of 2 mutants (2026-12-07 19:30 UTC, 10m0s in all): 02-b, 03-c.",
	} {
		if !strings.Contains(md.String(), line) {
			t.Errorf("mutants.md lacks %q:\n%s", line, md.String())
		}
	}
	dir := t.TempDir()
	if err := got.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(filepath.Join(dir, "mutants.json"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got, back); d != "" {
		t.Errorf("ReadReport round trip (-want +got):\n%s", d)
	}
	if _, err := full.Fold(Report{Base: "v6.12"}); err == nil {
		t.Error("Fold of another base's results: no error")
	}
	if missing, err := ReadReport(filepath.Join(dir, "nope.json")); err != nil || len(missing.Results) != 0 {
		t.Errorf("ReadReport of a missing file: %+v, %v; want an empty report", missing, err)
	}
}
