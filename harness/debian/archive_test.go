package debian

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestChoose(t *testing.T) {
	const pkg = "linux-source-7.3"
	tests := []struct {
		name     string
		recorded string
		served   []string
		want     Choice
		wantErr  bool
	}{
		{
			name: "recorded still served", recorded: "7.3.4-1~bpo13+1",
			served: []string{"7.3.5-1~bpo13+1", "7.3.4-1~bpo13+1"},
			want:   Choice{Package: pkg, Version: "7.3.4-1~bpo13+1", Recorded: "7.3.4-1~bpo13+1"},
		},
		{
			name: "replaced by a newer point release", recorded: "7.3.4-1~bpo13+1",
			served: []string{"7.3.9-1~bpo13+1", "7.3.10-1~bpo13+1"},
			want: Choice{Package: pkg, Version: "7.3.10-1~bpo13+1", Recorded: "7.3.4-1~bpo13+1",
				Note: "linux-source-7.3 7.3.4-1~bpo13+1 is no longer served; using the newest served 7.3.10-1~bpo13+1 (newer)"},
		},
		{
			name: "only an older one left", recorded: "7.3.4-1~bpo13+1",
			served: []string{"7.3.2-1~bpo13+1"},
			want: Choice{Package: pkg, Version: "7.3.2-1~bpo13+1", Recorded: "7.3.4-1~bpo13+1",
				Note: "linux-source-7.3 7.3.4-1~bpo13+1 is no longer served; using the newest served 7.3.2-1~bpo13+1 (older)"},
		},
		{name: "nothing served", recorded: "7.3.4-1~bpo13+1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Choose(pkg, tc.recorded, tc.served)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Choose (-want +got):\n%s", d)
			}
			if got.Drifted() != (tc.want.Version != tc.recorded) {
				t.Errorf("Drifted() = %v", got.Drifted())
			}
		})
	}
}
