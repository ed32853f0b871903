package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/probe"
	"dioharness/harness/scenario"
)

// ext4 changed its direct-write rules between v6.12 and v7.3, in
// fs/ext4/file.c, fs/ext4/inode.c and fs/inode.c, not through anything of
// ours. Three scenarios assert whichever rule set the running kernel
// follows:
//
//   - Lock mode of an aligned write that is not an overwrite. 6.12's
//     ext4_dio_write_checks restarts with i_rwsem exclusive whenever
//     ext4_overwrite_io is false, so an aligned hole fill (and the direct
//     part of an indirect-block write over [mapped | hole]) runs
//     exclusive. 7.3 upgrades only for !IS_NOSEC, an extending write, or
//     an unaligned write whose head or tail block needs zeroing
//     (ext4_dio_needs_zeroing); every aligned, non-extending write stays
//     shared and allocates under i_data_sem.
//   - Timestamps under RWF_NOWAIT. 6.12 calls file_modified(), which
//     updates c/mtime blocking even for IOCB_NOWAIT. 7.3 calls
//     kiocb_modified(), and generic_update_time refuses IOCB_NOWAIT on a
//     filesystem with ->dirty_inode (ext4 has one): a RWF_NOWAIT write
//     whose inode timestamps are behind the clock gets EAGAIN.
//   - A RWF_NOWAIT hole fill. 6.12 gives up in the lock checks (not an
//     overwrite), before iomap. 7.3 keeps the shared lock and gives up
//     inside iomap: ext4_iomap_alloc returns -EAGAIN for IOMAP_NOWAIT.
//
// A scenario learns the rule set from the running kernel's release, with
// explicit bounds: the 6.12 rules for releases up to 6.12, the 7.3 rules
// from 7.3 on, and a SKIP naming the reason in between, where a release
// may carry any subset of the changes. No feature probe tells the two
// implementations apart: the rules live in static helpers that are
// inlined (ext4_dio_write_checks, ext4_overwrite_io,
// ext4_dio_needs_zeroing and ext4_iomap_alloc are in neither kallsyms nor
// BTF on either base), and the symbols that did change
// (ext4_iomap_overwrite_begin gone, ext4_iomap_next new) belong to other
// changes, so they would say nothing certain about a kernel in between.
// A scenario that instead asserted what it detected by behaviour could
// not fail.

// ext4Rules names a set of ext4 direct-write rules.
type ext4Rules int

const (
	ext4Rules612 ext4Rules = iota + 1
	ext4Rules73
)

func (r ext4Rules) String() string {
	switch r {
	case ext4Rules612:
		return "6.12 rules"
	case ext4Rules73:
		return "7.3 rules"
	}
	return fmt.Sprintf("ext4Rules(%d)", int(r))
}

// ext4Expect is what a rule set predicts where the two differ.
type ext4Expect struct {
	// holeFillLocks is the i_rwsem trace of an aligned 4 KiB O_DIRECT
	// write into a hole inside EOF.
	holeFillLocks string
	// fallbackLocks is the i_rwsem trace of an 8 KiB O_DIRECT write over
	// [mapped | hole] of an indirect-block file (direct part, then the
	// buffered fallback), and fallbackOrder the order of its events.
	fallbackLocks string
	fallbackOrder []probe.Kind
	// nowaitStaleTimes: a RWF_NOWAIT write whose inode c/mtime are behind
	// the clock gets EAGAIN from the timestamp update.
	nowaitStaleTimes bool
	// nowaitHoleInIomap: a RWF_NOWAIT hole fill passes the lock checks
	// and gets EAGAIN from ext4_iomap_begin (ext4_iomap_alloc).
	nowaitHoleInIomap bool
}

var ext4RuleTable = map[ext4Rules]ext4Expect{
	ext4Rules612: {
		holeFillLocks: "S s X ^ x",
		fallbackLocks: "S s X ^ x X x",
		// The restart takes the exclusive lock before iomap; the
		// buffered fallback takes it again.
		fallbackOrder: []probe.Kind{probe.KindLockShared, probe.KindUnlockShared, probe.KindLockExclusive,
			probe.KindDIOBegin, probe.KindDIOComplete, probe.KindIomapDIORw, probe.KindUnlockExclusive,
			probe.KindLockExclusive, probe.KindBufferedWrite, probe.KindUnlockExclusive},
	},
	ext4Rules73: {
		holeFillLocks: "S s",
		fallbackLocks: "S s X ^ x",
		// The direct part runs under the shared lock; the only
		// exclusive lock is ext4_buffered_write_iter's.
		fallbackOrder: []probe.Kind{probe.KindLockShared, probe.KindDIOBegin, probe.KindDIOComplete,
			probe.KindIomapDIORw, probe.KindUnlockShared, probe.KindLockExclusive, probe.KindBufferedWrite,
			probe.KindUnlockExclusive},
		nowaitStaleTimes:  true,
		nowaitHoleInIomap: true,
	},
}

// ext4RulesFor maps a kernel release (uname -r: "6.12.117", "7.3.4+",
// "7.4.0-rc2") to the rule set it follows. A release between 6.12 and
// 7.3, or one that does not start with major.minor, is an error saying
// why.
func ext4RulesFor(release string) (ext4Rules, error) {
	major, minor, err := kernelVersion(release)
	if err != nil {
		return 0, err
	}
	switch v := major*1000 + minor; {
	case v <= 6*1000+12:
		return ext4Rules612, nil
	case v >= 7*1000+3:
		return ext4Rules73, nil
	}
	return 0, fmt.Errorf("kernel %s is between 6.12 and 7.3, where ext4's direct-write rules changed "+
		"(lock mode of aligned non-overwrites, RWF_NOWAIT timestamp updates, RWF_NOWAIT allocation); "+
		"which of the changes it carries is not known, so the scenario does not guess", release)
}

// kernelVersion reads major.minor from the start of a kernel release.
func kernelVersion(release string) (major, minor int, err error) {
	fields := strings.SplitN(release, ".", 3)
	if len(fields) >= 2 {
		major, err = strconv.Atoi(fields[0])
		if err == nil {
			end := strings.IndexFunc(fields[1], func(r rune) bool { return r < '0' || r > '9' })
			if end < 0 {
				end = len(fields[1])
			}
			minor, err = strconv.Atoi(fields[1][:end])
			if err == nil {
				return major, minor, nil
			}
		}
	}
	return 0, 0, fmt.Errorf("kernel release %q does not start with major.minor", release)
}

// ext4RulesOf is the rule set of the running kernel; a kernel whose rule
// set is not known makes the scenario SKIP with the reason.
func ext4RulesOf(t *scenario.T) (ext4Rules, ext4Expect) {
	var u unix.Utsname
	t.Check(unix.Uname(&u), "uname")
	release := unix.ByteSliceToString(u.Release[:])
	r, err := ext4RulesFor(release)
	if err != nil {
		t.Skipf("%v", err)
	}
	t.Logf("kernel %s: ext4 %s", release, r)
	return r, ext4RuleTable[r]
}

// returnProbe is a probe.ReturnProbe on fn for the scenario; a kernel
// where fn cannot be probed makes it SKIP with the reason.
func returnProbe(t *scenario.T, fn string, bits int) *probe.ReturnProbe {
	r, err := probe.NewReturnProbe(fn, bits)
	if err != nil {
		t.Skipf("the returns of %s are not observable: %v", fn, err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Logf("%v", err)
		}
	})
	return r
}

// staleMtime is a modification time no clock reads any more: a file
// carrying it needs a c/mtime update on its next write.
var staleMtime = time.Unix(1_000_000_000, 0)

// setStaleMtime sets the file's mtime to staleMtime (its ctime becomes
// the current time).
func setStaleMtime(t *scenario.T, path string) {
	ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, unix.NsecToTimespec(staleMtime.UnixNano())}
	t.Check(unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, 0), "set the mtime of %s to %s", path, staleMtime.UTC())
}

// touchNow sets the file's atime, mtime and ctime to the current time,
// so a write in the same clock tick needs no c/mtime update.
func touchNow(t *scenario.T, path string) {
	t.Check(unix.UtimesNanoAt(unix.AT_FDCWD, path, nil, 0), "set the times of %s to now", path)
}

// mtimeOf is the file's st_mtime.
func mtimeOf(t *scenario.T, path string) time.Time {
	var st unix.Stat_t
	t.Check(unix.Stat(path, &st), "stat %s", path)
	return time.Unix(st.Mtim.Unix())
}

// negErrno is a kernel return value for errno e.
func negErrno(e syscall.Errno) int64 { return -int64(e) }
