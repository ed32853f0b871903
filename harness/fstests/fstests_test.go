package fstests

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/junit"
	"dioharness/harness/kbase"
	"dioharness/harness/report"
	"dioharness/harness/verdict"
)

func names(ss []Setup) []string {
	var n []string
	for _, s := range ss {
		n = append(n, s.Name)
	}
	return n
}

func TestParseSetups(t *testing.T) {
	tests := []struct {
		spec string
		want []string
		err  string
	}{
		{"", []string{"ext4", "xfs", "fuse-cached", "fuse-direct-io", "fuse-parallel-odirect"}, ""},
		{"xfs", []string{"xfs"}, ""},
		{"fuse", []string{"fuse-cached", "fuse-direct-io", "fuse-parallel-odirect"}, ""},
		{"fuse-direct-io,ext4,fuse", []string{"fuse-direct-io", "ext4", "fuse-cached", "fuse-parallel-odirect"}, ""},
		{"fuse-parallel-odirect", []string{"fuse-parallel-odirect"}, ""},
		{"btrfs", nil, `bad FSTYP "btrfs"`},
	}
	for _, tc := range tests {
		got, err := ParseSetups(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSetups(%q) error %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSetups(%q): %v", tc.spec, err)
			continue
		}
		if d := cmp.Diff(tc.want, names(got)); d != "" {
			t.Errorf("ParseSetups(%q) (-want +got):\n%s", tc.spec, d)
		}
	}
}

func TestParseSelection(t *testing.T) {
	tests := []struct {
		spec string
		want Selection
		err  string
	}{
		{"generic/091 generic/095 generic/091", Selection{Tests: []string{"generic/091", "generic/095"}}, ""},
		{"selftest/006", Selection{Tests: []string{"selftest/006"}}, ""},
		{"-g quick -x dangerous,stress", Selection{Groups: []string{"quick"}, Exclude: []string{"dangerous", "stress"}}, ""},
		{"", Selection{}, "name tests"},
		{"-g", Selection{}, "-g needs a group"},
		{"-d generic/091", Selection{}, "only -g and -x"},
		{"generic/91", Selection{}, "not a test name"},
		{"-g quick generic/091", Selection{}, "not both"},
		{"@iomap-dio", Selection{Named: "iomap-dio"}, ""},
		{"@nothing", Selection{}, "no selection @nothing, want one of @iomap-dio"},
		{"@iomap-dio generic/091", Selection{}, "@iomap-dio stands alone"},
		{"generic/091 @iomap-dio", Selection{}, "@iomap-dio stands alone"},
	}
	for _, tc := range tests {
		got, err := ParseSelection(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSelection(%q) error %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSelection(%q): %v", tc.spec, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("ParseSelection(%q) (-want +got):\n%s", tc.spec, d)
		}
	}
}

// fakeCheckout writes tests with their _begin_fstest groups.
func fakeCheckout(t *testing.T, tests map[string]string) string {
	dir := t.TempDir()
	for name, groups := range tests {
		p := filepath.Join(dir, "tests", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		body := "#! /bin/bash\n. ./common/preamble\n_begin_fstest " + groups + "\n"
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+".out", []byte("QA output\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestExpand(t *testing.T) {
	dir := fakeCheckout(t, map[string]string{
		"generic/001": "rw auto quick",
		"generic/002": "auto dangerous",
		"generic/095": "auto quick rw stress mmap",
		"xfs/001":     "db auto quick",
		"ext4/001":    "auto quick",
	})
	xfs, _ := SetupNamed("xfs")
	fuse, _ := SetupNamed("fuse-cached")
	tests := []struct {
		spec  string
		setup Setup
		want  []string
		err   string
	}{
		{"-g quick", xfs, []string{"generic/001", "generic/095", "xfs/001"}, ""},
		{"-g quick", fuse, []string{"generic/001", "generic/095"}, ""},
		{"-g auto -x stress", xfs, []string{"generic/001", "generic/002", "xfs/001"}, ""},
		{"generic/095 xfs/001", fuse, []string{"generic/095", "xfs/001"}, ""},
		{"generic/999", xfs, nil, "no test generic/999"},
		{"-g nothing", xfs, nil, "selects no test"},
	}
	for _, tc := range tests {
		sel, err := ParseSelection(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sel.Expand(dir, tc.setup)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Expand(%q, %s) error %v, want %q", tc.spec, tc.setup.Name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Expand(%q, %s): %v", tc.spec, tc.setup.Name, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("Expand(%q, %s) (-want +got):\n%s", tc.spec, tc.setup.Name, d)
		}
	}
}

func TestLocalConfig(t *testing.T) {
	dev := Devices{Test: "/dev/vdb", Scratch: "/dev/vdc"}
	xfs, _ := SetupNamed("xfs")
	want := `export FSTYP="xfs"
export TEST_DIR="/mnt/test"
export SCRATCH_MNT="/mnt/scratch"
export RESULT_BASE="/mnt/results/fstests"
export TEST_DEV="/dev/vdb"
export SCRATCH_DEV="/dev/vdc"
`
	if d := cmp.Diff(want, LocalConfig(xfs, dev)); d != "" {
		t.Errorf("xfs config (-want +got):\n%s", d)
	}
	dio, _ := SetupNamed("fuse-direct-io")
	want = `export FSTYP="fuse"
export TEST_DIR="/mnt/test"
export SCRATCH_MNT="/mnt/scratch"
export RESULT_BASE="/mnt/results/fstests"
export FUSE_SUBTYP=".dioharness"
export TEST_DEV="dioharness-test"
export SCRATCH_DEV="dioharness-scratch"
export TEST_FS_MOUNT_OPTS="-o source=/srv/fuse/test/fs,allow_other,default_permissions,direct_io,parallel_direct_writes,direct_io_allow_mmap"
export MOUNT_OPTIONS="-o source=/srv/fuse/scratch/fs,allow_other,default_permissions,direct_io,parallel_direct_writes,direct_io_allow_mmap"
`
	if d := cmp.Diff(want, LocalConfig(dio, dev)); d != "" {
		t.Errorf("fuse-direct-io config (-want +got):\n%s", d)
	}
}

func readSuite(t *testing.T, name string) junit.Suite {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ParseXunit(f)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseXunit(t *testing.T) {
	tests := []struct {
		file, test string
		status     verdict.Verdict
		reason     string
		time       time.Duration
	}{
		{"result-fail.xml", "generic/091", verdict.Fail, "- output mismatch (see /mnt/results/fstests/generic/091.out.bad)", 93 * time.Second},
		{"result-notrun.xml", "generic/208", verdict.Skip, "aio-dio utilities required & not built", 2 * time.Second},
		{"result-pass.xml", "generic/647", verdict.Pass, "", 101 * time.Second},
	}
	for _, tc := range tests {
		s := readSuite(t, tc.file)
		c, ok := s.Case(tc.test)
		if !ok {
			t.Errorf("%s: no case %s", tc.file, tc.test)
			continue
		}
		if c.Verdict() != tc.status || c.Reason() != tc.reason || c.Duration() != tc.time {
			t.Errorf("%s: %s %q %s, want %s %q %s", tc.file, c.Verdict(), c.Reason(), c.Duration(), tc.status, tc.reason, tc.time)
		}
	}
	s := readSuite(t, "result-fail.xml")
	c, _ := s.Case("generic/091")
	if !strings.Contains(c.SystemErr, "+READ BAD DATA") || !strings.Contains(c.KernelLog, "WARNING:") || s.Property("KERNEL") != "7.3.4" {
		t.Errorf("failure detail lost: err %q log %q kernel %q", c.SystemErr, c.KernelLog, s.Property("KERNEL"))
	}
	if _, err := ParseXunit(strings.NewReader("<testsuite><testcase")); err == nil {
		t.Error("a truncated report parsed")
	}
}

func TestReadXunitDirAndJoin(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"result-fail.xml", "result-pass.xml"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	suites, err := ReadXunitDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	cases := Cases(suites)
	if len(cases) != 2 || cases["generic/091"].Verdict() != verdict.Fail || cases["generic/647"].Verdict() != verdict.Pass {
		t.Fatalf("cases %+v", cases)
	}
	var ours bytes.Buffer
	if err := report.WriteJUnit(&ours, report.Run{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base},
		Scenarios: []report.Scenario{{Name: "generic/091", Area: "fstests/xfs", Verdict: verdict.Fail, Expected: verdict.Pass, Reason: "output mismatch", Attempts: 1}}}); err != nil {
		t.Fatal(err)
	}
	joined, err := JoinJUnit(ours.Bytes(), suites)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(joined, &doc); err != nil {
		t.Fatalf("joined JUnit does not parse: %v\n%s", err, joined)
	}
	if doc.Tests != 3 || doc.Failures != 2 || len(doc.Suites) != 3 {
		t.Errorf("joined: %d tests, %d failures, %d suites; want 3, 2, 3\n%s", doc.Tests, doc.Failures, len(doc.Suites), joined)
	}
	if doc.Suites[1].Name != "fstests xfstests" || doc.Suites[1].Cases[0].Name != "generic/091" || doc.Suites[1].Cases[0].Failure == nil {
		t.Errorf("fstests' suite: %+v", doc.Suites[1])
	}
	if _, err := JoinJUnit([]byte("not xml"), suites); err == nil {
		t.Error("joining onto a broken document succeeded")
	}
}
