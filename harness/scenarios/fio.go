package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"dioharness/harness/fuse"
	"dioharness/harness/guestproto"
	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// fioJob is a generic/095-like mix: direct writes, mmap writes and
// buffered writes, each job on its own file so that fio can verify every
// block it wrote (crc32c; fio's verify headers of an mmap job with an
// offset= are relative, so jobs do not share one file), plus a direct
// reader racing the direct writer. fioOneFileJob mixes them on one file.
const fioJob = `[global]
size=2m
bs=4k
fallocate=none
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
			Declaration: guestproto.Declaration{
				Name:   "mixed/fio-verify-fuse",
				Area:   "mixed",
				Setup:  "Debian's fio in the guest; FUSE_DIRECT_IO_ALLOW_MMAP, FOPEN_DIRECT_IO|PARALLEL_DIRECT_WRITES; three 2 MiB files",
				Checks: "a generic/095-like fio job (direct, mmap and buffered writers on their own files, a direct reader racing the direct writer) exits 0 with crc32c verification clean; fuse_direct_write_iter and fuse_file_mmap ran; the server holds every file whole",
			},
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
				ev := ps.Record(func() { runFio(t, "dioharness.fio", fmt.Sprintf(fioJob, path)) })
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
			Declaration: guestproto.Declaration{
				Name:   "mixed/fio-verify-ext4",
				Area:   "mixed",
				Setup:  "Debian's fio in the guest; the ext4 disk; three files",
				Checks: "the same fio job exits 0 with verification clean; the direct writer went through iomap (iomap_dio_rw_begin)",
			},
			Run: func(t *scenario.T) {
				ps := t.Probes("tp_btf/iomap_dio_rw_begin")
				dir := t.Disk("ext4", "")
				path := filepath.Join(dir, "fio")
				for _, f := range fioFiles(path) {
					t.Check(os.WriteFile(f, nil, 0o644), "create %s", f)
				}
				ps.WatchPath(fioFiles(path)...)
				ev := ps.Record(func() { runFio(t, "dioharness.fio", fmt.Sprintf(fioJob, path)) })
				if ev.Count(probe.KindDIOBegin) == 0 {
					t.Fatalf("no iomap direct I/O seen for the fio file")
				}
			},
		},
		{
			Declaration: guestproto.Declaration{
				Name:   "mixed/fio-one-file-fuse",
				Area:   "mixed",
				Setup:  "Debian's fio in the guest; FUSE_DIRECT_IO_ALLOW_MMAP, FOPEN_DIRECT_IO|PARALLEL_DIRECT_WRITES; one 1 MiB file",
				Checks: fioOneFileChecks + "; fuse_direct_write_iter, fuse_file_mmap and invalidate_inode_pages2_range ran on the file",
			},
			Run: func(t *scenario.T) {
				ps := t.Probes("fentry/fuse_direct_write_iter", "fentry/fuse_file_mmap",
					"fentry/invalidate_inode_pages2_range", "fentry/dio_warn_stale_pagecache")
				ps.RecordPageCache()
				m := t.FUSE(fileOf("/one", fioOneFileSize, fuse.OpenPolicy{DirectIO: true, ParallelDirectWrites: true},
					fuse.Capabilities{DirectIOAllowMmap: true}))
				path := m.Path("one")
				ps.WatchPath(path)
				ev := ps.Record(func() { runFio(t, "one-file.fio", fmt.Sprintf(fioOneFileJob, path)) })
				direct := ev.Of(probe.KindWriteEnter).Where(func(e probe.Event) bool { return e.Func() == probe.FuncFuseDirectWriteIter })
				if len(direct) == 0 || !ev.Has(probe.KindFuseMmapEnter) || !ev.Has(probe.KindInvalidateEnter) {
					t.Fatalf("fio did not reach the paths it exists for: fuse_direct_write_iter %d, fuse_file_mmap %d, invalidate_inode_pages2_range %d",
						len(direct), ev.Count(probe.KindFuseMmapEnter), ev.Count(probe.KindInvalidateEnter))
				}
				server, err := m.FileContent("/one")
				t.Check(err, "server content")
				checkViews(t, path, ev, "the server", server)
			},
		},
		fioOneFileOn("ext4"),
		fioOneFileOn("xfs"),
	}
}

// fioOneFileSize is the size of the file fioOneFileJob shares.
const fioOneFileSize = 1 << 20

// fioOneFileJob is generic/095's job on one file: direct writers
// (synchronous, libaio, splice), buffered writers (synchronous, splice),
// an mmap writer with sub-page blocks, and direct and buffered readers,
// all at once. invalidate=1 (fio's default, spelled out) drops the
// file's cache with posix_fadvise before each job, which needs the
// kernel's fadvise; fio only logs it when that fails, so runFio
// fails on the log. There is no data verification: the writers overlap,
// so which of them wrote a block last is a race; checkViews checks
// instead that every view of the file agrees once they are done.
const fioOneFileJob = `[global]
filename=%s
size=1m
bs=4k
randrepeat=1
fallocate=none
invalidate=1

[dio-read]
ioengine=psync
direct=1
rw=randread

[dio-write]
ioengine=psync
direct=1
rw=randwrite

[dio-aio-write]
ioengine=libaio
iodepth=8
direct=1
rw=randwrite

[dio-splice-write]
ioengine=splice
direct=1
rw=randwrite

[buffered-read]
ioengine=psync
bs=1k
rw=randread

[buffered-write]
ioengine=psync
rw=randwrite

[buffered-splice-write]
ioengine=splice
rw=randwrite

[mmap-write]
ioengine=mmap
bs=1k
rw=randwrite
`

const fioOneFileChecks = "generic/095's fio job on one file (direct writers: psync, libaio, splice; buffered writers: psync, splice; an mmap writer with 1 KiB blocks; direct and buffered readers) exits 0 with only EIO ignored, as 095 does, and its fadvise invalidation works; " +
	"afterwards the page cache (through a shared mapping), an O_DIRECT read and %s hold the same bytes, unless the kernel reported a stale page cache (dio_warn_stale_pagecache, which 095's dmesg filter tolerates)"

func fioOneFileOn(fs string) scenario.Scenario {
	return scenario.Scenario{
		Declaration: guestproto.Declaration{
			Name:   "mixed/fio-one-file-" + fs,
			Area:   "mixed",
			Setup:  "Debian's fio in the guest; the " + fs + " disk; one 1 MiB file written before the job",
			Checks: fmt.Sprintf(fioOneFileChecks, "a buffered read") + "; the direct writers went through iomap (iomap_dio_rw_begin) and the page cache was invalidated on the file (invalidate_inode_pages2_range)",
		},
		Run: func(t *scenario.T) {
			ps := t.Probes("tp_btf/iomap_dio_rw_begin", "fentry/invalidate_inode_pages2_range", "fentry/dio_warn_stale_pagecache")
			ps.RecordPageCache()
			path := filepath.Join(t.Disk(fs, ""), "one")
			t.Check(os.WriteFile(path, pattern(fioOneFileSize, 0x5a), 0o644), "create %s", path)
			ps.WatchPath(path)
			ev := ps.Record(func() { runFio(t, "one-file.fio", fmt.Sprintf(fioOneFileJob, path)) })
			if !ev.Has(probe.KindDIOBegin) || !ev.Has(probe.KindInvalidateEnter) {
				t.Fatalf("fio did not reach the paths it exists for: iomap_dio_rw_begin %d, invalidate_inode_pages2_range %d",
					ev.Count(probe.KindDIOBegin), ev.Count(probe.KindInvalidateEnter))
			}
			buffered, err := os.ReadFile(path)
			t.Check(err, "buffered read of %s", path)
			checkViews(t, path, ev, "a buffered read", buffered)
		},
	}
}

// fioJobs counts the jobs of fio's terse (version 3) output: one line
// each, starting with the version.
func fioJobs(out string) int {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "3;") {
			n++
		}
	}
	return n
}

// fioComplaint returns the first line in which fio reports a failure it
// does not turn into its exit status: a cache invalidation that failed
// (a kernel without fadvise) or a verification error.
func fioComplaint(out string) string {
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, "cache invalidation"),
			strings.Contains(line, "Function not implemented"),
			strings.Contains(line, "verify:"),
			strings.Contains(line, "bad magic"):
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// checkViews fsyncs path and compares what a shared mapping shows (the
// page cache) and what an O_DIRECT read returns with other, a third view
// (the FUSE server's bytes, or a buffered read). They must agree unless
// the kernel reported a stale page cache during the job, which is the
// only disagreement it documents; fsync then returns the EIO it set.
func checkViews(t *scenario.T, path string, ev probe.Events, otherName string, other []byte) {
	stale := ev.Count(probe.KindDIOWarnStale)
	f := openFile(t, path, os.O_RDWR)
	if err := f.Sync(); err != nil && !(stale > 0 && errors.Is(err, unix.EIO)) {
		t.Fatalf("fsync after the job (dio_warn_stale_pagecache %d): %v", stale, err)
	}
	mapped, err := unix.Mmap(int(f.Fd()), 0, fioOneFileSize, unix.PROT_READ, unix.MAP_SHARED)
	t.Check(err, "mmap %s", path)
	defer unix.Munmap(mapped)
	df := openFile(t, path, os.O_RDONLY|unix.O_DIRECT)
	direct := preadFull(t, df, alignedBuf(t, fioOneFileSize, 0), 0)
	views := []struct {
		name string
		b    []byte
	}{{"the page cache", mapped}, {otherName, other}}
	for _, v := range views {
		if d := differingPages(direct, v.b); d != "" {
			if stale > 0 {
				t.Logf("%s and an O_DIRECT read differ (%s) after %d stale page cache reports: tolerated", v.name, d, stale)
				continue
			}
			t.Fatalf("%s and an O_DIRECT read differ (%s) and the kernel reported no stale page cache", v.name, d)
		}
	}
	t.Logf("page cache, O_DIRECT read and %s agree on %d bytes; %d stale page cache reports", otherName, len(direct), stale)
}

// differingPages describes where a and b differ: their lengths, or how
// many pages differ and the first of them. "" when they are equal.
func differingPages(a, b []byte) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d bytes against %d", len(a), len(b))
	}
	n, first := 0, -1
	for off := 0; off < len(a); off += page {
		end := min(off+page, len(a))
		if !bytes.Equal(a[off:end], b[off:end]) {
			if first < 0 {
				first = off / page
			}
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d pages, the first at index %d", n, first)
}

// runFio runs a fio job file, named name in the work directory, with
// only EIO ignored (generic/095's --ignore_error=,EIO) and fails t on a
// non-zero exit or on a complaint fio logs without failing.
func runFio(t *scenario.T, name, job string) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skipf("fio not in the guest image: %v", err)
	}
	path := filepath.Join(t.Env().Work, name)
	t.Check(os.WriteFile(path, []byte(job), 0o644), "write job file")
	out, err := exec.CommandContext(t.Context(), fio, "--ignore_error=,EIO", "--output-format=terse", "--terse-version=3", path).CombinedOutput()
	if err != nil {
		t.Fatalf("fio: %v\n%s", err, tail(string(out), 20))
	}
	if msg := fioComplaint(string(out)); msg != "" {
		t.Fatalf("fio: %s\n%s", msg, tail(string(out), 20))
	}
	t.Logf("fio: %d jobs finished", fioJobs(string(out)))
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
