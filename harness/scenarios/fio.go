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

// fioJob is a generic/095-like mix on one file: direct writes, mmap
// writes and buffered I/O, each job on its own 2 MiB range so that fio
// can verify every block it wrote (crc32c), plus a direct reader over
// the direct writer's range.
const fioJob = `[global]
filename=%s
size=2m
bs=4k
fallocate=none
verify=crc32c
verify_fatal=1
randrepeat=1
norandommap=0

[dio-write]
rw=randwrite
direct=1
ioengine=psync
offset=0

[mmap-write]
rw=randwrite
ioengine=mmap
offset=2m

[buffered-write]
rw=randwrite
direct=0
ioengine=psync
offset=4m

[dio-read]
rw=randread
direct=1
ioengine=psync
offset=0
verify=0
`

func fioScenarios() scenario.Catalogue {
	return scenario.Catalogue{
		{
			Name:   "mixed/fio-verify-fuse",
			Area:   "mixed",
			Setup:  "Debian's fio in the guest; FUSE_DIRECT_IO_ALLOW_MMAP, FOPEN_DIRECT_IO|PARALLEL_DIRECT_WRITES; one 6 MiB file",
			Checks: "a generic/095-like fio job (direct, mmap and buffered writers on their own ranges, a direct reader) exits 0 with crc32c verification clean; fuse_direct_write_iter and fuse_file_mmap ran for the file; the server holds 6 MiB",
			Run: func(t *scenario.T) {
				ps := t.Probes("fentry/fuse_direct_write_iter", "fentry/fuse_file_mmap")
				m := t.FUSE(fileOf("/fio", 6<<20, fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true}, fuse.Capabilities{DirectIOAllowMmap: true}))
				path := m.Path("fio")
				ps.WatchPath(path)
				ev := ps.Record(func() { runFio(t, path) })
				if ev.Count(probe.KindFuseMmapEnter) == 0 || len(ev.Of(probe.KindWriteEnter).Where(func(e probe.Event) bool { return e.Func() == probe.FuncFuseDirectWriteIter })) == 0 {
					t.Fatalf("fio's direct and mmap writers did not reach fuse_direct_write_iter and fuse_file_mmap")
				}
				content, err := m.FileContent("/fio")
				t.Check(err, "server content")
				if len(content) != 6<<20 {
					t.Errorf("server holds %d bytes, want %d", len(content), 6<<20)
				}
			},
		},
		{
			Name:   "mixed/fio-verify-ext4",
			Area:   "mixed",
			Setup:  "Debian's fio in the guest; the ext4 disk; one 6 MiB file",
			Checks: "the same fio job exits 0 with verification clean; the direct writer went through iomap (iomap_dio_rw_begin) for the file",
			Run: func(t *scenario.T) {
				ps := t.Probes("tp_btf/iomap_dio_rw_begin")
				dir := t.Disk("ext4", "")
				path := filepath.Join(dir, "fio")
				t.Check(os.WriteFile(path, nil, 0o644), "create %s", path)
				ps.WatchPath(path)
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
