package fuse

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// TestOperations exercises every implemented operation with ordinary
// syscalls and checks the server saw each opcode and holds the right bytes.
func TestOperations(t *testing.T) {
	s, mnt := mountTest(t, Config{Workers: 3})
	p := func(name string) string { return filepath.Join(mnt, name) }

	t.Run("create write read", func(t *testing.T) {
		data := bytes.Repeat([]byte("0123456789abcdef"), 5000) // 80000 bytes
		if err := os.WriteFile(p("f"), data, 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p("f"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("read back %d bytes, differ from written", len(got))
		}
		srv, err := s.FileContent("/f")
		if err != nil || !bytes.Equal(srv, data) {
			t.Errorf("server content differs (%d bytes, %v)", len(srv), err)
		}
	})

	t.Run("getattr", func(t *testing.T) {
		fi, err := os.Stat(p("f"))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := s.NodeID("/f")
		got := []any{fi.Size(), fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Ino}
		want := []any{int64(80000), os.FileMode(0o640), id}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stat (-want +got):\n%s", diff)
		}
	})

	t.Run("setattr", func(t *testing.T) {
		if err := os.Truncate(p("f"), 100); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p("f"), 0o600); err != nil {
			t.Fatal(err)
		}
		mt := time.Date(2001, 2, 3, 4, 5, 6, 7000, time.UTC)
		if err := os.Chtimes(p("f"), mt, mt); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p("f"))
		if err != nil {
			t.Fatal(err)
		}
		got := []any{fi.Size(), fi.Mode().Perm(), fi.ModTime().UTC()}
		want := []any{int64(100), os.FileMode(0o600), mt}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("after setattr (-want +got):\n%s", diff)
		}
		// Extending must read zeros, not the truncated bytes.
		if err := os.Truncate(p("f"), 200); err != nil {
			t.Fatal(err)
		}
		b, _ := s.FileContent("/f")
		if !bytes.Equal(b[100:], make([]byte, 100)) {
			t.Errorf("extended tail not zero: %q", b[100:])
		}
	})

	t.Run("mknod mkdir readdir", func(t *testing.T) {
		if err := unix.Mknod(p("node"), syscall.S_IFREG|0o644, 0); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(p("d"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"b", "a", "c"} {
			if err := os.WriteFile(p("d/"+n), []byte(n), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ents, err := os.ReadDir(p("d"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		if diff := cmp.Diff([]string{"a", "b", "c"}, names); diff != "" {
			t.Errorf("readdir (-want +got):\n%s", diff)
		}
	})

	t.Run("rename rename2", func(t *testing.T) {
		if err := os.Rename(p("d/a"), p("d/z")); err != nil {
			t.Fatal(err)
		}
		err := unix.Renameat2(unix.AT_FDCWD, p("d/b"), unix.AT_FDCWD, p("d/c"), unix.RENAME_NOREPLACE)
		if !errors.Is(err, syscall.EEXIST) {
			t.Errorf("RENAME_NOREPLACE onto existing: %v, want EEXIST", err)
		}
		if err := unix.Renameat2(unix.AT_FDCWD, p("d/b"), unix.AT_FDCWD, p("d/c"), unix.RENAME_EXCHANGE); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, n := range []string{"/d/b", "/d/c", "/d/z"} {
			b, err := s.FileContent(n)
			if err != nil {
				t.Fatal(err)
			}
			got[n] = string(b)
		}
		if diff := cmp.Diff(map[string]string{"/d/b": "c", "/d/c": "b", "/d/z": "a"}, got); diff != "" {
			t.Errorf("after renames (-want +got):\n%s", diff)
		}
	})

	t.Run("unlink rmdir", func(t *testing.T) {
		for _, n := range []string{"d/b", "d/c", "d/z"} {
			if err := os.Remove(p(n)); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Remove(p("d")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.NodeID("/d"); !errors.Is(err, Errno(syscall.ENOENT)) {
			t.Errorf("NodeID of removed dir: %v", err)
		}
	})

	t.Run("fsync fallocate lseek statfs", func(t *testing.T) {
		f, err := os.OpenFile(p("g"), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write([]byte("abc")); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := unix.Fallocate(int(f.Fd()), 0, 0, 8192); err != nil {
			t.Fatal(err)
		}
		hole, err := unix.Seek(int(f.Fd()), 0, unix.SEEK_HOLE)
		if err != nil {
			t.Fatal(err)
		}
		data, err := unix.Seek(int(f.Fd()), 10, unix.SEEK_DATA)
		if err != nil {
			t.Fatal(err)
		}
		var st unix.Statfs_t
		if err := unix.Statfs(mnt, &st); err != nil {
			t.Fatal(err)
		}
		got := []int64{hole, data, st.Bsize, int64(st.Namelen)}
		if diff := cmp.Diff([]int64{8192, 10, 4096, 255}, got); diff != "" {
			t.Errorf("hole, data, bsize, namelen (-want +got):\n%s", diff)
		}
	})

	t.Run("forget", func(t *testing.T) {
		// Dropping the dentry and inode caches makes the kernel forget
		// the inodes it looked up.
		if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("2"), 0); err != nil {
			t.Skipf("drop_caches: %v", err)
		}
		if _, err := s.WaitStats(10*time.Second, func(st Stats) bool {
			return st.Count(OpForget)+st.Count(OpBatchForget) > 0
		}); err != nil {
			t.Fatal(err)
		}
	})

	// Every implemented opcode must have reached the server.
	st := s.Stats()
	want := []string{"BATCH_FORGET|FORGET", "CREATE", "FALLOCATE", "FLUSH", "FSYNC", "GETATTR", "INIT",
		"LOOKUP", "LSEEK", "MKDIR", "MKNOD", "OPEN", "OPENDIR", "READ", "READDIRPLUS", "RELEASE",
		"RELEASEDIR", "RENAME", "RENAME2", "RMDIR", "SETATTR", "STATFS", "UNLINK", "WRITE"}
	var missing []string
	for _, w := range want {
		if w == "BATCH_FORGET|FORGET" {
			if st.Count(OpForget)+st.Count(OpBatchForget) == 0 && !t.Failed() {
				missing = append(missing, w)
			}
			continue
		}
		if st.Counts[w] == 0 {
			missing = append(missing, w)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("opcodes never seen: %v (counts %v)", missing, st.Counts)
	}
}

// TestReaddirPlain disables READDIRPLUS and checks plain READDIR.
func TestReaddirPlain(t *testing.T) {
	s, mnt := mountTest(t, Config{
		Capabilities: Capabilities{Disabled: CapDoReaddirplus},
		Files:        []FileSpec{{Path: "/x/1", Text: "1"}, {Path: "/x/2", Size: 1 << 20}},
	})
	ents, err := os.ReadDir(filepath.Join(mnt, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 2 {
		t.Fatalf("entries %v", ents)
	}
	st := s.Stats()
	if st.Count(OpReaddir) == 0 || st.Count(OpReaddirplus) != 0 {
		t.Errorf("READDIR %d READDIRPLUS %d", st.Count(OpReaddir), st.Count(OpReaddirplus))
	}
	if s.Init().Has(CapDoReaddirplus) {
		t.Error("READDIRPLUS granted although disabled")
	}
}

// TestPrepopulated checks Config.Files, sizes and sparse content.
func TestPrepopulated(t *testing.T) {
	s, mnt := mountTest(t, Config{
		Files: []FileSpec{
			{Path: "/a/b/text", Text: "hello", Mode: 0o600},
			{Path: "big", Data: []byte{1, 2, 3}, Size: 3 << 30},
		},
		Dirs: []string{"/empty"},
	})
	b, err := os.ReadFile(filepath.Join(mnt, "a/b/text"))
	if err != nil || string(b) != "hello" {
		t.Fatalf("text = %q, %v", b, err)
	}
	fi, err := os.Stat(filepath.Join(mnt, "big"))
	if err != nil || fi.Size() != 3<<30 {
		t.Fatalf("big: %v %v", fi, err)
	}
	f, err := os.Open(filepath.Join(mnt, "big"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 8)
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]byte{1, 2, 3, 0, 0, 0, 0, 0}, buf); diff != "" {
		t.Errorf("big head (-want +got):\n%s", diff)
	}
	if _, err := f.ReadAt(buf, 3<<30-8); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(mnt, "empty")); err != nil || !fi.IsDir() {
		t.Errorf("empty dir: %v %v", fi, err)
	}
	if err := s.WriteFile("/a/new", []byte("srv")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(mnt, "a/new")); err != nil || string(b) != "srv" {
		t.Errorf("server-written file = %q, %v", b, err)
	}
}
