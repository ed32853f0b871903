package series

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/kbase"
	"dioharness/harness/report"
	"dioharness/harness/verdict"
)

// TestQuoteFSTests: the fstests section is added before the changelog
// the first time and replaced after, and the matrix quote leaves it
// alone.
func TestQuoteFSTests(t *testing.T) {
	dir := t.TempDir()
	cover := filepath.Join(dir, "v2-0000-cover-letter.patch")
	os.WriteFile(cover, []byte("Subject: x\n\nTest results\n------------\n\nmatrix\n\nChangelog\n=========\nv2: y\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "series"), nil, 0o644)
	line := "fstests generic/091 generic/095 on v7.3 (ext4, xfs): base 4 pass, 0 fail, 0 notrun, 0 timeout; patched 4 pass, 0 fail, 0 notrun, 0 timeout; 0 new failures on patched; 0 kernel reports"
	if err := QuoteFSTests(dir, "old summary"); err != nil {
		t.Fatal(err)
	}
	if err := QuoteFSTests(dir, line); err != nil {
		t.Fatal(err)
	}
	m := report.BuildMatrix(report.Run{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}, Kernel: "k",
		Scenarios: []report.Scenario{{Name: "fuse/a", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true}}})
	if err := QuoteMatrix(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(cover)
	fstests := "\nfstests\n-------\n\n" +
		"fstests generic/091 generic/095 on v7.3 (ext4, xfs): base 4 pass, 0\n" +
		"fail, 0 notrun, 0 timeout; patched 4 pass, 0 fail, 0 notrun, 0 timeout;\n" +
		"0 new failures on patched; 0 kernel reports\n" +
		"\nChangelog\n=========\nv2: y\n"
	if !strings.HasSuffix(string(got), fstests) || strings.Contains(string(got), "old summary") || strings.Count(string(got), "fstests\n-------") != 1 {
		t.Errorf("cover:\n%s", got)
	}
	if !strings.Contains(string(got), "Test results\n------------\n\nv7.3 base:") || strings.Contains(string(got), "\nmatrix\n") {
		t.Errorf("the matrix was not quoted:\n%s", got)
	}
	for _, l := range strings.Split(string(got), "\n") {
		if len(l) > 72 {
			t.Errorf("line longer than 72 columns: %q", l)
		}
	}
	if err := QuoteFSTests(t.TempDir(), line); err != nil {
		t.Errorf("a series without cover letter: %v", err)
	}
}

func TestWrap(t *testing.T) {
	if d := cmp.Diff("a bb\nccc", wrap("a bb ccc", 4)); d != "" {
		t.Errorf("wrap (-want +got):\n%s", d)
	}
}
