package kbase

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeBase makes patches/<name>/BASE (and the series dirs it names).
func writeBase(t *testing.T, repo, name, text string, series ...string) {
	t.Helper()
	dir := filepath.Join(repo, "patches", name)
	for _, s := range series {
		if err := os.MkdirAll(filepath.Join(dir, s), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, s, "series"), nil, 0o644)
	}
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, SpecFile), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

const v73 = `# upstream target
release: v7.3.4
upstream: v7.3
package: linux-source-7.3 7.3.4-1~bpo13+1
suites: trixie-backports
series: iomap fuse
default: yes
`

const v612 = `release: v6.12.117
upstream: v6.12.117
target: stable
package: linux-source-6.12 6.12.117-1~deb12u1
suites: bookworm bookworm-security
series: stable
kconfig: kconfig/extra.config
`

func TestReadSpec(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		series  []string
		want    Spec
		wantErr string
	}{
		{
			name: "complete", text: v73, series: []string{"iomap", "fuse"},
			want: Spec{Name: "vX", Release: "v7.3.4", Upstream: "v7.3", Target: Mainline, Package: "linux-source-7.3", Version: "7.3.4-1~bpo13+1",
				Suites: []string{"trixie-backports"}, Series: []string{"iomap", "fuse"}, Default: true},
		},
		{
			name: "kconfig delta", text: v612, series: []string{"stable"},
			want: Spec{Name: "vX", Release: "v6.12.117", Upstream: "v6.12.117", Target: Stable, Package: "linux-source-6.12", Version: "6.12.117-1~deb12u1",
				Suites: []string{"bookworm", "bookworm-security"}, Series: []string{"stable"}, Kconfig: []string{"kconfig/extra.config"}},
		},
		{
			name: "reference, prerequisite, base-commit", series: []string{"iomap", "fuse"},
			text: v73 + "reference: linux-source-7.3 7.3~rc7-1~exp1 experimental\nprerequisite: fs/fuse/file.c: fuse: fix a\nprerequisite: fs/fuse/dir.c: fuse: fix b\nbase-commit: " + strings.Repeat("ab", 20) + "\n",
			want: Spec{Name: "vX", Release: "v7.3.4", Upstream: "v7.3", Target: Mainline, BaseCommit: strings.Repeat("ab", 20),
				Reference:     &Reference{Package: "linux-source-7.3", Version: "7.3~rc7-1~exp1", Suite: "experimental"},
				Prerequisites: []Prerequisite{{File: "fs/fuse/file.c", Subject: "fuse: fix a"}, {File: "fs/fuse/dir.c", Subject: "fuse: fix b"}},
				Package:       "linux-source-7.3", Version: "7.3.4-1~bpo13+1",
				Suites: []string{"trixie-backports"}, Series: []string{"iomap", "fuse"}, Default: true},
		},
		{name: "missing keys", text: "upstream: v7.3\n", wantErr: "missing release, package, suites"},
		{name: "stable tag as mainline upstream", text: strings.Replace(v73, "upstream: v7.3\n", "upstream: v7.3.4\n", 1), series: []string{"iomap", "fuse"}, wantErr: "a stable tag is not in mainline"},
		{name: "upstream of another release", text: strings.Replace(v73, "upstream: v7.3\n", "upstream: v7.2\n", 1), series: []string{"iomap", "fuse"}, wantErr: "is not of the release v7.3.4"},
		{name: "rc tag", text: strings.Replace(v73, "upstream: v7.3\n", "upstream: v7.3-rc7\n", 1), series: []string{"iomap", "fuse"},
			want: Spec{Name: "vX", Release: "v7.3.4", Upstream: "v7.3-rc7", Target: Mainline, Package: "linux-source-7.3", Version: "7.3.4-1~bpo13+1",
				Suites: []string{"trixie-backports"}, Series: []string{"iomap", "fuse"}, Default: true}},
		{name: "mainline tag for a stable target", text: strings.Replace(v612, "upstream: v6.12.117", "upstream: v6.12", 1), series: []string{"stable"}, wantErr: "want a stable tag v6.12.N"},
		{name: "short base-commit", text: v73 + "base-commit: 1234abcd\n", series: []string{"iomap", "fuse"}, wantErr: "want the 40 hex digits"},
		{name: "bad target", text: v73 + "target: next\n", series: []string{"iomap", "fuse"}, wantErr: "want mainline or stable"},
		{name: "bad prerequisite", text: v73 + "prerequisite: fuse: fix a\n", series: []string{"iomap", "fuse"}, wantErr: "want \"<file>: <subject>\""},
		{name: "unknown key", text: v73 + "colour: red\n", wantErr: `unknown key "colour"`},
		{name: "malformed", text: "nonsense\n", wantErr: "malformed line"},
		{name: "twice", text: v73 + "release: v7.3.5\n", wantErr: "release given twice"},
		{name: "bad release", text: strings.Replace(v73, "release: v7.3.4", "release: 7.3", 1), series: []string{"iomap", "fuse"}, wantErr: "want vX.Y or vX.Y.Z"},
		{name: "package of another release", text: strings.Replace(v73, "linux-source-7.3 ", "linux-source-7.2 ", 1), series: []string{"iomap", "fuse"}, wantErr: "does not carry release v7.3.4"},
		{name: "package without version", text: strings.Replace(v73, " 7.3.4-1~bpo13+1", "", 1), wantErr: "want \"linux-source-X.Y VERSION\""},
		{name: "series dir missing", text: v73, series: []string{"iomap"}, wantErr: "vX/fuse/series missing"},
		{name: "bad default", text: strings.Replace(v73, "default: yes", "default: perhaps", 1), series: []string{"iomap", "fuse"}, wantErr: "want yes or no"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			os.MkdirAll(filepath.Join(repo, "kconfig"), 0o755)
			os.WriteFile(filepath.Join(repo, "kconfig", "extra.config"), []byte("CONFIG_X=y\n"), 0o644)
			writeBase(t, repo, "vX", tc.text, tc.series...)
			got, err := ReadSpec(repo, filepath.Join(repo, "patches", "vX"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Dir = filepath.Join(repo, "patches", "vX")
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("spec (-want +got):\n%s", d)
			}
		})
	}
}

func TestLoadAndSelect(t *testing.T) {
	repo := t.TempDir()
	os.MkdirAll(filepath.Join(repo, "kconfig"), 0o755)
	os.WriteFile(filepath.Join(repo, "kconfig", "extra.config"), nil, 0o644)
	writeBase(t, repo, "v6.12", v612, "stable")
	writeBase(t, repo, "v7.3", v73, "iomap", "fuse")
	writeBase(t, repo, "v6.18", strings.NewReplacer("6.12.117", "6.18.5", "linux-source-6.12", "linux-source-6.18", "kconfig: kconfig/extra.config\n", "").Replace(v612), "stable")
	set, err := Load(repo)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"v7.3", "v6.18", "v6.12"}, set.Names()); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
	tests := []struct {
		sel     string
		want    []string
		wantErr string
	}{
		{sel: "", want: []string{"v7.3"}},
		{sel: "all", want: []string{"v7.3", "v6.18", "v6.12"}},
		{sel: "v6.12", want: []string{"v6.12"}},
		{sel: "v6.12,v7.3,v6.12", want: []string{"v7.3", "v6.12"}},
		{sel: "v5.10", wantErr: `unknown kernel base "v5.10", want all or one of v7.3, v6.18, v6.12`},
	}
	for _, tc := range tests {
		got, err := set.Select(tc.sel)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("Select(%q) err = %v, want %q", tc.sel, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Select(%q): %v", tc.sel, err)
			continue
		}
		if d := cmp.Diff(tc.want, got.Names()); d != "" {
			t.Errorf("Select(%q) (-want +got):\n%s", tc.sel, d)
		}
	}
}

func TestLoadNeedsOneDefault(t *testing.T) {
	repo := t.TempDir()
	writeBase(t, repo, "a", strings.Replace(v73, "default: yes\n", "", 1), "iomap", "fuse")
	if _, err := Load(repo); err == nil || !strings.Contains(err.Error(), "exactly one base") {
		t.Errorf("err = %v, want 'exactly one base'", err)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no kernel base") {
		t.Errorf("err = %v, want 'no kernel base'", err)
	}
}

func TestFlavoursAndVariants(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []Flavour
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "patched", want: []Flavour{Patched}},
		{in: "patched,base,patched", want: []Flavour{Patched, Base}},
		{in: "pdio,base", want: []Flavour{"pdio", Base}},
		{in: "custom", wantErr: true},
		{in: "bo/gus", wantErr: true},
		{in: "patched,", wantErr: true},
	} {
		got, err := ParseFlavours(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseFlavours(%q) err = %v", tc.in, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("ParseFlavours(%q) (-want +got):\n%s", tc.in, d)
		}
	}
	for _, v := range []Variant{{Base: "v7.3", Flavour: Patched}, {Base: "v6.12", Flavour: Base}, {Base: "v7.3", Flavour: "pdio"}, {Flavour: Custom}} {
		got, err := ParseVariant(v.String())
		if err != nil || got != v {
			t.Errorf("ParseVariant(%q) = %v, %v", v.String(), got, err)
		}
	}
	for _, bad := range []string{"v7.3/custom", "/base", "base", "v7.3/x y"} {
		if _, err := ParseVariant(bad); err == nil {
			t.Errorf("ParseVariant(%q) accepted", bad)
		}
	}
	if got := (Variant{Base: "v7.3", Flavour: Patched}).Slug(); got != "v7.3-patched" {
		t.Errorf("Slug = %q", got)
	}
}

func TestDeclaredFlavours(t *testing.T) {
	const rfc = "flavour: pdio iomap fuse stale pdio\nneeds: stale fuse\nneeds: pdio fuse stale\n"
	const v73s = "release: v7.3.4\nupstream: v7.3\npackage: linux-source-7.3 7.3.4-1~bpo13+1\nsuites: trixie-backports\nseries: iomap fuse stale\ndefault: yes\n"
	all := []string{"iomap", "fuse", "stale", "pdio"}
	tests := []struct {
		name, text string
		wantErr    string
	}{
		{name: "declared", text: v73s + rfc},
		{name: "reserved name", text: v73s + "flavour: patched pdio\n", wantErr: `flavour "patched pdio"`},
		{name: "twice", text: v73s + "flavour: pdio pdio\nflavour: pdio fuse pdio\n", wantErr: `flavour "pdio fuse pdio"`},
		{name: "no series", text: v73s + "flavour: pdio\n", wantErr: `flavour "pdio"`},
		{name: "missing series dir", text: v73s + "flavour: pdio pdio nope\n", wantErr: `series "nope"`},
		{name: "need after", text: v73s + "flavour: pdio pdio fuse stale\nneeds: pdio fuse\n", wantErr: "flavour pdio applies pdio without fuse before it"},
		{name: "patched order", text: strings.Replace(v73s, "series: iomap fuse stale", "series: iomap stale fuse", 1) + "needs: stale fuse\n", wantErr: "flavour patched applies stale without fuse"},
		{name: "unknown need", text: v73s + "needs: stale nope\n", wantErr: `"nope" is no series`},
		{name: "needs twice", text: v73s + "needs: stale fuse\nneeds: stale iomap\n", wantErr: `needs "stale iomap"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			writeBase(t, repo, "v7.3", tc.text, all...)
			s, err := ReadSpec(repo, filepath.Join(repo, "patches", "v7.3"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]Flavour{Base, Patched, "pdio"}, s.Flavours()); d != "" {
				t.Errorf("Flavours (-want +got):\n%s", d)
			}
			if d := cmp.Diff(all, s.AllSeries()); d != "" {
				t.Errorf("AllSeries (-want +got):\n%s", d)
			}
			for f, want := range map[Flavour][]string{Base: nil, Patched: {"iomap", "fuse", "stale"}, "pdio": {"iomap", "fuse", "stale", "pdio"}} {
				got, err := s.FlavourSeries(f)
				if err != nil || !cmp.Equal(want, got) {
					t.Errorf("FlavourSeries(%s) = %v, %v; want %v", f, got, err, want)
				}
			}
			if _, err := s.FlavourSeries("nope"); err == nil || !strings.Contains(err.Error(), "has no flavour") {
				t.Errorf("FlavourSeries(nope) err = %v", err)
			}
			var vs []string
			for _, v := range (Set{s, {Name: "v6.12"}}).Variants() {
				vs = append(vs, v.String())
			}
			if d := cmp.Diff([]string{"v7.3/base", "v7.3/patched", "v7.3/pdio", "v6.12/base", "v6.12/patched"}, vs); d != "" {
				t.Errorf("Variants (-want +got):\n%s", d)
			}
			if !s.HasFlavour("pdio") || s.HasFlavour("nope") {
				t.Errorf("HasFlavour wrong")
			}
			var got []string
			for _, d := range s.NeedsDirs("pdio") {
				got = append(got, filepath.Base(d))
			}
			if d := cmp.Diff([]string{"fuse", "stale"}, got); d != "" {
				t.Errorf("NeedsDirs(pdio) (-want +got):\n%s", d)
			}
			if n := s.NeedsDirs("iomap"); len(n) != 0 {
				t.Errorf("NeedsDirs(iomap) = %v", n)
			}
		})
	}
}
