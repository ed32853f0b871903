package fstests

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"dioharness/harness/report"
	"dioharness/harness/verdict"
)

// Suite is fstests' xunit report (check -R xunit): one <testsuite>.
type Suite struct {
	Name       string     `xml:"name,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Time       string     `xml:"time,attr"`
	Properties []Property `xml:"properties>property"`
	Cases      []Case     `xml:"testcase"`
}

// Property is one <property name= value=> (the kernel, FSTYP, devices).
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Case is one <testcase>.
type Case struct {
	ClassName string   `xml:"classname,attr"`
	Name      string   `xml:"name,attr"`
	Time      string   `xml:"time,attr"`
	Skipped   *Message `xml:"skipped"`
	Failure   *Message `xml:"failure"`
	// SystemOut is the test's .full file, SystemErr the diff of its
	// output against the golden one, KernelLog its .dmesg file: check
	// writes them for a failed test.
	SystemOut string `xml:"system-out"`
	SystemErr string `xml:"system-err"`
	KernelLog string `xml:"kernel-log"`
}

// Message is a <skipped> or <failure>.
type Message struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
}

// VerdictOf is fstests' own verdict of a case: check's pass, fail and
// notrun (Skip).
func VerdictOf(c Case) verdict.Verdict {
	switch {
	case c.Failure != nil:
		return verdict.Fail
	case c.Skipped != nil:
		return verdict.Skip
	}
	return verdict.Pass
}

// Reason is the failure message or the reason the test did not run.
func (c Case) Reason() string {
	switch {
	case c.Failure != nil:
		return strings.TrimSpace(c.Failure.Message)
	case c.Skipped != nil:
		return strings.TrimSpace(c.Skipped.Message)
	}
	return ""
}

// Duration is the case's time attribute (whole seconds in check).
func (c Case) Duration() time.Duration {
	s, err := strconv.ParseFloat(c.Time, 64)
	if err != nil {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// ParseXunit reads check's xunit report.
func ParseXunit(r io.Reader) (Suite, error) {
	var s Suite
	dec := xml.NewDecoder(r)
	// check escapes control characters with cat -v but declares UTF-8
	// for whatever bytes a test printed: do not fail on them.
	dec.Strict = false
	dec.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	if err := dec.Decode(&s); err != nil {
		return Suite{}, fmt.Errorf("fstests xunit report: %w", err)
	}
	return s, nil
}

// Case returns the test case of test name ("generic/091").
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

// XunitDir is where, under RESULT_BASE, the guest keeps each test's
// xunit report: check rewrites result.xml on every run, and the guest
// runs it once per test.
const XunitDir = "xunit"

// XunitFile is the name of test's report in XunitDir.
func XunitFile(test string) string {
	return strings.ReplaceAll(test, "/", "_") + ".xml"
}

// ReadXunitDir reads every report in dir, in name order.
func ReadXunitDir(dir string) ([]Suite, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Suite
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		s, err := ParseXunit(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		out = append(out, s)
	}
	return out, nil
}

// Cases maps each test of suites to its case; a test reported twice
// (a fresh guest ran it again) keeps the last report.
func Cases(suites []Suite) map[string]Case {
	m := map[string]Case{}
	for _, s := range suites {
		for _, c := range s.Cases {
			m[c.Name] = c
		}
	}
	return m
}

// JoinJUnit adds fstests' suites to our JUnit document (as
// report.WriteJUnit writes it), one <testsuite> "fstests <name>" each,
// with the totals updated, so one file carries the harness's verdicts
// and fstests' own.
func JoinJUnit(ours []byte, suites []Suite) ([]byte, error) {
	var add []report.JUnitSuite
	for _, s := range suites {
		js := report.JUnitSuite{Name: "fstests " + s.Name, Tests: len(s.Cases), Time: s.Time}
		for _, p := range s.Properties {
			js.Properties = append(js.Properties, report.JUnitProperty{Name: p.Name, Value: p.Value})
		}
		for _, c := range s.Cases {
			jc := report.JUnitCase{ClassName: c.ClassName, Name: c.Name, Time: c.Time, SystemOut: c.SystemOut, SystemErr: c.SystemErr + c.KernelLog}
			switch VerdictOf(c) {
			case verdict.Fail:
				js.Failures++
				jc.Failure = &report.JUnitMessage{Message: c.Reason(), Type: c.Failure.Type}
			case verdict.Skip:
				js.Skipped++
				jc.Skipped = &report.JUnitMessage{Message: c.Reason()}
			}
			js.Cases = append(js.Cases, jc)
		}
		add = append(add, js)
	}
	return report.AppendJUnit(ours, add...)
}
