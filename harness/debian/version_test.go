package debian

import (
	"os/exec"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int // sign
	}{
		{"7.3.4-1~bpo13+1", "7.3.4-1~bpo13+1", 0},
		{"7.3.4-1~bpo13+1", "7.3.4-1", -1},
		{"7.3.5-1~bpo13+1", "7.3.4-1~bpo13+1", 1},
		{"7.3.10-1~bpo13+1", "7.3.9-2~bpo13+1", 1},
		{"6.12.117-1~deb12u1", "6.12.115-2~deb12u1", 1},
		{"6.12.117-1~deb12u1", "6.12.117-1~deb12u2", -1},
		{"1:1.0", "2.0", 1},
		{"1.0~rc1", "1.0", -1},
		{"1.0a", "1.0", 1},
		{"1.0+b1", "1.0", 1},
		{"1.0-1", "1.0-1.1", -1},
		{"007", "7", 0},
	}
	dpkg, _ := exec.LookPath("dpkg")
	for _, tc := range tests {
		got := sign(CompareVersions(tc.a, tc.b))
		if got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if dpkg == "" {
			continue
		}
		// Cross-check against dpkg itself where it is installed.
		op := map[int]string{-1: "lt", 0: "eq", 1: "gt"}[tc.want]
		if err := exec.Command(dpkg, "--compare-versions", tc.a, op, tc.b).Run(); err != nil {
			t.Errorf("dpkg --compare-versions %s %s %s disagrees with the table", tc.a, op, tc.b)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
