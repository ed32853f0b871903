package series

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/kbase"
)

const lintPatch = `From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001
From: Your Name <your.name@placeholder.invalid>
Date: Tue, 1 Dec 2026 10:19:46 +0000
Subject: [PATCH v3 1/1] fuse: fix a thing

The thing is broken.  Fix it in two places:

 - here,
 - and there.

Fixes: 3be5a52b30aa ("fuse: support writable mmap")
Cc: stable@vger.kernel.org
Signed-off-by: Your Name <your.name@placeholder.invalid>
---
 fs/fuse/file.c | 1 +
 1 file changed, 1 insertion(+)

diff --git a/fs/fuse/file.c b/fs/fuse/file.c
--- a/fs/fuse/file.c
+++ b/fs/fuse/file.c
@@ -1,1 +1,2 @@
 a
+b
-- 
2.39.5
`

const lintCover = `From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Your Name <your.name@placeholder.invalid>
Date: Tue, 1 Dec 2026 13:00:24 +0000
Subject: [PATCH v3 0/1] fuse: fix a thing

This fixes a thing; the scenarios below show it.

Test results
------------

v7.3 base:     7.3.4+ ddfc7a4ca8cb (Debian linux-source-7.3 7.3.4-1~bpo13+1)
v7.3 patched:  7.3.4+ 7b44ae7f647a (Debian linux-source-7.3 7.3.4-1~bpo13+1)

Scenarios that prove a patch of this series:

  scenario                   base  patched  proves
  fuse/launder-keeps-data    fail  pass     1/1

Changelog
=========

Changes since v2:
 - fixed.

Your Name (1):
  fuse: fix a thing

 fs/fuse/file.c | 1 +
 1 file changed, 1 insertion(+)

-- 
2.39.5
`

// writeSeries makes a series directory holding a cover letter and one
// patch, with edit applied to each.
func writeSeries(t *testing.T, cover, patch string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "patches", "v7.3", "fuse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"series":                         "v3-0001-fuse-fix-a-thing.patch\n",
		"v3-0001-fuse-fix-a-thing.patch": patch,
	}
	if cover != "" {
		files["v3-0000-cover-letter.patch"] = cover
	}
	for n, text := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLint(t *testing.T) {
	mainline := kbase.Spec{Name: "v7.3", Release: "v7.3.4", Upstream: "v7.3", Target: kbase.Mainline, Series: []string{"fuse"}}
	stable := kbase.Spec{Name: "v6.12", Release: "v6.12.117", Upstream: "v6.12.117", Target: kbase.Stable, Series: []string{"fuse"}}
	// The series under test ("fuse") as an RFC only a declared flavour carries.
	rfc := kbase.Spec{Name: "v7.3", Release: "v7.3.4", Upstream: "v7.3", Target: kbase.Mainline, Series: []string{"iomap"},
		Extra: []kbase.FlavourSpec{{Name: "rfc", Series: []string{"iomap", "fuse"}}}}
	rfcTable := func(verdicts string) string {
		return strings.Replace(lintCover, "  scenario                   base  patched  proves\n  fuse/launder-keeps-data    fail  pass     1/1\n",
			"  scenario                   base  patched  rfc   proves\n  fuse/launder-keeps-data    "+verdicts+"  1/1\n", 1)
	}
	tests := []struct {
		name         string
		spec         kbase.Spec
		cover, patch string
		want         []string // Finding.String() without the directory
	}{
		{name: "clean", spec: mainline, cover: lintCover, patch: lintPatch},
		{name: "no cover letter", spec: mainline, patch: lintPatch},
		{
			name: "placeholder left after stamping", spec: mainline, cover: lintCover,
			patch: strings.Replace(lintPatch, "Cc: stable@vger.kernel.org\n", "Cc: stable@vger.kernel.org\nReported-by: Your Name <your.name@placeholder.invalid>\n", 1),
			want:  []string{"v3-0001-fuse-fix-a-thing.patch:13: the placeholder identity survives stamping: Reported-by: Your Name <your.name@placeholder.invalid>"},
		},
		{
			name: "colon with nothing after it", spec: mainline, patch: lintPatch,
			cover: strings.Replace(lintCover, "This fixes a thing; the scenarios below show it.\n", "This fixes a thing, as shown with the series:\n\nTesting was done.\n", 1),
			want:  []string{"v3-0000-cover-letter.patch:6: the line ends in ':' but nothing follows it: This fixes a thing, as shown with the series:"},
		},
		{
			name: "colon at the end of the message", spec: mainline, cover: lintCover,
			patch: strings.Replace(lintPatch, "Signed-off-by: Your Name <your.name@placeholder.invalid>\n---", "Signed-off-by: Your Name <your.name@placeholder.invalid>\nTested with:\n---", 1),
			want:  []string{"v3-0001-fuse-fix-a-thing.patch:14: the line ends in ':' but nothing follows it: Tested with:"},
		},
		{
			name: "skip listed as proof", spec: mainline, patch: lintPatch,
			cover: strings.Replace(lintCover, "  fuse/launder-keeps-data    fail  pass     1/1\n", "  fuse/launder-keeps-data    fail  pass     1/1\n  fuse/selftest-wait         skip  skip     1/1\n", 1),
			want:  []string{"v3-0000-cover-letter.patch:18: fuse/selftest-wait is listed as proof but is skip on base, skip on patched, not a red->green pair (fail without the series, pass with it)"},
		},
		{
			name: "pass on both listed as proof", spec: mainline, patch: lintPatch,
			cover: strings.Replace(lintCover, "fail  pass     1/1", "pass  pass     1/1", 1),
			want:  []string{"v3-0000-cover-letter.patch:17: fuse/launder-keeps-data is listed as proof but is pass on base, not a red->green pair (fail without the series, pass with it)"},
		},
		{name: "RFC of a declared flavour", spec: rfc, patch: lintPatch, cover: rfcTable("fail  fail     pass")},
		{
			name: "RFC passing without it", spec: rfc, patch: lintPatch, cover: rfcTable("fail  pass     pass"),
			want: []string{"v3-0000-cover-letter.patch:17: fuse/launder-keeps-data is listed as proof but is pass on patched, not a red->green pair (fail without the series, pass with it)"},
		},
		{
			name: "proof table without a kernel that lacks the series", spec: rfc, patch: lintPatch,
			cover: strings.Replace(lintCover, "  scenario                   base  patched  proves\n  fuse/launder-keeps-data    fail  pass     1/1\n",
				"  scenario                   rfc   proves\n  fuse/launder-keeps-data    pass  1/1\n", 1),
			want: []string{"v3-0000-cover-letter.patch:16: the proof table has no column of a kernel with the series and one without it: scenario                   rfc   proves"},
		},
		{
			name: "results never filled in", spec: mainline, patch: lintPatch,
			cover: strings.Replace(lintCover, "Scenarios that prove a patch of this series:\n\n  scenario                   base  patched  proves\n  fuse/launder-keeps-data    fail  pass     1/1\n", resultsPlaceholder+"\n", 1),
			want:  []string{"v3-0000-cover-letter.patch:14: the test results were never filled in: run make qemu-test BASE=all (or make matrix, after one) to quote the latest full run"},
		},
		{
			name: "Fixes without a stable decision", spec: mainline, cover: lintCover,
			patch: strings.Replace(lintPatch, "Cc: stable@vger.kernel.org\n", "", 1),
			want:  []string{`v3-0001-fuse-fix-a-thing.patch:11: Fixes: without a stable decision: add Cc: stable@vger.kernel.org (with # version notes where needed) or Cc: <stable+noautosel@kernel.org> # reason`},
		},
		{
			name: "noautosel with its reason", spec: mainline, cover: lintCover,
			patch: strings.Replace(lintPatch, "Cc: stable@vger.kernel.org\n", "Cc: <stable+noautosel@kernel.org> # changes what write(2) returns\n", 1),
		},
		{
			name: "noautosel without a reason", spec: mainline, cover: lintCover,
			patch: strings.Replace(lintPatch, "Cc: stable@vger.kernel.org\n", "Cc: <stable+noautosel@kernel.org>\n", 1),
			want:  []string{"v3-0001-fuse-fix-a-thing.patch:12: Cc: <stable+noautosel@kernel.org> needs its reason after '#'"},
		},
		{
			name: "abbreviated Fixes", spec: mainline, cover: lintCover,
			patch: strings.Replace(lintPatch, `Fixes: 3be5a52b30aa ("fuse: support writable mmap")`, "Fixes: 3be5a52", 1),
			want:  []string{`v3-0001-fuse-fix-a-thing.patch:11: a Fixes: tag not of the form Fixes: <12+ hex> ("subject"): Fixes: 3be5a52`},
		},
		{
			name: "upstream id in a mainline series", spec: mainline, cover: lintCover,
			patch: strings.Replace(lintPatch, "The thing is broken.", "[ Upstream commit <UPSTREAM-ID> ]\n\nThe thing is broken.", 1),
			want:  []string{"v3-0001-fuse-fix-a-thing.patch:6: <UPSTREAM-ID> in a series sent to mainline: only stable backports name an upstream commit"},
		},
		{
			name: "upstream id in a stable backport is held, not wrong", spec: stable, cover: lintCover,
			patch: strings.Replace(lintPatch, "The thing is broken.", "[ Upstream commit <UPSTREAM-ID> ]\n\nThe thing is broken.", 1),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeSeries(t, tc.cover, tc.patch)
			got, err := Lint(dir, dir, tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, f := range got {
				lines = append(lines, f.String())
			}
			if diff := cmp.Diff(tc.want, lines); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHeld(t *testing.T) {
	dir := writeSeries(t, lintCover, strings.Replace(lintPatch, "The thing is broken.", "[ Upstream commit <UPSTREAM-ID> ]\n\nThe thing is broken.", 1))
	got, err := Held(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Line != 6 {
		t.Fatalf("Held = %v, want one finding on line 6", got)
	}
	clean := writeSeries(t, lintCover, lintPatch)
	if got, _ := Held(clean); len(got) != 0 {
		t.Fatalf("Held(clean) = %v, want none", got)
	}
}
