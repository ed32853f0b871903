package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"dioharness/harness/rootfs"
)

// outputs reads name=value lines as GitHub does (not the multi-line
// form: the matrices are single lines).
func outputs(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		name, value, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("not a name=value line: %q", l)
		}
		out[name] = value
	}
	return out
}

func TestCIMatrix(t *testing.T) {
	e, err := loadEnv()
	if err != nil {
		t.Fatal(err)
	}
	names := e.bases.Names()
	type job struct{ Base, Shard, FSTYP, Kernel, ID string }
	var qemu, fst, both []job
	for _, b := range names {
		for i := 1; i <= 2; i++ {
			qemu = append(qemu, job{Base: b, Shard: fmt.Sprintf("%d/2", i), ID: fmt.Sprintf("%s-shard%dof2", b, i)})
		}
		for _, s := range []string{"ext4", "fuse-direct-io"} {
			fst = append(fst, job{Base: b, FSTYP: s, Kernel: "patched", ID: b + "-patched-" + s})
		}
		// Without KERNEL=, base and patched: not the flavours a BASE
		// file declares (v7.3's pdio).
		for _, k := range []string{"base", "patched"} {
			both = append(both, job{Base: b, FSTYP: "ext4", Kernel: k, ID: b + "-" + k + "-ext4"})
		}
	}
	bases, _ := json.Marshal(names)
	for _, tc := range []struct {
		args []string
		want []job
	}{
		{[]string{"-matrix", "qemu-test", "-shards", "2", "-base", "all"}, qemu},
		{[]string{"-matrix", "fstests", "-fstyp", "ext4,fuse-direct-io", "-kernel", "patched", "-base", "all"}, fst},
		{[]string{"-matrix", "fstests", "-fstyp", "ext4", "-base", "all"}, both},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr strings.Builder
			if code := run(append([]string{"ci-keys"}, tc.args...), &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			out := outputs(t, stdout.String())
			var m struct{ Include []job }
			if err := json.Unmarshal([]byte(out["matrix"]), &m); err != nil {
				t.Fatalf("matrix %q: %v", out["matrix"], err)
			}
			if diff := cmp.Diff(tc.want, m.Include); diff != "" {
				t.Errorf("jobs (-want +got):\n%s", diff)
			}
			if out["bases"] != string(bases) {
				t.Errorf("bases %s, want %s", out["bases"], bases)
			}
		})
	}
}

func TestCIKeysBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-matrix", "mutants"}, `bad -matrix "mutants"`},
		{[]string{"-matrix", "qemu-test", "-shards", "0"}, "bad -shards 0"},
		{[]string{"-matrix", "qemu-test", "-kernel", "base"}, "runs every flavour of its base"},
		{[]string{"-matrix", "fstests", "-fstyp", "zfs"}, `bad FSTYP "zfs"`},
		{[]string{"-base", "all"}, "one base at a time"},
		{[]string{"-fstests", "/nonexistent", "-base", "v0.1"}, `unknown kernel base "v0.1"`},
		{[]string{"stray"}, `unexpected argument "stray"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(append([]string{"ci-keys"}, tc.args...), &stdout, &stderr)
			if code != 3 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want 3 and %q", code, stderr.String(), tc.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q: bad input must leave the step's outputs empty", stdout.String())
			}
		})
	}
}

// TestCIKeysOutput is the form a workflow reads: one name=value line,
// or GitHub's name<<DELIMITER block for a list of paths.
func TestCIKeysOutput(t *testing.T) {
	t.Setenv("CCACHE_DIR", "")
	cache := "/c"
	k := ciKeysInput{base: "v7.3", choice: "Debian linux-source-7.3 7.3.4-1~bpo13+1", toolchain: "gcc 1",
		tarball: filepath.Join(cache, "debian/src/linux-source-7.3_7.3.4-1~bpo13+1.tar.xz"), cache: cache,
		images: []ciImage{{flavour: "base", key: "0123456789abcdef01234567", cached: true},
			{flavour: "patched", key: "fedcba9876543210fedcba98", cached: false}},
		rootfs: &rootfs.Image{Key: "bookworm-0011223344556677", Path: "/c/rootfs/bookworm-0011223344556677.img",
			Manifest: "/c/rootfs/bookworm-0011223344556677.manifest"}}
	var b strings.Builder
	if err := k.output().write(&b); err != nil {
		t.Fatal(err)
	}
	want := `base=v7.3
source=Debian linux-source-7.3 7.3.4-1~bpo13+1
debian=debian-linux-source-7.3_7.3.4-1_bpo13+1
debian-paths=/c/debian/src/linux-source-7.3_7.3.4-1~bpo13+1.*
debian-cached=false
ccache=ccache-v7.3-417ace036572
ccache-path=/c/ccache
image=kernels-v7.3-base-0123456789abcdef-patched-fedcba9876543210
image-paths<<CI_KEYS_EOF
/c/kernels/0123456789abcdef01234567
/c/kernels/fedcba9876543210fedcba98
/c/selftests/v7.3
CI_KEYS_EOF
image-cached=false
rootfs=rootfs-bookworm-0011223344556677
rootfs-paths<<CI_KEYS_EOF
/c/rootfs/bookworm-0011223344556677.img
/c/rootfs/bookworm-0011223344556677.manifest
CI_KEYS_EOF
rootfs-cached=false
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
}
