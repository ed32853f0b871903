package debian

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The shape of Debian's linux changelog: stable updates list their
// commits under the ChangeLog link, one entry may carry two releases,
// and an update may give the link alone.
const changelogFixture = `linux (7.3.4-1) unstable; urgency=medium

  * New upstream stable update:
    https://www.kernel.org/pub/linux/kernel/v7.x/ChangeLog-7.3.4
    - fuse: don't launder folios of a bad inode
    - iio: adc: ti-ads1100: Fix incorrect reading when datarate changed in
      single mode
  * Debian's own change, not a stable commit

 -- A Maintainer <a@example.org>  Wed, 11 Nov 2026 07:56:59 +0100

linux (7.3.3-1) unstable; urgency=medium

  * New upstream stable update:
    https://www.kernel.org/pub/linux/kernel/v7.x/ChangeLog-7.3.2
    - fuse: don't BUG when the copy buffer is exhausted
    https://www.kernel.org/pub/linux/kernel/v7.x/ChangeLog-7.3.3
    - iomap: keep large chunks from defeating the bio cap

  [ Someone ]
  * [amd64] drivers/x: Enable Y as module

linux (7.3.1-1~exp1) experimental; urgency=medium

  * New upstream release: https://kernelnewbies.org/Linux_7.3
    - wifi: not a stable commit, a Debian patch listed under the release
  * New upstream stable update:
    https://www.kernel.org/pub/linux/kernel/v7.x/ChangeLog-7.3.1

  [ Someone Else ]
  * Introduce a build profile.
`

func TestStableCommits(t *testing.T) {
	got, bare, err := StableCommits(changelogFixture)
	if err != nil {
		t.Fatal(err)
	}
	want := []StableCommit{
		{"7.3.4", "fuse: don't launder folios of a bad inode"},
		{"7.3.4", "iio: adc: ti-ads1100: Fix incorrect reading when datarate changed in single mode"},
		{"7.3.2", "fuse: don't BUG when the copy buffer is exhausted"},
		{"7.3.3", "iomap: keep large chunks from defeating the bio cap"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("StableCommits (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"7.3.1"}, bare); d != "" {
		t.Errorf("releases without a list (-want +got):\n%s", d)
	}
}
