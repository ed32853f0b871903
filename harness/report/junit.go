package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// junitSuites is the JUnit XML document root.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

// junitSuite is one <testsuite>: one run.
type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

// junitProperty is a <property name= value=>.
type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// junitCase is one <testcase>.
type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure"`
	Error     *junitMessage `xml:"error"`
	Skipped   *junitMessage `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// junitMessage is a <failure>, <error> or <skipped> element.
type junitMessage struct {
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
func junitDoc(r Run) junitSuites {
	s := junitSuite{
		Name: "dioharness-" + r.Variant.Slug(),
		Time: seconds(r.Duration),
		Properties: []junitProperty{
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
		jc := junitCase{ClassName: c.class, Name: c.name, Time: seconds(c.duration), SystemOut: systemOut(c)}
		body := strings.Join(c.detail, "\n")
		switch c.outcome {
		case failed:
			s.Failures++
			jc.Failure = &junitMessage{Message: c.message, Type: failureType(c), Body: body}
		case errored:
			s.Errors++
			jc.Error = &junitMessage{Message: c.message, Type: string(c.verdict), Body: body}
		case skipped:
			s.Skipped++
			jc.Skipped = &junitMessage{Message: c.message}
		}
		s.Cases = append(s.Cases, jc)
	}
	return junitSuites{
		Name:  "dioharness",
		Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped,
		Time:   s.Time,
		Suites: []junitSuite{s},
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
