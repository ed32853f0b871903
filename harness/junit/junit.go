// Package junit is the harness's one JUnit XML model: report writes its
// runs with it, and fstests' own xunit reports (check -R xunit) decode
// into the same types, leniently, so that one file can carry both.
package junit

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"dioharness/harness/verdict"
)

// Suites is the document root, <testsuites>.
type Suites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     string   `xml:"time,attr"`
	Suites   []Suite  `xml:"testsuite"`
}

// Suite is one <testsuite>: one run of the harness, or one fstests
// report.
type Suite struct {
	Name       string     `xml:"name,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Errors     int        `xml:"errors,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Time       string     `xml:"time,attr"`
	Timestamp  string     `xml:"timestamp,attr,omitempty"`
	Properties []Property `xml:"properties>property"`
	Cases      []Case     `xml:"testcase"`
}

// Property is a <property name= value=> (fstests: the kernel, FSTYP,
// the devices).
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Case is one <testcase>.
type Case struct {
	ClassName string   `xml:"classname,attr"`
	Name      string   `xml:"name,attr"`
	Time      string   `xml:"time,attr"`
	Failure   *Message `xml:"failure"`
	Error     *Message `xml:"error"`
	Skipped   *Message `xml:"skipped"`
	SystemOut string   `xml:"system-out,omitempty"`
	SystemErr string   `xml:"system-err,omitempty"`
	// KernelLog is fstests' <kernel-log>, the test's .dmesg file (its
	// SystemOut is the .full file, SystemErr the diff of its output
	// against the golden one).
	KernelLog string `xml:"kernel-log,omitempty"`
}

// Message is a <failure>, <error> or <skipped> element.
type Message struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

// Verdict is the case's outcome: a failure fails, an error is an error,
// a skipped case (fstests' notrun) is skipped, any other passed.
func (c Case) Verdict() verdict.Verdict {
	switch {
	case c.Failure != nil:
		return verdict.Fail
	case c.Error != nil:
		return verdict.Error
	case c.Skipped != nil:
		return verdict.Skip
	}
	return verdict.Pass
}

// Reason is the message of the failure, error or skip, trimmed.
func (c Case) Reason() string {
	for _, m := range []*Message{c.Failure, c.Error, c.Skipped} {
		if m != nil {
			return strings.TrimSpace(m.Message)
		}
	}
	return ""
}

// Duration is the case's time attribute (seconds, possibly fractional).
func (c Case) Duration() time.Duration {
	s, err := strconv.ParseFloat(c.Time, 64)
	if err != nil {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// Case returns the case named name.
func (s Suite) Case(name string) (Case, bool) {
	for _, c := range s.Cases {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}

// Property returns the value of a property, or "".
func (s Suite) Property(name string) string {
	for _, p := range s.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// Seconds formats d as a JUnit time: seconds, millisecond precision.
func Seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Round(time.Millisecond).Seconds(), 'f', 3, 64)
}

// Write writes doc with the XML header, indented by two spaces.
func Write(w io.Writer, doc Suites) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// Decode reads a JUnit document leniently: the root may be <testsuites>
// or a lone <testsuite> (fstests writes one), bytes that are not UTF-8
// become U+FFFD whatever the declaration says (check escapes control
// characters with cat -v but declares UTF-8 for what a test printed),
// and elements the model lacks are ignored.
func Decode(r io.Reader) (Suites, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return Suites{}, fmt.Errorf("junit: %w", err)
	}
	dec := xml.NewDecoder(bytes.NewReader(bytes.ToValidUTF8(b, []byte("\uFFFD"))))
	dec.Strict = false
	dec.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	for {
		tok, err := dec.Token()
		if err != nil {
			return Suites{}, fmt.Errorf("junit: no <testsuites> or <testsuite>: %w", err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch start.Name.Local {
		case "testsuites":
			var doc Suites
			if err := dec.DecodeElement(&doc, &start); err != nil {
				return Suites{}, fmt.Errorf("junit: %w", err)
			}
			return doc, nil
		case "testsuite":
			var s Suite
			if err := dec.DecodeElement(&s, &start); err != nil {
				return Suites{}, fmt.Errorf("junit: %w", err)
			}
			return Suites{Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped, Time: s.Time, Suites: []Suite{s}}, nil
		}
		return Suites{}, fmt.Errorf("junit: root element <%s>, want <testsuites> or <testsuite>", start.Name.Local)
	}
}

// Append adds suites to the JUnit document doc and recomputes its totals,
// so that one file carries the harness's verdicts and those of a suite it
// ran (fstests' own).
func Append(doc []byte, suites ...Suite) ([]byte, error) {
	var root Suites
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
	if err := Write(&b, root); err != nil {
		return nil, fmt.Errorf("append to JUnit: %w", err)
	}
	return []byte(b.String()), nil
}
