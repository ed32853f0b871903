package testrun

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// seedObj starts a kernel's second object directory (dst, a build with
// extra fragments) as a copy of its first (src, the scenario kernel of
// the same tree) when dst does not exist yet and src holds a built
// kernel. Kbuild records which CONFIG_ symbols each object depends on,
// so after the copy make rebuilds only the objects a fragment's options
// touch (a few hundred for kconfig/fstests) instead of the whole tree:
// a cold build of a new configuration shares nothing with the first in
// ccache when the options change widely included headers. The copy
// keeps the objects' times (cp -a), which make compares with the
// sources of the same tree.
func seedObj(ctx context.Context, src, dst string, log io.Writer) error {
	if _, err := os.Stat(dst); err == nil || !os.IsNotExist(err) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(src, "arch", "x86", "boot", "bzImage")); err != nil {
		return nil
	}
	fmt.Fprintf(log, "kernel: %s starts as a copy of %s\n", filepath.Base(dst), filepath.Base(src))
	tmp := dst + ".seed"
	os.RemoveAll(tmp)
	out, err := exec.CommandContext(ctx, "cp", "-a", "--reflink=auto", src, tmp).CombinedOutput()
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("copy %s to %s: %w: %s", src, dst, err, strings.TrimSpace(string(out)))
	}
	return os.Rename(tmp, dst)
}
