package fstests

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"dioharness/harness/junit"
	"dioharness/harness/verdict"
)

// ParseXunit reads check's xunit report (check -R xunit): one
// <testsuite>, decoded leniently into the harness's JUnit model.
func ParseXunit(r io.Reader) (junit.Suite, error) {
	doc, err := junit.Decode(r)
	if err != nil {
		return junit.Suite{}, fmt.Errorf("fstests xunit report: %w", err)
	}
	if len(doc.Suites) != 1 {
		return junit.Suite{}, fmt.Errorf("fstests xunit report: %d test suites, want 1", len(doc.Suites))
	}
	return doc.Suites[0], nil
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
func ReadXunitDir(dir string) ([]junit.Suite, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []junit.Suite
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
func Cases(suites []junit.Suite) map[string]junit.Case {
	m := map[string]junit.Case{}
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
// and fstests' own. A case's kernel log joins its system-err.
func JoinJUnit(ours []byte, suites []junit.Suite) ([]byte, error) {
	var add []junit.Suite
	for _, s := range suites {
		js := junit.Suite{Name: "fstests " + s.Name, Tests: len(s.Cases), Time: s.Time, Properties: s.Properties}
		for _, c := range s.Cases {
			jc := junit.Case{ClassName: c.ClassName, Name: c.Name, Time: c.Time, SystemOut: c.SystemOut, SystemErr: c.SystemErr + c.KernelLog}
			switch c.Verdict() {
			case verdict.Fail:
				js.Failures++
				jc.Failure = &junit.Message{Message: c.Reason(), Type: c.Failure.Type}
			case verdict.Skip:
				js.Skipped++
				jc.Skipped = &junit.Message{Message: c.Reason()}
			}
			js.Cases = append(js.Cases, jc)
		}
		add = append(add, js)
	}
	return junit.Append(ours, add...)
}
