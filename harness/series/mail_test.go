package series

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/kbase"
)

func TestStampShortlog(t *testing.T) {
	in := "Subject: [PATCH v3 0/2] x\n\nText.\n\nYour Name (2):\n  fuse: a\n  fuse: b\n"
	want := "Subject: [PATCH v3 0/2] x\n\nText.\n\nAda Lovelace (2):\n  fuse: a\n  fuse: b\n"
	if d := cmp.Diff(want, Stamp(in, Identity{Name: "Ada Lovelace", Email: "ada@kernel.org"})); d != "" {
		t.Errorf("Stamp (-want +got):\n%s", d)
	}
}

func TestTrailersAndRecipients(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "v3-0001-x.patch")
	os.WriteFile(p, []byte("From 1 Mon Sep 17 00:00:00 2001\nFrom: Your Name <your.name@placeholder.invalid>\nSubject: [PATCH] x\n\n"+
		"Body.\nCc: in the text is not a trailer without an address\n\n"+
		"Fixes: 8ee93b4bb626 (\"iomap: y\")\n"+
		"Cc: <stable+noautosel@kernel.org> # reason\n"+
		"Cc: stable@vger.kernel.org # v6.9+\n"+
		"Cc: Christoph Hellwig <hch@lst.de>\n"+
		"Cc: \"Darrick J. Wong\" <djwong@kernel.org>\n"+
		"Cc: linux-ext4@vger.kernel.org\n"+
		"Signed-off-by: Your Name <your.name@placeholder.invalid>\n---\n diff\n"), 0o644)
	got, err := Trailers(p)
	if err == nil {
		t.Fatalf("Trailers accepted a Cc: line without an address: %+v", got)
	}
	os.WriteFile(p, []byte(strings.Replace(mustRead(t, p), "Cc: in the text is not a trailer without an address\n", "", 1)), 0o644)
	got, err = Trailers(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Recipients{Cc: []string{"Christoph Hellwig <hch@lst.de>", `"Darrick J. Wong" <djwong@kernel.org>`, "linux-ext4@vger.kernel.org"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Trailers (-want +got):\n%s", d)
	}

	maint := Recipients{To: []string{"Christian Brauner <brauner@kernel.org>"}, Cc: []string{"linux-fsdevel@vger.kernel.org", "linux-ext4@vger.kernel.org"}}
	r, err := SeriesRecipients(maint, []string{p}, kbase.Mainline)
	if err != nil {
		t.Fatal(err)
	}
	want = Recipients{
		To: []string{"Christian Brauner <brauner@kernel.org>"},
		Cc: []string{`"Darrick J. Wong" <djwong@kernel.org>`, "Christoph Hellwig <hch@lst.de>", "linux-ext4@vger.kernel.org", "linux-fsdevel@vger.kernel.org"},
	}
	if d := cmp.Diff(want, r); d != "" {
		t.Errorf("mainline recipients (-want +got):\n%s", d)
	}
	r, err = SeriesRecipients(maint, []string{p}, kbase.Stable)
	if err != nil {
		t.Fatal(err)
	}
	want = Recipients{
		To: []string{"stable@vger.kernel.org"},
		Cc: []string{`"Darrick J. Wong" <djwong@kernel.org>`, "Christian Brauner <brauner@kernel.org>", "Christoph Hellwig <hch@lst.de>", "linux-ext4@vger.kernel.org", "linux-fsdevel@vger.kernel.org"},
	}
	if d := cmp.Diff(want, r); d != "" {
		t.Errorf("stable recipients (-want +got):\n%s", d)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// upstreamFixture is a git repository with a v7.3 tag, standing for a
// local clone of mainline.
func upstreamFixture(t *testing.T) (dir, commit string) {
	t.Helper()
	dir = t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q")
	run("commit", "-q", "--allow-empty", "-m", "Linux 7.3")
	run("tag", "-a", "-m", "Linux 7.3", "v7.3")
	return dir, run("rev-parse", "HEAD")
}

func TestResolveBase(t *testing.T) {
	local, commit := upstreamFixture(t)
	spec := kbase.Spec{Name: "v7.3", Upstream: "v7.3", Target: kbase.Mainline}
	ctx := context.Background()

	b, err := ResolveBase(ctx, spec, local)
	if err != nil || b.Commit != commit {
		t.Fatalf("from a local clone: %+v, %v; want %s", b, err, commit)
	}
	if b.Trailer() != "base-commit: "+commit {
		t.Errorf("Trailer = %q", b.Trailer())
	}
	recorded := spec
	recorded.BaseCommit = strings.Repeat("a", 40)
	if _, err := ResolveBase(ctx, recorded, local); err == nil || !strings.Contains(err.Error(), "records "+recorded.BaseCommit) {
		t.Errorf("a recorded id the clone contradicts: %v", err)
	}
	if b, err := ResolveBase(ctx, recorded, ""); err != nil || b.Commit != recorded.BaseCommit {
		t.Errorf("recorded: %+v, %v", b, err)
	}
	other := spec
	other.Upstream = "v7.4"
	if _, err := ResolveBase(ctx, other, local); err == nil || !strings.Contains(err.Error(), "no tag v7.4") {
		t.Errorf("a tag the clone lacks: %v", err)
	}
	// Nothing recorded and no repository to ask: a one-line reason that
	// says what to do, never a mail without base-commit:.
	unreachable := spec
	unreachable.Target = "nowhere"
	if _, err := ResolveBase(ctx, unreachable, ""); err == nil || !strings.Contains(err.Error(), "give UPSTREAM_GIT=") {
		t.Errorf("unresolvable: %v", err)
	}
}

func TestWithBase(t *testing.T) {
	b := Base{Commit: strings.Repeat("b", 40)}
	in := "Subject: x\n\nText.\n\n 1 file changed\n\n-- \n2.39.5\n"
	want := "Subject: x\n\nText.\n\n 1 file changed\n\nbase-commit: " + b.Commit + "\n-- \n2.39.5\n"
	if d := cmp.Diff(want, withBase(in, b)); d != "" {
		t.Errorf("withBase (-want +got):\n%s", d)
	}
}
