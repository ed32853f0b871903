package debian

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFindMirrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    Mirrors
		wantErr bool
	}{
		{
			name: "deb822",
			files: map[string]string{"sources.list.d/debian.sources": `Types: deb
URIs: http://mirror.test/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.test/debian-security/
Suites: bookworm-security
Components: main
`},
			want: Mirrors{Archive: "http://mirror.test/debian", Security: "http://mirror.test/debian-security"},
		},
		{
			name: "one-line with options, disabled deb822 ignored",
			files: map[string]string{
				"sources.list":                 "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://a.test/debian bookworm main\ndeb-src http://src.test/debian bookworm main\ndeb http://s.test/sec bookworm-security main\n",
				"sources.list.d/other.sources": "Types: deb\nEnabled: no\nURIs: http://off.test/\nSuites: sid\n",
			},
			want: Mirrors{Archive: "http://a.test/debian", Security: "http://s.test/sec"},
		},
		{
			name:    "nothing configured",
			files:   map[string]string{"sources.list": "deb-src http://src.test/debian bookworm main\n"},
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DEBIAN_MIRROR", "")
			t.Setenv("DEBIAN_SECURITY_MIRROR", "")
			dir := t.TempDir()
			for name, text := range tc.files {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := FindMirrors(dir)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if d := cmp.Diff(tc.want, got); d != "" && !tc.wantErr {
				t.Errorf("mirrors (-want +got):\n%s", d)
			}
		})
	}
}

func TestFindMirrorsOverride(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DEBIAN_MIRROR", "http://override.test/debian/")
	t.Setenv("DEBIAN_SECURITY_MIRROR", "")
	got, err := FindMirrors(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(Mirrors{Archive: "http://override.test/debian"}, got); d != "" {
		t.Errorf("mirrors (-want +got):\n%s", d)
	}
	if _, err := got.For("bookworm-security"); err == nil {
		t.Error("For(bookworm-security) without a security mirror: want an error naming DEBIAN_SECURITY_MIRROR")
	}
}
