package scenarios

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExt4RulesFor(t *testing.T) {
	tests := []struct {
		release string
		want    ext4Rules
		wantErr string
	}{
		{"6.12.117", ext4Rules612, ""},
		{"6.12.0-rc3", ext4Rules612, ""},
		{"6.1.0-28-amd64", ext4Rules612, ""},
		{"5.15.0", ext4Rules612, ""},
		{"7.3.4+", ext4Rules73, ""},
		{"7.3", ext4Rules73, ""},
		{"7.4.0-rc1", ext4Rules73, ""},
		{"8.0.0", ext4Rules73, ""},
		{"6.13.0", 0, "between 6.12 and 7.3"},
		{"7.2.13", 0, "between 6.12 and 7.3"},
		{"7.0.0", 0, "between 6.12 and 7.3"},
		{"", 0, "does not start with major.minor"},
		{"7", 0, "does not start with major.minor"},
		{"linux-7.3", 0, "does not start with major.minor"},
		{"7.x", 0, "does not start with major.minor"},
	}
	for _, tc := range tests {
		t.Run(tc.release, func(t *testing.T) {
			got, err := ext4RulesFor(tc.release)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ext4RulesFor(%q) = %v, %v; want an error containing %q", tc.release, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ext4RulesFor(%q): %v", tc.release, err)
			}
			if got != tc.want {
				t.Errorf("ext4RulesFor(%q) = %v, want %v", tc.release, got, tc.want)
			}
		})
	}
}

// TestExt4RuleTable: every rule set ext4RulesFor can return has complete
// expectations (a missing entry would silently expect empty lock traces).
func TestExt4RuleTable(t *testing.T) {
	var got []string
	for _, release := range []string{"6.12.0", "7.3.0"} {
		r, err := ext4RulesFor(release)
		if err != nil {
			t.Fatal(err)
		}
		exp, ok := ext4RuleTable[r]
		if !ok || exp.holeFillLocks == "" || exp.fallbackLocks == "" || len(exp.fallbackOrder) == 0 {
			t.Errorf("%v: incomplete expectations %+v", r, exp)
		}
		got = append(got, r.String())
	}
	if d := cmp.Diff([]string{"6.12 rules", "7.3 rules"}, got); d != "" {
		t.Errorf("rule sets (-want +got):\n%s", d)
	}
}
