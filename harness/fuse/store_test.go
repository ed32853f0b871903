package fuse

import (
	"bytes"
	"encoding/json"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"", "/any/thing", true},
		{"**", "/", true},
		{"/a/*", "/a/b", true},
		{"a/*", "/a/b", true},
		{"/a/*", "/a/b/c", false},
		{"/a/**", "/a/b/c", true},
		{"/a/**", "/a", true},
		{"**/*.bin", "/x/y/z.bin", true},
		{"**/*.bin", "/z.bin", true},
		{"**/*.bin", "/z.txt", false},
		{"/a/**/c", "/a/b/b/c", true},
		{"/f", "/f", true},
		{"/f", "/g", false},
		{"/[ab]", "/b", true},
	}
	for _, tc := range tests {
		if got := matchGlob(tc.pattern, tc.path); got != tc.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
	if err := validateGlob("/a/[x"); err == nil {
		t.Error("bad pattern accepted")
	}
	if _, err := New(Config{Rules: []OpenRule{{Glob: "[x"}}}); err == nil {
		t.Error("New accepted a bad rule glob")
	}
}

func TestSparse(t *testing.T) {
	var s sparse
	s.writeAt([]byte("abc"), chunkSize-1) // straddles two chunks
	s.writeAt([]byte("z"), 10*chunkSize)
	got := make([]byte, 4)
	s.readAt(got, chunkSize-2)
	if diff := cmp.Diff([]byte{0, 'a', 'b', 'c'}, got); diff != "" {
		t.Errorf("read (-want +got):\n%s", diff)
	}
	if s.allocated() != 3*chunkSize {
		t.Errorf("allocated %d, want 3 chunks", s.allocated())
	}
	s.truncate(chunkSize) // keeps "a", drops "bc" and "z"
	s.readAt(got, chunkSize-2)
	if diff := cmp.Diff([]byte{0, 'a', 0, 0}, got); diff != "" {
		t.Errorf("after truncate (-want +got):\n%s", diff)
	}
	s.writeAt(bytes.Repeat([]byte{1}, chunkSize*2), 0)
	s.zero(1, chunkSize+1)
	s.readAt(got, chunkSize-1)
	if diff := cmp.Diff([]byte{0, 0, 1, 1}, got); diff != "" {
		t.Errorf("after zero (-want +got):\n%s", diff)
	}
}

func TestStoreRenameRules(t *testing.T) {
	st := newStore(0, 0)
	mk := func(parent uint64, name string, dir bool) uint64 {
		mode := uint32(syscall.S_IFREG | 0o644)
		if dir {
			mode = syscall.S_IFDIR | 0o755
		}
		n, _, err := st.mknod(parent, name, mode, 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		return n.id
	}
	d := mk(RootID, "d", true)
	sub := mk(d, "sub", true)
	mk(RootID, "f", false)
	mk(sub, "x", false)
	tests := []struct {
		name             string
		op, on           uint64
		oldName, newName string
		flags            uint32
		want             error
	}{
		{"dir into itself", RootID, sub, "d", "d2", 0, Errno(syscall.EINVAL)},
		{"file over non-empty dir", RootID, d, "f", "sub", 0, Errno(syscall.EISDIR)},
		{"noreplace onto existing", RootID, RootID, "f", "d", renameNoreplace, Errno(syscall.EEXIST)},
		{"exchange with missing", RootID, RootID, "f", "nope", renameExchange, Errno(syscall.ENOENT)},
		{"both flags", RootID, RootID, "f", "g", renameExchange | renameNoreplace, Errno(syscall.EINVAL)},
		{"plain move", RootID, d, "f", "f2", 0, nil},
	}
	for _, tc := range tests {
		err := st.rename(tc.op, tc.oldName, tc.on, tc.newName, tc.flags)
		if tc.want == nil && err != nil || tc.want != nil && err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if id, err := st.nodeID("/d/f2"); err != nil || id == 0 {
		t.Errorf("moved file: %d, %v", id, err)
	}
}

func TestConfigJSONRoundTrip(t *testing.T) {
	in := Config{
		Workers:      3,
		Capabilities: Capabilities{Passthrough: true, MaxWrite: 1 << 17, Disabled: CapDoReaddirplus},
		AttrTimeout:  Duration(1500000000),
		Rules:        []OpenRule{{Glob: "/a/*", OpenPolicy: OpenPolicy{DirectIO: true, ParallelDirectWrites: true}}},
		Faults:       []Fault{{Name: "f", Match: Match{Op: OpWrite, Skip: 1}, Errno: Errno(syscall.ENOSPC), Delay: Duration(2000000)}},
		Gates:        []GateSpec{{Name: "g", Match: Match{Op: OpRead}}},
		Files:        []FileSpec{{Path: "/a/b", Data: []byte{0, 1, 2}, Size: 10}},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"op":"WRITE"`, `"errno":"ENOSPC"`, `"attr_timeout":"1.5s"`, `"delay":"2ms"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
	var out Config
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out, cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".OpenHook" || p.Last().String() == ".Logf"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}
}
