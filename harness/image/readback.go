package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// CopyOut copies directory dir (an absolute path inside the filesystem)
// of the ext4 image img to dest on the host, without mounting it: the
// host reads back what a guest wrote to a disk of its own. A guest that
// died may have left the journal unreplayed, so the image is checked and
// repaired first (the image is the run's own, never shared).
func CopyOut(ctx context.Context, img, dir, dest string) error {
	for _, tool := range []string{"e2fsck", "debugfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: install Debian package e2fsprogs (make deps)", tool)
		}
	}
	// e2fsck -p replays the journal and fixes what is safe to fix;
	// exit status 1 and 2 mean it did.
	out, err := exec.CommandContext(ctx, "e2fsck", "-p", img).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() <= 2) {
		return fmt.Errorf("e2fsck %s: %w: %s", img, err, strings.TrimSpace(string(out)))
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	// debugfs reports a missing path on stderr and exits 0: check the
	// path first.
	out, err = exec.CommandContext(ctx, "debugfs", "-R", "stat "+dir, img).CombinedOutput()
	if err != nil || strings.Contains(string(out), "File not found") {
		return fmt.Errorf("%s: no %s in the image: %s", img, dir, strings.TrimSpace(string(out)))
	}
	out, err = exec.CommandContext(ctx, "debugfs", "-R", "rdump "+dir+" "+dest, img).CombinedOutput()
	if err != nil {
		return fmt.Errorf("debugfs rdump %s from %s: %w: %s", dir, img, err, strings.TrimSpace(string(out)))
	}
	return nil
}
