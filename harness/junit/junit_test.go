package junit

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"dioharness/harness/verdict"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want Suites
	}{
		{
			name: "testsuites root",
			doc: `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="dioharness" tests="1" failures="1"><testsuite name="a" tests="1" failures="1">
<testcase classname="fuse" name="x" time="1.500"><failure message="boom" type="fail">detail</failure></testcase>
</testsuite></testsuites>`,
			want: Suites{Name: "dioharness", Tests: 1, Failures: 1, Suites: []Suite{{Name: "a", Tests: 1, Failures: 1,
				Cases: []Case{{ClassName: "fuse", Name: "x", Time: "1.500", Failure: &Message{Message: "boom", Type: "fail", Body: "detail"}}}}}},
		},
		{
			name: "a lone testsuite, fstests' extra attributes and elements, bytes that are not UTF-8",
			doc: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite xmlns:xsi=\"x\" name=\"xfstests\" tests=\"2\" skipped=\"1\" hostname=\"h\">" +
				"<properties><property name=\"FSTYP\" value=\"xfs\"/></properties>" +
				"<testcase classname=\"xfstests.global\" name=\"generic/208\" time=\"2\"><skipped message=\"not built\"/></testcase>" +
				"<testcase classname=\"xfstests.global\" name=\"generic/647\" time=\"101\"><system-out>\xff\xfe ok</system-out><kernel-log>WARNING: x</kernel-log></testcase>" +
				"</testsuite>",
			want: Suites{Tests: 2, Skipped: 1, Suites: []Suite{{Name: "xfstests", Tests: 2, Skipped: 1,
				Properties: []Property{{Name: "FSTYP", Value: "xfs"}},
				Cases: []Case{
					{ClassName: "xfstests.global", Name: "generic/208", Time: "2", Skipped: &Message{Message: "not built"}},
					{ClassName: "xfstests.global", Name: "generic/647", Time: "101", SystemOut: "\ufffd ok", KernelLog: "WARNING: x"},
				}}}},
		},
	}
	for _, tc := range tests {
		got, err := Decode(strings.NewReader(tc.doc))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if d := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(Suites{}, "XMLName")); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	for _, bad := range []string{"", "<html/>", "<testsuite><testcase", "not xml"} {
		if doc, err := Decode(strings.NewReader(bad)); err == nil {
			t.Errorf("Decode(%q) = %+v, want an error", bad, doc)
		}
	}
}

func TestCase(t *testing.T) {
	tests := []struct {
		c      Case
		v      verdict.Verdict
		reason string
		d      time.Duration
	}{
		{Case{Time: "93"}, verdict.Pass, "", 93 * time.Second},
		{Case{Time: "0.250", Failure: &Message{Message: " output mismatch\n"}}, verdict.Fail, "output mismatch", 250 * time.Millisecond},
		{Case{Error: &Message{Message: "no result"}}, verdict.Error, "no result", 0},
		{Case{Time: "x", Skipped: &Message{Message: "notrun"}}, verdict.Skip, "notrun", 0},
	}
	for _, tc := range tests {
		if v, r, d := tc.c.Verdict(), tc.c.Reason(), tc.c.Duration(); v != tc.v || r != tc.reason || d != tc.d {
			t.Errorf("%+v: %s %q %s, want %s %q %s", tc.c, v, r, d, tc.v, tc.reason, tc.d)
		}
	}
}

func TestAppend(t *testing.T) {
	var doc strings.Builder
	if err := Write(&doc, Suites{Name: "dioharness", Tests: 1, Failures: 1, Suites: []Suite{{Name: "a", Tests: 1, Failures: 1}}}); err != nil {
		t.Fatal(err)
	}
	joined, err := Append([]byte(doc.String()), Suite{Name: "b", Tests: 3, Skipped: 1, Errors: 1})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(strings.NewReader(string(joined)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Tests != 4 || got.Failures != 1 || got.Skipped != 1 || got.Errors != 1 || len(got.Suites) != 2 {
		t.Errorf("joined totals %+v", got)
	}
	if _, err := Append([]byte("not xml")); err == nil {
		t.Error("appending to a broken document succeeded")
	}
}

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0.000", 1500 * time.Microsecond: "0.002", 93 * time.Second: "93.000"} {
		if got := Seconds(d); got != want {
			t.Errorf("Seconds(%s) = %s, want %s", d, got, want)
		}
	}
}
