package scenarios

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"dioharness/harness/fuse"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// fioJob is a generic/095-like mix: direct writes, mmap writes and
// buffered writes, each job on its own file so that fio can verify every
// block it wrote (crc32c; fio's verify headers of an mmap job with an
// offset= are relative, so jobs do not share one file), plus a direct
// reader racing the direct writer. invalidate=0: the guest kernel has
// no fadvise.
const fioJob = `[global]
size=2m
bs=4k
fallocate=none
invalidate=0
verify=crc32c
verify_fatal=1
randrepeat=1

[dio-write]
filename=%[1]s-dio
rw=randwrite
direct=1
ioengine=psync

[mmap-write]
filename=%[1]s-mmap
rw=randwrite
ioengine=mmap

[buffered-write]
filename=%[1]s-buf
rw=randwrite
direct=0
ioengine=psync

[dio-read]
filename=%[1]s-dio
rw=randread
direct=1
ioengine=psync
verify=0
`

// fioFiles are the files fioJob uses for a path prefix.
func fioFiles(prefix string) []string {
	return []string{prefix + "-dio", prefix + "-mmap", prefix + "-buf"}
}

func fioScenarios() scenario.Catalogue {
	return scenario.Catalogue{
		{
			Name:   "mixed/fio-verify-fuse",
			Area:   "mixed",
			Setup:  "Debian's fio in the guest; FUSE_DIRECT_IO_ALLOW_MMAP, FOPEN_DIRECT_IO|PARALLEL_DIRECT_WRITES; three 2 MiB files",
			Checks: "a generic/095-like fio job (direct, mmap and buffered writers on their own files, a direct reader racing the direct writer) exits 0 with crc32c verification clean; fuse_direct_write_iter and fuse_file_mmap ran; the server holds every file whole",
			Run: func(t *scenario.T) {
				ps := t.Probes("fentry/fuse_direct_write_iter", "fentry/fuse_file_mmap")
				cfg := fuse.Config{
					Capabilities: fuse.Capabilities{DirectIOAllowMmap: true},
					Rules:        []fuse.OpenRule{{Glob: "/fio-*", OpenPolicy: fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true}}},
				}
				for _, f := range fioFiles("/fio") {
					cfg.Files = append(cfg.Files, fuse.FileSpec{Path: f, Size: 2 << 20})
				}
				m := t.FUSE(cfg)
				path := m.Path("fio")
				ps.WatchPath(fioFiles(path)...)
				ev := ps.Record(func() { runFio(t, path) })
				if ev.Count(probe.KindFuseMmapEnter) == 0 || len(ev.Of(probe.KindWriteEnter).Where(func(e probe.Event) bool { return e.Func() == probe.FuncFuseDirectWriteIter })) == 0 {
					t.Fatalf("fio's direct and mmap writers did not reach fuse_direct_write_iter and fuse_file_mmap")
				}
				for _, f := range fioFiles("/fio") {
					content, err := m.FileContent(f)
					t.Check(err, "server content")
					if len(content) != 2<<20 {
						t.Errorf("server holds %d bytes of %s, want %d", len(content), f, 2<<20)
					}
				}
			},
		},
		{
			Name:   "mixed/fio-verify-ext4",
			Area:   "mixed",
			Setup:  "Debian's fio in the guest; the ext4 disk; three files",
			Checks: "the same fio job exits 0 with verification clean; the direct writer went through iomap (iomap_dio_rw_begin)",
			Run: func(t *scenario.T) {
				ps := t.Probes("tp_btf/iomap_dio_rw_begin")
				dir := t.Disk("ext4", "")
				path := filepath.Join(dir, "fio")
				for _, f := range fioFiles(path) {
					t.Check(os.WriteFile(f, nil, 0o644), "create %s", f)
				}
				ps.WatchPath(fioFiles(path)...)
				ev := ps.Record(func() { runFio(t, path) })
				if ev.Count(probe.KindDIOBegin) == 0 {
					t.Fatalf("no iomap direct I/O seen for the fio file")
				}
			},
		},
	}
}

func runFio(t *scenario.T, path string) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skipf("fio not in the guest image: %v", err)
	}
	job := filepath.Join(t.Env().Work, "dioharness.fio")
	t.Check(os.WriteFile(job, []byte(fmt.Sprintf(fioJob, path)), 0o644), "write job file")
	out, err := exec.CommandContext(t.Context(), fio, "--output-format=terse", "--terse-version=3", job).CombinedOutput()
	if err != nil {
		t.Fatalf("fio: %v\n%s", err, tail(string(out), 20))
	}
	if strings.Contains(string(out), "verify:") || strings.Contains(string(out), "bad magic") {
		t.Fatalf("fio reported verification errors\n%s", tail(string(out), 20))
	}
	t.Logf("fio: %d jobs finished", strings.Count(string(out), "\n"))
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
