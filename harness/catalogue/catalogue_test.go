package catalogue

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/guestproto"
	"dioharness/harness/kbase"
	"dioharness/harness/verdict"
)

func TestLoad(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(c) == 0 {
		t.Fatalf("%s declares no scenario", File)
	}
	all, err := c.Lookup(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range all {
		if d.Manual {
			t.Errorf("the default selection holds manual scenario %s", d.Name)
		}
	}
}

func TestPatterns(t *testing.T) {
	tests := map[string][]string{
		"":                    nil,
		"all":                 nil,
		" fuse/*, ext4/a ,,":  {"fuse/*", "ext4/a"},
		"harness/hang,fuse/a": {"harness/hang", "fuse/a"},
	}
	for in, want := range tests {
		if d := cmp.Diff(want, Patterns(in)); d != "" {
			t.Errorf("Patterns(%q) (-want +got):\n%s", in, d)
		}
	}
}

func TestLookup(t *testing.T) {
	cat := Catalogue{
		{Name: "fuse/a", Area: "fuse", Setup: "s", Checks: "c"},
		{Name: "fuse/b", Area: "fuse", Setup: "s", Checks: "c"},
		{Name: "ext4/a", Area: "ext4", Setup: "s", Checks: "c"},
		{Name: "harness/fail", Area: "harness", Setup: "s", Checks: "c", Manual: true},
	}
	if err := guestproto.Declarations(cat).Validate(); err != nil {
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
			got, err := cat.Lookup(Patterns(tc.patterns))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got.Names()); d != "" {
				t.Errorf("selection (-want +got):\n%s", d)
			}
		})
	}
}

func TestRunOrder(t *testing.T) {
	cat := Catalogue{
		{Name: "fuse/a"}, {Name: "fuse/b"}, {Name: "ext4/c"}, {Name: "harness/hang", Manual: true},
	}
	tests := []struct {
		patterns string
		want     []string
	}{
		{"", []string{"fuse/a", "fuse/b", "ext4/c"}},
		{"harness/hang,fuse/a", []string{"harness/hang", "fuse/a"}},
		{"ext4/*,fuse/*", []string{"ext4/c", "fuse/a", "fuse/b"}},
		{"fuse/b,fuse/*", []string{"fuse/b", "fuse/a"}},
	}
	for _, tc := range tests {
		got, err := cat.RunOrder(Patterns(tc.patterns))
		if err != nil {
			t.Errorf("RunOrder(%q): %v", tc.patterns, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("RunOrder(%q) (-want +got):\n%s", tc.patterns, d)
		}
	}
	if _, err := cat.RunOrder(Patterns("fuse/a,nope")); err == nil {
		t.Errorf("runOrder with an unknown scenario succeeded")
	}
}

func TestExpected(t *testing.T) {
	const subject = "fuse: keep folio dirty when laundering it fails"
	fix := guestproto.Declaration{Patch: subject, FailsOnBase: "bug"}
	differs := guestproto.Declaration{Differs: map[string]string{"v6.12": "6.12 takes the lock exclusive"}}
	with := []string{"iomap: x", subject}
	tests := []struct {
		name string
		d    guestproto.Declaration
		k    Kernel
		want Expectation
	}{
		{"no patch, base", guestproto.Declaration{}, Kernel{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}}, Expectation{Verdict: verdict.Pass}},
		{"fix on base", fix, Kernel{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}}, Expectation{Verdict: verdict.Fail, Why: "bug"}},
		{"fix on patched with it", fix, Kernel{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Patched}, Patches: with}, Expectation{Verdict: verdict.Pass}},
		{"fix on patched without it", fix, Kernel{Variant: kbase.Variant{Base: "v6.12", Flavour: kbase.Patched}, Patches: []string{"iomap: x"}},
			Expectation{Verdict: verdict.Fail, Why: `the series of v6.12/patched do not carry "` + subject + `": bug`}},
		{"fix on a declared flavour with it", fix, Kernel{Variant: kbase.Variant{Base: "v7.3", Flavour: "pdio"}, Patches: append(with, "fuse: y")}, Expectation{Verdict: verdict.Pass}},
		{"fix on a declared flavour without it", fix, Kernel{Variant: kbase.Variant{Base: "v7.3", Flavour: "pdio"}, Patches: []string{"fuse: y"}},
			Expectation{Verdict: verdict.Fail, Why: `the series of v7.3/pdio do not carry "` + subject + `": bug`}},
		{"fix on custom", fix, Kernel{Variant: kbase.Variant{Flavour: kbase.Custom}}, Expectation{Verdict: verdict.Pass}},
		{"differs on its base", differs, Kernel{Variant: kbase.Variant{Base: "v6.12", Flavour: kbase.Patched}, Patches: with}, Expectation{Verdict: verdict.Fail, Why: "6.12 takes the lock exclusive"}},
		{"differs elsewhere", differs, Kernel{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}}, Expectation{Verdict: verdict.Pass}},
	}
	for _, tc := range tests {
		if d := cmp.Diff(tc.want, Expected(tc.d, tc.k)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}

func TestExpect(t *testing.T) {
	cat := Catalogue{
		{Name: "fuse/plain"},
		{Name: "fuse/fix", Patch: "fuse: fix", FailsOnBase: "the bug"},
	}
	expect := cat.Expect(Kernel{Variant: kbase.Variant{Base: "v7.3", Flavour: kbase.Base}})
	got := guestproto.Entries([]string{"fuse/plain", "fuse/fix"}, expect)
	want := []guestproto.Entry{{Name: "fuse/plain"}, {Name: "fuse/fix", XFail: true, Reason: "the bug"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("plan entries on the base kernel (-want +got):\n%s", d)
	}
}
