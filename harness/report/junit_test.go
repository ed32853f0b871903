package report

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"dioharness/harness/junit"
	"dioharness/harness/kbase"
	"dioharness/harness/verdict"
)

func TestWriteJUnitGolden(t *testing.T) {
	run := Run{
		Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Patched}, Kernel: "6.9.0-dio", Started: started, Duration: ms(4321),
		Scenarios: []Scenario{
			{Name: "mmap_race", Area: "mm", Verdict: verdict.Fail, Expected: verdict.Fail, Matches: true, Why: "bug 1",
				Duration: ms(1200), Attempts: 1, Detail: []string{"KASAN <report>"}},
			{Name: "splice", Area: "fs", Verdict: verdict.Fail, Expected: verdict.Pass, Reason: "EINVAL", Attempts: 2,
				Detail: []string{"step 1", "step 2"}},
			{Name: "iommu", Area: "iommu", Verdict: verdict.Skip, Expected: verdict.Pass, Reason: "no IOMMU", Attempts: 1},
		},
		Infra: "serial channel closed",
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="dioharness" tests="4" failures="2" errors="0" skipped="1" time="4.321">
  <testsuite name="dioharness-v7.3-patched" tests="4" failures="2" errors="0" skipped="1" time="4.321" timestamp="2025-03-04T10:00:00">
    <properties>
      <property name="base" value="v7.3"></property>
      <property name="flavour" value="patched"></property>
      <property name="source" value=""></property>
      <property name="kernel" value="6.9.0-dio"></property>
    </properties>
    <testcase classname="mm" name="mmap_race" time="1.200">
      <system-out>verdict: fail, expected: fail, attempts: 1&#xA;expected failure (bug 1)&#xA;KASAN &lt;report&gt;&#xA;</system-out>
    </testcase>
    <testcase classname="fs" name="splice" time="0.000">
      <failure message="failed (expected pass): EINVAL" type="fail">step 1&#xA;step 2</failure>
      <system-out>verdict: fail, expected: pass, attempts: 2&#xA;step 1&#xA;step 2&#xA;</system-out>
    </testcase>
    <testcase classname="iommu" name="iommu" time="0.000">
      <skipped message="no IOMMU"></skipped>
      <system-out>verdict: skip, expected: pass, attempts: 1&#xA;</system-out>
    </testcase>
    <testcase classname="harness" name="infrastructure" time="0.000">
      <failure message="serial channel closed" type="error">serial channel closed</failure>
    </testcase>
  </testsuite>
</testsuites>
`
	var b strings.Builder
	if err := WriteJUnit(&b, run); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("JUnit mismatch (-want +got):\n%s", diff)
	}
}

func TestWriteJUnitRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		run  Run
		want []string // expected "classname/name:element" per testcase
		// garbage means invalid characters are replaced, so the decoded
		// document differs from the encoded one.
		garbage bool
	}{
		{
			name: "fixture base run",
			run:  baseRun(),
			want: []string{"mm/mmap_race:", "fs/short_read:", "fs/aio_order:failure", "iommu/no_iommu:skipped", "mm/hang:error", "harness/kernel-reports:failure"},
		},
		{
			name: "empty run",
			run:  Run{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}},
		},
		{
			name: "console garbage is made valid XML",
			run: Run{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}, KernelReports: []string{"BUG: \x00\x1b[31mred\x1b[0m ]]> & <"}, Scenarios: []Scenario{
				{Name: "a\"b<c>", Area: "x&y", Verdict: verdict.Error, Reason: "bad \x07 bell", Detail: []string{"\xff\xfe not utf-8"}},
			}},
			want:    []string{"x&y/a\"b<c>:error", "harness/kernel-reports:failure"},
			garbage: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteJUnit(&b, tt.run); err != nil {
				t.Fatal(err)
			}
			var got junit.Suites
			if err := xml.Unmarshal([]byte(b.String()), &got); err != nil {
				t.Fatalf("output is not valid XML: %v\n%s", err, b.String())
			}
			if len(got.Suites) != 1 || got.Suites[0].Name != "dioharness-"+tt.run.Variant.Slug() {
				t.Fatalf("want one testsuite dioharness-%s, got %+v", tt.run.Variant.Slug(), got.Suites)
			}
			var kinds []string
			for _, c := range got.Suites[0].Cases {
				kind := ""
				switch {
				case c.Failure != nil:
					kind = "failure"
				case c.Error != nil:
					kind = "error"
				case c.Skipped != nil:
					kind = "skipped"
				}
				kinds = append(kinds, c.ClassName+"/"+c.Name+":"+kind)
			}
			if diff := cmp.Diff(tt.want, kinds, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("testcases mismatch (-want +got):\n%s", diff)
			}
			// Apart from invalid characters, decoding gives back what was encoded.
			if !tt.garbage {
				opts := []cmp.Option{cmpopts.IgnoreFields(junit.Suites{}, "XMLName"), cmpopts.EquateEmpty()}
				if diff := cmp.Diff(junitDoc(tt.run), got, opts...); diff != "" {
					t.Errorf("XML round trip mismatch (-encoded +decoded):\n%s", diff)
				}
			}
			tot := tt.run.Totals()
			if s := got.Suites[0]; s.Tests != tot.Passed+tot.Failed+tot.Skipped || s.Failures+s.Errors != tot.Failed || s.Skipped != tot.Skipped {
				t.Errorf("suite counts %+v disagree with Totals %+v", s, tot)
			}
		})
	}
}

// TestJUnitDirectives checks that the KTAP directive shows in JUnit: in
// the failure type and message of a timeout and an XPASS, and beside the
// verdict in system-out.
func TestJUnitDirectives(t *testing.T) {
	run := Run{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}, Scenarios: []Scenario{
		{Name: "x", Area: "fuse", Verdict: verdict.Fail, Expected: verdict.Fail, Matches: true, Directive: "XFAIL", Why: "w", Reason: "r", Attempts: 1},
		{Name: "y", Area: "fuse", Verdict: verdict.Pass, Expected: verdict.Fail, Directive: "XPASS", Why: "w", Attempts: 1},
		{Name: "z", Area: "harness", Verdict: verdict.Fail, Expected: verdict.Pass, Directive: "TIMEOUT", Reason: "killed by the host after 1m0s", Attempts: 1},
	}}
	var b strings.Builder
	if err := WriteJUnit(&b, run); err != nil {
		t.Fatal(err)
	}
	var doc junit.Suites
	if err := xml.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatal(err)
	}
	type row struct{ Name, Type, Message, Out string }
	var got []row
	for _, c := range doc.Suites[0].Cases {
		r := row{Name: c.Name, Out: strings.SplitN(c.SystemOut, "\n", 2)[0]}
		if c.Failure != nil {
			r.Type, r.Message = c.Failure.Type, c.Failure.Message
		}
		got = append(got, r)
	}
	want := []row{
		{Name: "x", Out: "verdict: fail XFAIL, expected: fail, attempts: 1"},
		{Name: "y", Type: "xpass", Message: "unexpected pass (expected fail)", Out: "verdict: pass XPASS, expected: fail, attempts: 1"},
		{Name: "z", Type: "timeout", Message: "timed out (expected pass): killed by the host after 1m0s", Out: "verdict: fail TIMEOUT, expected: pass, attempts: 1"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("JUnit cases (-want +got):\n%s", d)
	}
}
