package scenario

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/kbase"
	"dioharness/harness/verdict"
)

func TestLookup(t *testing.T) {
	noop := func(*T) {}
	cat := Catalogue{
		{Name: "fuse/a", Area: "fuse", Setup: "s", Checks: "c", Run: noop},
		{Name: "fuse/b", Area: "fuse", Setup: "s", Checks: "c", Run: noop},
		{Name: "ext4/a", Area: "ext4", Setup: "s", Checks: "c", Run: noop},
		{Name: "harness/fail", Area: "harness", Setup: "s", Checks: "c", Run: noop, Manual: true},
	}
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		patterns string
		want     []string
		wantErr  string
	}{
		{patterns: "", want: []string{"fuse/a", "fuse/b", "ext4/a"}},
		{patterns: "fuse/*", want: []string{"fuse/a", "fuse/b"}},
		{patterns: "ext4/a,fuse/b", want: []string{"fuse/b", "ext4/a"}},
		{patterns: "*/*", want: []string{"fuse/a", "fuse/b", "ext4/a"}},
		{patterns: "harness/fail", want: []string{"harness/fail"}},
		{patterns: "harness/*", wantErr: `unknown scenario "harness/*"`},
		{patterns: "nope", wantErr: `unknown scenario "nope"`},
		{patterns: "[", wantErr: "bad scenario pattern"},
	}
	for _, tc := range tests {
		t.Run(tc.patterns, func(t *testing.T) {
			got, err := cat.Lookup(tc.patterns)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range got {
				names = append(names, s.Name)
			}
			if d := cmp.Diff(tc.want, names); d != "" {
				t.Errorf("selection (-want +got):\n%s", d)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	noop := func(*T) {}
	tests := []struct {
		name string
		cat  Catalogue
		want string
	}{
		{"duplicate", Catalogue{{Name: "fuse/a", Area: "fuse", Setup: "s", Checks: "c", Run: noop}, {Name: "fuse/a", Area: "fuse", Setup: "s", Checks: "c", Run: noop}}, "duplicate"},
		{"area prefix", Catalogue{{Name: "ext4/a", Area: "fuse", Setup: "s", Checks: "c", Run: noop}}, "must start with its area"},
		{"unknown area", Catalogue{{Name: "nfs/a", Area: "nfs", Setup: "s", Checks: "c", Run: noop}}, "unknown area"},
		{"no checks", Catalogue{{Name: "fuse/a", Area: "fuse", Setup: "s", Run: noop}}, "needs Run, Setup and Checks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cat.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRunVerdicts(t *testing.T) {
	tests := []struct {
		name   string
		body   func(*T)
		want   verdict.Verdict
		reason string
	}{
		{"pass", func(t *T) { t.Logf("fine") }, verdict.Pass, ""},
		{"fatal", func(t *T) { t.Fatalf("boom %d", 1); t.Errorf("not reached") }, verdict.Fail, "boom 1"},
		{"error continues", func(t *T) { t.Errorf("first"); t.Errorf("second") }, verdict.Fail, "first"},
		{"skip", func(t *T) { t.Skipf("no probe") }, verdict.Skip, "no probe"},
		{"panic", func(t *T) { panic("oops") }, verdict.Fail, "panic: oops"},
		{"cleanup error", func(t *T) { t.Cleanup(func() { t.Errorf("cleanup failed") }) }, verdict.Fail, "cleanup failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t.Context(), Scenario{Name: "fuse/x", Run: tc.body}, NewEnv("/init", t.TempDir()))
			if r.Verdict != tc.want || !strings.HasPrefix(r.Reason, tc.reason) {
				t.Errorf("verdict %s (%q), want %s (%q)", r.Verdict, r.Reason, tc.want, tc.reason)
			}
		})
	}
}

func TestExpected(t *testing.T) {
	const subject = "fuse: keep folio dirty when laundering it fails"
	fix := Scenario{Patch: subject, FailsOnBase: "bug"}
	differs := Scenario{Differs: map[string]string{"v6.12": "6.12 takes the lock exclusive"}}
	with := []string{"iomap: x", subject}
	tests := []struct {
		name string
		s    Scenario
		k    Kernel
		want Expectation
	}{
		{"no patch, base", Scenario{}, Kernel{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}}, Expectation{Verdict: verdict.Pass}},
		{"fix on base", fix, Kernel{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}}, Expectation{Verdict: verdict.Fail, Why: "bug"}},
		{"fix on patched with it", fix, Kernel{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Patched}, Patches: with}, Expectation{Verdict: verdict.Pass}},
		{"fix on patched without it", fix, Kernel{Variant: kbase.Variant{Base: "v6.12", Flavour: kbase.Patched}, Patches: []string{"iomap: x"}},
			Expectation{Verdict: verdict.Fail, Why: `the v6.12 series does not carry "` + subject + `": bug`}},
		{"fix on custom", fix, Kernel{Variant: kbase.Variant{Flavour: kbase.Custom}}, Expectation{Verdict: verdict.Pass}},
		{"differs on its base", differs, Kernel{Variant: kbase.Variant{Base: "v6.12", Flavour: kbase.Patched}, Patches: with}, Expectation{Verdict: verdict.Fail, Why: "6.12 takes the lock exclusive"}},
		{"differs elsewhere", differs, Kernel{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}}, Expectation{Verdict: verdict.Pass}},
	}
	for _, tc := range tests {
		if d := cmp.Diff(tc.want, tc.s.Expected(tc.k)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}

func TestValidateDeclarations(t *testing.T) {
	noop := func(*T) {}
	for _, s := range []Scenario{
		{Name: "fuse/a", Area: "fuse", Setup: "s", Checks: "c", Run: noop, Patch: "fuse: x"},
		{Name: "fuse/a", Area: "fuse", Setup: "s", Checks: "c", Run: noop, FailsOnBase: "why"},
		{Name: "fuse/a", Area: "fuse", Setup: "s", Checks: "c", Run: noop, Differs: map[string]string{"v6.12": ""}},
	} {
		if err := (Catalogue{s}).Validate(); err == nil {
			t.Errorf("Validate accepted %+v", s)
		}
	}
}
