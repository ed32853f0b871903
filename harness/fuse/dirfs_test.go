package fuse

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// mountDir mounts a server passing through to a fresh source directory.
func mountDir(t *testing.T, cfg Config) (src, mnt string, s *Server) {
	t.Helper()
	src = t.TempDir()
	cfg.Source = src
	cfg.DefaultPermissions = true
	s, mnt = mountTest(t, cfg)
	return src, mnt, s
}

// TestDirFSFiles drives the namespace and data operations through the
// mount and checks each against the source directory: the files are
// the source's files.
func TestDirFSFiles(t *testing.T) {
	src, mnt, _ := mountDir(t, Config{})
	p := func(n string) string { return filepath.Join(mnt, n) }
	must := func(err error, what string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must(os.Mkdir(p("d"), 0o750), "mkdir")
	must(os.WriteFile(p("d/f"), []byte("hello world"), 0o640), "create")
	if b, err := os.ReadFile(filepath.Join(src, "d/f")); err != nil || string(b) != "hello world" {
		t.Errorf("source holds %q, %v", b, err)
	}
	must(os.Link(p("d/f"), p("hard")), "link")
	must(os.Symlink("d/f", p("sym")), "symlink")
	if target, err := os.Readlink(p("sym")); err != nil || target != "d/f" {
		t.Errorf("readlink = %q, %v", target, err)
	}
	var a, b unix.Stat_t
	must(unix.Stat(p("d/f"), &a), "stat")
	must(unix.Stat(p("hard"), &b), "stat hard link")
	if a.Ino != b.Ino || a.Nlink != 2 {
		t.Errorf("hard link: ino %d and %d, nlink %d; want one inode with 2 links", a.Ino, b.Ino, a.Nlink)
	}
	if a.Mode&0o777 != 0o640 {
		t.Errorf("mode %o, want 640 (the server must not apply its own umask)", a.Mode&0o777)
	}
	must(os.Rename(p("hard"), p("d/moved")), "rename")
	must(os.Truncate(p("d/moved"), 5), "truncate")
	if got, _ := os.ReadFile(p("d/f")); string(got) != "hello" {
		t.Errorf("after truncate through the other name: %q", got)
	}
	must(os.Chmod(p("d/f"), 0o600), "chmod")
	ents, err := os.ReadDir(p("d"))
	must(err, "readdir")
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if d := cmp.Diff([]string{"f", "moved"}, names); d != "" {
		t.Errorf("readdir (-want +got):\n%s", d)
	}
	must(unix.Setxattr(p("d/f"), "user.test", []byte("v1"), 0), "setxattr")
	buf := make([]byte, 16)
	if n, err := unix.Getxattr(p("d/f"), "user.test", buf); err != nil || string(buf[:n]) != "v1" {
		t.Errorf("getxattr = %q, %v", buf[:n], err)
	}
	if n, err := unix.Getxattr(filepath.Join(src, "d/f"), "user.test", buf); err != nil || string(buf[:n]) != "v1" {
		t.Errorf("the source's xattr = %q, %v", buf[:n], err)
	}
	must(unix.Removexattr(p("d/f"), "user.test"), "removexattr")
	if _, err := os.Stat(p("nothing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat of a missing name: %v", err)
	}
	if err := os.Mkdir(p("d"), 0o755); !errors.Is(err, os.ErrExist) {
		t.Errorf("mkdir over a directory: %v, want EEXIST", err)
	}
	must(os.Remove(p("d/moved")), "unlink")
	must(os.Remove(p("sym")), "unlink symlink")
	if err := os.Remove(p("d")); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("rmdir of a non-empty directory: %v", err)
	}
	var st unix.Statfs_t
	must(unix.Statfs(mnt, &st), "statfs")
	var want unix.Statfs_t
	must(unix.Statfs(src, &want), "statfs source")
	if st.Blocks != want.Blocks || st.Bsize != want.Bsize {
		t.Errorf("statfs blocks %d bsize %d, want the source's %d %d", st.Blocks, st.Bsize, want.Blocks, want.Bsize)
	}
}

// TestDirFSOpenUnlinked: a file unlinked while open keeps its data
// (the node holds the inode), and a new file may reuse the name.
func TestDirFSOpenUnlinked(t *testing.T) {
	_, mnt, _ := mountDir(t, Config{})
	name := filepath.Join(mnt, "f")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("still here"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 10)
	if _, err := f.ReadAt(got, 0); err != nil || string(got) != "still here" {
		t.Errorf("unlinked file reads %q, %v", got, err)
	}
	if b, _ := os.ReadFile(name); string(b) != "new" {
		t.Errorf("the new file reads %q", b)
	}
}

// TestDirFSDirectIO: with FOPEN_DIRECT_IO every read and write reaches
// the server, an O_DIRECT open works (the backing open drops O_DIRECT),
// holes and data are seen through SEEK_DATA, and the data is the
// source's after the mount is gone.
func TestDirFSDirectIO(t *testing.T) {
	cfg := Config{Rules: []OpenRule{{OpenPolicy: OpenPolicy{DirectIO: true, ParallelDirectWrites: true}}}}
	src, mnt, s := mountDir(t, cfg)
	name := filepath.Join(mnt, "dio")
	fd, err := unix.Open(name, unix.O_CREAT|unix.O_RDWR|unix.O_DIRECT, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	page := bytes.Repeat([]byte{0xab}, 4096)
	if _, err := unix.Pwrite(fd, page, 1<<20); err != nil {
		t.Fatalf("pwrite past a hole: %v", err)
	}
	if err := unix.Fallocate(fd, 0, 0, 4096); err != nil {
		t.Fatalf("fallocate: %v", err)
	}
	if off, err := unix.Seek(fd, 8192, seekData); err != nil || off != 1<<20 {
		t.Errorf("SEEK_DATA from 8192 = %d, %v; want %d", off, err, 1<<20)
	}
	if err := unix.Fsync(fd); err != nil {
		t.Errorf("fsync: %v", err)
	}
	unix.Close(fd)
	st := s.Stats()
	if st.Count(OpWrite) == 0 {
		t.Errorf("no WRITE reached the server: %v", st.Counts)
	}
	for _, r := range s.Log() {
		if r.Op == OpCreate && r.Reply&FopenDirectIO == 0 {
			t.Errorf("CREATE replied %#x without FOPEN_DIRECT_IO", r.Reply)
		}
	}
	if err := s.Unmount(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(src, "dio"))
	if err != nil || len(b) != 1<<20+4096 || !bytes.Equal(b[1<<20:], page) {
		t.Errorf("source after unmount: %d bytes, %v", len(b), err)
	}
}

// TestDirFSCallerOwnsNewFiles: files a user creates are that user's on
// the source filesystem, made with the thread's fsuid and fsgid.
func TestDirFSCallerOwnsNewFiles(t *testing.T) {
	src, mnt, _ := mountDir(t, Config{})
	// The user must reach the mount: the test's temporary directories
	// are private (0700).
	for _, d := range []string{filepath.Dir(mnt), filepath.Dir(src), src} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(mnt, "shared")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	const uid, gid = 4242, 4343
	// A child process with the user's credentials: setuid would change
	// every thread of this test process.
	runAs(t, uid, gid, "touch", filepath.Join(dir, "mine"))
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(src, "shared", "mine"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != uid || st.Gid != gid {
		t.Errorf("a file created by %d:%d is owned by %d:%d", uid, gid, st.Uid, st.Gid)
	}
}

func TestDevEncoding(t *testing.T) {
	for _, d := range []struct{ major, minor uint32 }{{1, 3}, {8, 16}, {259, 70000}, {4095, 0xfffff}} {
		dev := unix.Mkdev(d.major, d.minor)
		if got := decodeDev(encodeDev(dev)); got != dev {
			t.Errorf("%d:%d: decode(encode) = %#x, want %#x", d.major, d.minor, got, dev)
		}
	}
	// The kernel's new_encode_dev of 8:16 (sdb).
	if got := encodeDev(unix.Mkdev(8, 16)); got != 0x810 {
		t.Errorf("encode 8:16 = %#x, want 0x810", got)
	}
}

func TestParseDirents(t *testing.T) {
	rec := func(ino uint64, typ uint8, name string) []byte {
		n := (19 + len(name) + 1 + 7) &^ 7
		b := make([]byte, n)
		ne.PutUint64(b[0:], ino)
		ne.PutUint16(b[16:], uint16(n))
		b[18] = typ
		copy(b[19:], name)
		return b
	}
	buf := append(append(rec(2, unix.DT_DIR, "."), rec(11, unix.DT_REG, "file")...), rec(12, unix.DT_LNK, "a-longer-name")...)
	want := []dirEntry{{".", 2, unix.DT_DIR}, {"file", 11, unix.DT_REG}, {"a-longer-name", 12, unix.DT_LNK}}
	if d := cmp.Diff(want, parseDirents(buf), cmp.AllowUnexported(dirEntry{})); d != "" {
		t.Errorf("parseDirents (-want +got):\n%s", d)
	}
	if got := parseDirents(buf[:10]); len(got) != 0 {
		t.Errorf("a short record parsed as %v", got)
	}
}

func TestSourceConfig(t *testing.T) {
	if _, err := New(Config{Source: t.TempDir(), Files: []FileSpec{{Path: "/x"}}}); err == nil {
		t.Error("a source directory with pre-populated files was accepted")
	}
	if _, err := New(Config{Source: "/nonexistent/dir"}); err == nil {
		t.Error("a missing source directory was accepted")
	}
	s, err := New(Config{Source: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if w := s.cfg.Capabilities.wanted(); w&(CapDoReaddirplus|CapReaddirplusAuto) != 0 {
		t.Errorf("a source directory asks for READDIRPLUS: %#x", w)
	}
}

// runAs runs a program with the given credentials and fails the test if
// it fails.
func runAs(t *testing.T, uid, gid uint32, argv ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v as %d:%d: %v: %s", argv, uid, gid, err, out)
	}
}
