package scenarios

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFioComplaint(t *testing.T) {
	for _, tc := range []struct {
		name, out, want string
	}{
		{"clean", "3;fio-3.33;dio-write;0;0\n3;fio-3.33;mmap-write;0;0\n", ""},
		{"no fadvise", "fio: cache invalidation of /mnt/one failed: Function not implemented\n3;fio-3.33;dio-write;0;0\n",
			"fio: cache invalidation of /mnt/one failed: Function not implemented"},
		{"enosys elsewhere", "posix_fadvise: Function not implemented\n", "posix_fadvise: Function not implemented"},
		{"verify", "  verify: bad header offset 4096\n", "verify: bad header offset 4096"},
		{"bad magic", "bad magic header 0, wanted acca\n", "bad magic header 0, wanted acca"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, fioComplaint(tc.out)); diff != "" {
				t.Errorf("fioComplaint (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFioJobs(t *testing.T) {
	out := "fio: some note\n3;fio-3.33;a;0;0\n3;fio-3.33;b;0;0\n\n"
	if got := fioJobs(out); got != 2 {
		t.Errorf("fioJobs = %d, want 2", got)
	}
}

func TestDifferingPages(t *testing.T) {
	a := pattern(4*page, 1)
	second := bytes.Clone(a)
	second[page+10] ^= 0xff
	twoLast := bytes.Clone(a)
	twoLast[2*page] ^= 1
	twoLast[4*page-1] ^= 1
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"equal", bytes.Clone(a), ""},
		{"one page", second, "1 pages, the first at index 1"},
		{"two pages", twoLast, "2 pages, the first at index 2"},
		{"short", a[:page], "16384 bytes against 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, differingPages(a, tc.b)); diff != "" {
				t.Errorf("differingPages (-want +got):\n%s", diff)
			}
		})
	}
}
