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

func TestIdentityCheck(t *testing.T) {
	tests := []struct {
		id      Identity
		wantErr string
	}{
		{Identity{Name: "Ada Lovelace", Email: "ada@kernel.org"}, ""},
		{Identity{}, "no sender identity"},
		{Placeholder, "is the placeholder"},
		{Identity{Name: "Your Name", Email: "me@kernel.org"}, "is the placeholder"},
		{Identity{Name: "Ada", Email: "ada@users.noreply.example"}, "reserved domain example"},
		{Identity{Name: "Ada", Email: "ada@host.invalid"}, "reserved domain invalid"},
		{Identity{Name: "Ada", Email: "not an address"}, "sender"},
	}
	for _, tc := range tests {
		err := tc.id.Check()
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("Check(%v) = %v, want nil", tc.id, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Check(%v) = %v, want containing %q", tc.id, err, tc.wantErr)
		}
	}
}

func TestStamp(t *testing.T) {
	in := "From 1234 Mon Sep 17 00:00:00 2001\nFrom: Your Name\n <your.name@placeholder.invalid>\nSubject: [PATCH] x\n\n" +
		"body\n\nSigned-off-by: Your Name <your.name@placeholder.invalid>\n---\n"
	want := "From 1234 Mon Sep 17 00:00:00 2001\nFrom: Ada Lovelace <ada@kernel.org>\nSubject: [PATCH] x\n\n" +
		"body\n\nSigned-off-by: Ada Lovelace <ada@kernel.org>\n---\n"
	if d := cmp.Diff(want, Stamp(in, Identity{Name: "Ada Lovelace", Email: "ada@kernel.org"})); d != "" {
		t.Errorf("Stamp (-want +got):\n%s", d)
	}
	addressed := address(want, Recipients{To: []string{"a@b.org", "c@d.org"}, Cc: []string{"list@vger.kernel.org"}})
	if !strings.HasPrefix(addressed, "From 1234 Mon Sep 17 00:00:00 2001\nTo: a@b.org,\n    c@d.org\nCc: list@vger.kernel.org\nFrom: Ada") {
		t.Errorf("address:\n%s", addressed)
	}
}

func TestQuoteMatrix(t *testing.T) {
	dir := t.TempDir()
	cover := filepath.Join(dir, "v2-0000-cover-letter.patch")
	os.WriteFile(cover, []byte("Subject: [PATCH v2 0/2] x\n\nText.\n\nTest results\n------------\n\nold\n\nChangelog\n=========\nv2: y\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "v2-0001-a.patch"), []byte("Subject: [PATCH v2 1/2] fuse: fix a\n\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "v2-0002-b.patch"), []byte("Subject: [PATCH v2 2/2] fuse: fix b\n\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "series"), []byte("v2-0001-a.patch\nv2-0002-b.patch\n"), 0o644)
	m := report.BuildMatrix(
		report.Run{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}, Kernel: "7.3.4 abc1234", Source: "Debian linux-source-7.3 7.3.4-1~bpo13+1",
			Scenarios: []report.Scenario{{Name: "fuse/a", Area: "fuse", Verdict: verdict.Fail, Expected: verdict.Fail, Matches: true}}},
		report.Run{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Patched}, Kernel: "7.3.4 def5678",
			Scenarios: []report.Scenario{{Name: "fuse/a", Area: "fuse", Verdict: verdict.Pass, Expected: verdict.Pass, Matches: true}}},
	)
	if err := QuoteMatrix(dir, m, map[string]string{"fuse/a": "fuse: fix b"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(cover)
	want := "Subject: [PATCH v2 0/2] x\n\nText.\n\nTest results\n------------\n\n" +
		"v7.3 base:     7.3.4, local tree abc1234 (Debian linux-source-7.3 7.3.4-1~bpo13+1)\n" +
		"v7.3 patched:  7.3.4, local tree def5678\n\n" +
		"Scenarios that prove a patch of this series:\n\n" +
		"  scenario  base  patched  proves\n" +
		"  fuse/a    fail  pass     2/2\n\n" +
		"1 scenarios, 1 as declared on every kernel.\n" +
		"No kernel warning, BUG or lockdep report on any of these kernels.\n" +
		"\nChangelog\n=========\nv2: y\n"
	if d := cmp.Diff(want, string(got)); d != "" {
		t.Errorf("cover (-want +got):\n%s", d)
	}
	if err := QuoteMatrix(t.TempDir(), m, nil); err != nil {
		t.Errorf("a series without cover letter: %v", err)
	}
}

// TestMatrixText: scenarios of other series and areas are summarised per
// area; what did not go as declared and kernel reports are named.
func TestMatrixText(t *testing.T) {
	sc := func(name, area string, v, exp verdict.Verdict) report.Scenario {
		return report.Scenario{Name: name, Area: area, Verdict: v, Expected: exp, Matches: v == exp}
	}
	m := report.BuildMatrix(
		report.Run{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}, Kernel: "7.3.4 abc1234", KernelReports: []string{"WARNING: x"},
			Scenarios: []report.Scenario{
				sc("fuse/late", "fuse", verdict.Fail, verdict.Fail),
				sc("fuse/own", "fuse", verdict.Fail, verdict.Fail),
				sc("fuse/other", "fuse", verdict.Pass, verdict.Pass),
				sc("fuse/skips", "fuse", verdict.Skip, verdict.Skip),
				sc("ext4/iomap", "ext4", verdict.Fail, verdict.Fail),
				sc("ext4/plain", "ext4", verdict.Pass, verdict.Pass),
			}},
		report.Run{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Patched}, Kernel: "7.3.4 def5678",
			Scenarios: []report.Scenario{
				sc("fuse/late", "fuse", verdict.Pass, verdict.Pass),
				sc("fuse/own", "fuse", verdict.Pass, verdict.Pass),
				sc("fuse/other", "fuse", verdict.Fail, verdict.Pass),
				sc("fuse/skips", "fuse", verdict.Skip, verdict.Skip),
				sc("ext4/iomap", "ext4", verdict.Pass, verdict.Pass),
				sc("ext4/plain", "ext4", verdict.Pass, verdict.Pass),
			}},
	)
	got := MatrixText(m, []string{"fuse: fix a", "fuse: fix b"}, map[string]string{"fuse/late": "fuse: fix b", "fuse/own": "fuse: fix a", "fuse/skips": "fuse: fix b", "ext4/iomap": "iomap: fix"})
	want := "v7.3 base:     7.3.4, local tree abc1234\n" +
		"v7.3 patched:  7.3.4, local tree def5678\n\n" +
		"Scenarios that prove a patch of this series:\n\n" +
		"  scenario   base  patched  proves\n" +
		"  fuse/own   fail  pass     1/2\n" +
		"  fuse/late  fail  pass     2/2\n\n" +
		"Declared for a patch of this series but not a fail->pass pair on\nthese kernels, so not counted as proof:\n" +
		"  fuse/skips (2/2): base skip, patched skip\n\n" +
		"The rest of the catalogue on the same kernels:\n\n" +
		"  area  scenarios  pass on every kernel\n" +
		"  fuse  1          0\n" +
		"  ext4  2          1\n\n" +
		"Not passing there, as declared:\n" +
		"  ext4/iomap: base\n\n" +
		"6 scenarios, 5 as declared on every kernel.\n" +
		"Not as declared:\n" +
		"  fuse/other on v7.3 patched: fail, declared pass\n" +
		"Kernel reports on the console: v7.3 base 1.\n"
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("MatrixText (-want +got):\n%s", d)
	}
}
