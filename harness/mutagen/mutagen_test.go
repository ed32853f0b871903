package mutagen

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const src = `// SPDX
static int helper(int a)
{
	return a + 1;
}

static ssize_t write_iter(struct kiocb *iocb, struct iov_iter *from,
			  bool *exclusive)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	ssize_t res;

	if (iocb->ki_pos + count > i_size && !shared)
		*exclusive = true;
	inode_lock_shared(inode);
	res = do_write(iocb, from);
	if (res < 0)
		goto out;
	update_size(inode, iocb->ki_pos + res - 1);
	if (IS_DAX(inode))
		return dax_write(iocb);
#ifdef CONFIG_X
	if (x <= 1)
		y();
#endif
	kfree(p);
out:
	inode_unlock_shared(inode);
	return res;
}
`

func lines() []string { return strings.Split(src, "\n") }

func TestFunctions(t *testing.T) {
	got := Functions(lines())
	want := []Func{{Name: "helper", Open: 2, Close: 4}, {Name: "write_iter", Open: 8, Close: 29}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Functions (-want +got):\n%s", d)
	}
}

func TestMutations(t *testing.T) {
	ls := lines()
	f, _ := Named(Functions(ls), "write_iter")
	var got []string
	for _, m := range Mutations("fs/x/file.c", ls, f) {
		got = append(got, string(m.Class)+": "+m.Describe())
	}
	want := []string{
		"negate-condition: if (iocb->ki_pos + count > i_size && !shared) => if (!(iocb->ki_pos + count > i_size && !shared))",
		"drop-condition: if (iocb->ki_pos + count > i_size && !shared) => if (!shared)",
		"drop-condition: if (iocb->ki_pos + count > i_size && !shared) => if (iocb->ki_pos + count > i_size)",
		"boundary: if (iocb->ki_pos + count > i_size && !shared) => if (iocb->ki_pos + count >= i_size && !shared)",
		"swap-lock: *exclusive = true; => *exclusive = false;",
		"drop-call: inode_lock_shared(inode); => {}",
		"swap-lock: inode_lock_shared(inode); => inode_lock(inode);",
		"negate-condition: if (res < 0) => if (!(res < 0))",
		"boundary: if (res < 0) => if (res <= 0)",
		"skip-error-return: goto out; => {}",
		"boundary: update_size(inode, iocb->ki_pos + res - 1); => update_size(inode, iocb->ki_pos + res);",
		"drop-call: update_size(inode, iocb->ki_pos + res - 1); => {}",
		"drop-call: inode_unlock_shared(inode); => {}",
		"swap-lock: inode_unlock_shared(inode); => inode_unlock(inode);",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Mutations (-want +got):\n%s", d)
	}
}

func TestHunkLines(t *testing.T) {
	diff := "diff --git a/fs/a.c b/fs/a.c\n--- a/fs/a.c\n+++ b/fs/a.c\n@@ -10,2 +12,3 @@ f\n-x\n+y\n@@ -40 +43,0 @@\n-z\n"
	got, err := HunkLines(diff)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string][]int{"fs/a.c": {12, 13, 14, 44}}, got); d != "" {
		t.Errorf("HunkLines (-want +got):\n%s", d)
	}
}

// A generated patch applies with git am to the file it was made from.
func TestPatchApplies(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t.invalid"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q")
	if err := os.MkdirAll(filepath.Join(dir, "fs/x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fs/x/file.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	run("add", ".")
	run("commit", "-qm", "base")
	ls := lines()
	f, _ := Named(Functions(ls), "write_iter")
	ms := Mutations("fs/x/file.c", ls, f)
	c := Candidate{Mutation: ms[len(ms)-1], Area: "x", Why: "test"}
	p, err := c.Patch(ls)
	if err != nil {
		t.Fatal(err)
	}
	pf := filepath.Join(t.TempDir(), "m.patch")
	if err := os.WriteFile(pf, p, 0o644); err != nil {
		t.Fatal(err)
	}
	run("am", "-q", pf)
	b, err := os.ReadFile(filepath.Join(dir, "fs/x/file.c"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\tinode_unlock(inode);\n\treturn res;") || strings.Contains(string(b), "inode_unlock_shared") {
		t.Errorf("the applied mutant does not swap the unlock:\n%s", b)
	}
}

// Sampling is reproducible and spreads over the classes.
func TestSelect(t *testing.T) {
	ls := lines()
	f, _ := Named(Functions(ls), "write_iter")
	var cands []Candidate
	for _, m := range Mutations("fs/fuse/file.c", ls, f) {
		cands = append(cands, Candidate{Mutation: m, Area: "fs/fuse"})
	}
	areas := []Area{{Name: "fs/fuse", Quota: 6}}
	a, b := Select(cands, areas, 1), Select(cands, areas, 1)
	if d := cmp.Diff(a, b); d != "" {
		t.Fatalf("seed 1 twice (-first +second):\n%s", d)
	}
	classes := map[Class]bool{}
	for _, c := range a {
		classes[c.Class] = true
	}
	if len(a) != 6 || len(classes) != 6 {
		t.Errorf("sample of %d with %d classes, want 6 of the 6 classes", len(a), len(classes))
	}
}
