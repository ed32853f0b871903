package probe

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKallsymsNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want map[string]bool
	}{
		{"empty", "", map[string]bool{}},
		{
			name: "kernel and module symbols",
			in: "ffffffff81000000 T _text\n" +
				"ffffffff81234560 t should_fail_bio\n" +
				"ffffffffc0001000 t fuse_dev_do_read\t[fuse]\n",
			want: map[string]bool{"_text": true, "should_fail_bio": true, "fuse_dev_do_read": true},
		},
		{
			name: "short and unterminated lines",
			in:   "ffffffff81000000 T\n\nffffffff81000010 T should_failslab",
			want: map[string]bool{"should_failslab": true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, kallsymsNames([]byte(tc.in))); diff != "" {
				t.Errorf("kallsymsNames (-want +got):\n%s", diff)
			}
		})
	}
}
