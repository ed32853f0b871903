package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// JUnitSuites is the JUnit XML document root.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one <testsuite>: one run.
type JUnitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []JUnitProperty `xml:"properties>property"`
	Cases      []JUnitCase     `xml:"testcase"`
}

// JUnitProperty is a <property name= value=>.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is one <testcase>.
type JUnitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitMessage `xml:"failure"`
	Error     *JUnitMessage `xml:"error"`
	Skipped   *JUnitMessage `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
	SystemErr string        `xml:"system-err,omitempty"`
}

// JUnitMessage is a <failure>, <error> or <skipped> element.
type JUnitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes r as JUnit XML: one <testsuite> named
// "dioharness-<flavour>" with a <testcase> per scenario (classname = area)
// plus the "infrastructure" and "kernel-reports" pseudo test cases when
// the run has an infrastructure error or kernel reports.
func WriteJUnit(w io.Writer, r Run) error {
	if err := writeXML(w, junitDoc(r)); err != nil {
		return fmt.Errorf("report: write JUnit for %s run: %w", r.Variant, err)
	}
	return nil
}

// junitDoc builds the JUnit document for r.
func junitDoc(r Run) JUnitSuites {
	s := JUnitSuite{
		Name: "dioharness-" + r.Variant.Slug(),
		Time: seconds(r.Duration),
		Properties: []JUnitProperty{
			{Name: "base", Value: r.Variant.Base},
			{Name: "flavour", Value: string(r.Variant.Flavour)},
			{Name: "source", Value: r.Source},
			{Name: "kernel", Value: r.Kernel},
		},
	}
	if !r.Started.IsZero() {
		s.Timestamp = r.Started.UTC().Format("2006-01-02T15:04:05")
	}
	for _, c := range cases(r) {
		s.Tests++
		jc := JUnitCase{ClassName: c.class, Name: c.name, Time: seconds(c.duration), SystemOut: systemOut(c)}
		body := strings.Join(c.detail, "\n")
		switch c.outcome {
		case failed:
			s.Failures++
			jc.Failure = &JUnitMessage{Message: c.message, Type: failureType(c), Body: body}
		case errored:
			s.Errors++
			jc.Error = &JUnitMessage{Message: c.message, Type: string(c.verdict), Body: body}
		case skipped:
			s.Skipped++
			jc.Skipped = &JUnitMessage{Message: c.message}
		}
		s.Cases = append(s.Cases, jc)
	}
	return JUnitSuites{
		Name:  "dioharness",
		Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped,
		Time:   s.Time,
		Suites: []JUnitSuite{s},
	}
}

// failureType is the JUnit failure type: the verdict, or the KTAP
// directive that says more (timeout, xpass).
func failureType(c testCase) string {
	switch c.directive {
	case "TIMEOUT", "XPASS":
		return strings.ToLower(c.directive)
	}
	return string(c.verdict)
}

// systemOut summarises a test case and its detail lines.
func systemOut(c testCase) string {
	if !c.timed { // pseudo test case: the detail is in the failure body
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "verdict: %s, expected: %s, attempts: %d\n", c.shownVerdict(), c.expected, c.attempts)
	if c.note != "" {
		b.WriteString(c.note + "\n")
	}
	for _, d := range c.detail {
		b.WriteString(d + "\n")
	}
	return b.String()
}

// AppendJUnit adds suites to a JUnit document WriteJUnit wrote and
// recomputes its totals, so that one file carries the harness's verdicts
// and those of a suite it ran (fstests' own xunit).
func AppendJUnit(doc []byte, suites ...JUnitSuite) ([]byte, error) {
	var root JUnitSuites
	if err := xml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("append to JUnit: %w", err)
	}
	root.Suites = append(root.Suites, suites...)
	root.Tests, root.Failures, root.Errors, root.Skipped = 0, 0, 0, 0
	for _, s := range root.Suites {
		root.Tests += s.Tests
		root.Failures += s.Failures
		root.Errors += s.Errors
		root.Skipped += s.Skipped
	}
	var b strings.Builder
	if err := writeXML(&b, root); err != nil {
		return nil, fmt.Errorf("append to JUnit: %w", err)
	}
	return []byte(b.String()), nil
}

// seconds formats d as JUnit time: seconds with millisecond precision.
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Round(time.Millisecond).Seconds(), 'f', 3, 64)
}

// writeXML writes the XML header and v indented by two spaces.
func writeXML(w io.Writer, v any) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
