// Package checkrun is the guest side of an fstests run: on the Debian
// root disk it prepares the test and scratch disks of a setup, the
// configuration fstests' check reads and the mount helper of our FUSE
// server, then runs check once per test with a wall-clock bound. A test
// that outlives its bound has the guest's task states dumped to the
// console (sysrq w and t) and its process group killed; when its tasks
// cannot be killed (stuck in the kernel) the guest cannot go on and the
// result says so.
//
// Every process is started and reaped by a pid1.Supervisor: the agent is
// PID 1 and inherits the orphans of killed tests and daemonised FUSE
// servers.
package checkrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"dioharness/harness/fstests"
	"dioharness/harness/guest/pid1"
	"dioharness/harness/guestproto"
	"dioharness/harness/verdict"
)

// Agent is where the agent binary lives in the new root: the FUSE mount
// helper runs it as "fuse-mount".
const Agent = fstests.RunDir + "/init"

// MountHelper is the helper mount(8) runs for "mount -t fuse.dioharness".
const MountHelper = "/usr/sbin/mount.fuse." + fstests.FUSESubtype

// killGrace bounds the wait for a killed test's processes to go.
const killGrace = time.Minute

// Runner runs check in a prepared guest.
type Runner struct {
	plan  guestproto.FSTests
	setup fstests.Setup
	// test and scratch are the block devices of the plan's test and
	// scratch disks.
	test, scratch string
	sup           *pid1.Supervisor
	env           []string
	// results is RESULT_BASE in the guest.
	results string
	paths   *pathCounter
	// sysrq asks the kernel for a sysrq action (writeSysrq; a test
	// records the requests instead of dumping the host's tasks).
	sysrq func(byte)
}

// Result is one test's outcome.
type Result struct {
	Test    string
	Verdict verdict.Verdict
	// Stuck: the test outlived its bound (Verdict Timeout) and its
	// tasks survived SIGKILL; the guest cannot run another test.
	Stuck    bool
	Reason   string
	Detail   []string
	Duration time.Duration
}

// Prepare turns the booted initramfs into an fstests guest: the root
// disk becomes / (agent is the running agent binary, carried into it),
// the results disk is mounted, the test and scratch disks are made for
// the setup and check's configuration is written. disks are the plan's.
func Prepare(ctx context.Context, p guestproto.FSTests, disks guestproto.Disks, agent string, sup *pid1.Supervisor) (*Runner, error) {
	s, ok := fstests.SetupNamed(p.Setup)
	if !ok {
		return nil, fmt.Errorf("unknown fstests setup %q", p.Setup)
	}
	dev := map[string]string{}
	for _, name := range guestproto.FSTestsDisks {
		d, ok := disks.Named(name)
		if !ok {
			return nil, fmt.Errorf("the plan names no %s disk", name)
		}
		dev[name] = d.Device
	}
	if err := pid1.SwitchRoot(dev[guestproto.DiskRoot], "ext4", map[string]string{agent: Agent}); err != nil {
		return nil, err
	}
	r := &Runner{plan: p, setup: s, test: dev[guestproto.DiskTest], scratch: dev[guestproto.DiskScratch],
		sup: sup, results: filepath.Join(fstests.ResultsMnt, fstests.ResultsDir), sysrq: writeSysrq}
	r.env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "USER=root", "LOGNAME=root", "LANG=C.UTF-8", "TERM=dumb",
		"HOST_OPTIONS=" + fstests.ConfigPath,
	}
	if err := unix.Sethostname([]byte("dioharness")); err != nil {
		return nil, fmt.Errorf("hostname: %w", err)
	}
	// POSIX shared memory and semaphores (fio's posixaio, python).
	if err := mountFS("tmpfs", "/dev/shm", "tmpfs", "mode=1777"); err != nil {
		return nil, err
	}
	if err := mountFS(dev[guestproto.DiskResults], fstests.ResultsMnt, "ext4", ""); err != nil {
		return nil, err
	}
	for _, d := range []string{fstests.XunitDir, "output"} {
		if err := os.MkdirAll(filepath.Join(r.results, d), 0o755); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{fstests.TestDir, fstests.ScratchMnt} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := r.disks(ctx); err != nil {
		return nil, err
	}
	helper := "#!/bin/sh\n# mount -t fuse." + fstests.FUSESubtype + ": the guest agent's FUSE server\nexec " + Agent + " fuse-mount \"$@\"\n"
	if err := os.WriteFile(MountHelper, []byte(helper), 0o755); err != nil {
		return nil, err
	}
	cfg := fstests.LocalConfig(s, fstests.Devices{Test: r.test, Scratch: r.scratch})
	if err := os.WriteFile(fstests.ConfigPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	r.paths = newPathCounter()
	return r, nil
}

// disks makes the test disk's filesystem (check formats the scratch
// disk itself), or for a FUSE setup the ext4 filesystems that hold the
// server's backing directories, mounted where the configuration says.
func (r *Runner) disks(ctx context.Context) error {
	if !r.setup.FUSE() {
		return r.mkfs(ctx, r.setup.FSTYP, r.test)
	}
	for role, dev := range map[string]string{"test": r.test, "scratch": r.scratch} {
		if err := r.mkfs(ctx, "ext4", dev); err != nil {
			return err
		}
		mnt := filepath.Dir(fstests.BackingDir(role))
		if err := os.MkdirAll(mnt, 0o755); err != nil {
			return err
		}
		if err := mountFS(dev, mnt, "ext4", ""); err != nil {
			return err
		}
		if err := os.MkdirAll(fstests.BackingDir(role), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runner) mkfs(ctx context.Context, fstype, dev string) error {
	force := "-F"
	if fstype == "xfs" {
		force = "-f"
	}
	out, err := r.output(ctx, "/sbin/mkfs."+fstype, "-q", force, dev)
	if err != nil {
		return fmt.Errorf("mkfs.%s %s: %w: %s", fstype, dev, err, out)
	}
	return nil
}

// output runs a short command and returns its combined output.
func (r *Runner) output(ctx context.Context, argv ...string) (string, error) {
	f, err := os.CreateTemp("", "cmd-")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		return "", err
	}
	defer null.Close()
	e, err := r.sup.Run(argv, &os.ProcAttr{Env: r.env, Files: []*os.File{null, f, f}})
	if err != nil {
		return "", err
	}
	b, _ := os.ReadFile(f.Name())
	if !e.Success() {
		return strings.TrimSpace(string(b)), errors.New(e.String())
	}
	return strings.TrimSpace(string(b)), nil
}

func mountFS(source, target, fstype, data string) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(source, target, fstype, 0, data); err != nil {
		return fmt.Errorf("mount %s (%s) on %s: %w", source, fstype, target, err)
	}
	return nil
}

// Run runs check for one test. Its output goes to output/<test>.txt on
// the results disk, next to what check writes itself.
func (r *Runner) Run(ctx context.Context, test string) (res Result) {
	res.Test = test
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()
	outPath := filepath.Join(r.results, "output", strings.TrimSuffix(fstests.XunitFile(test), ".xml")+".txt")
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		res.Verdict, res.Reason = verdict.Fail, "output file: "+err.Error()
		return res
	}
	defer out.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		res.Verdict, res.Reason = verdict.Fail, err.Error()
		return res
	}
	defer null.Close()
	report := filepath.Join(r.results, "result.xml")
	os.Remove(report)
	before, perr := r.paths.snapshot()
	defer func() {
		after, err := r.paths.snapshot()
		switch {
		case perr != nil:
			err = perr
		case err == nil:
			res.Detail = append(r.paths.diag(before, after), res.Detail...)
			return
		}
		res.Detail = append([]string{fstests.PathPrefix + "not counted: " + err.Error()}, res.Detail...)
	}()
	pid, done, err := r.sup.Start([]string{filepath.Join(r.plan.Dir, "check"), "-R", "xunit", test}, &os.ProcAttr{
		Dir: r.plan.Dir, Env: r.env, Files: []*os.File{null, out, out},
		// Its own process group: a timeout kills the test and what
		// it started, not the FUSE servers (sessions of their own).
		Sys: &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		res.Verdict, res.Reason = verdict.Fail, "start check: "+err.Error()
		return res
	}
	bound := time.Duration(r.plan.TimeoutSec) * time.Second
	timer := time.NewTimer(bound)
	defer timer.Stop()
	var exit pid1.Exit
	select {
	case exit = <-done:
	case <-timer.C:
		r.timeout(&res, pid, done, bound)
		unix.Sync()
		return res
	case <-ctx.Done():
		unix.Kill(-pid, unix.SIGKILL)
		<-done
		res.Verdict, res.Reason = verdict.Fail, "cancelled"
		return res
	}
	r.judge(&res, report, exit, outPath)
	// The results disk is read back by the host, possibly after this
	// guest died in the next test.
	unix.Sync()
	return res
}

// judge reads check's xunit report of the test.
func (r *Runner) judge(res *Result, report string, exit pid1.Exit, outPath string) {
	f, err := os.Open(report)
	if err != nil {
		res.Verdict = verdict.Fail
		res.Reason = fmt.Sprintf("check ended (%s) without a report of %s", exit, res.Test)
		res.Detail = tailLines(outPath, 10)
		return
	}
	suite, err := fstests.ParseXunit(f)
	f.Close()
	if err != nil {
		res.Verdict, res.Reason = verdict.Fail, err.Error()
		return
	}
	keep := filepath.Join(r.results, fstests.XunitDir, fstests.XunitFile(res.Test))
	if err := os.Rename(report, keep); err != nil {
		res.Detail = append(res.Detail, "keep xunit report: "+err.Error())
	}
	c, ok := suite.Case(res.Test)
	if !ok {
		res.Verdict = verdict.Fail
		res.Reason = fmt.Sprintf("check ended (%s) and its report has no %s", exit, res.Test)
		res.Detail = tailLines(outPath, 10)
		return
	}
	res.Reason = c.Reason()
	res.Verdict = c.Verdict()
	if res.Verdict == verdict.Fail {
		res.Detail = append(res.Detail, head("output diff: ", c.SystemErr, 20)...)
		res.Detail = append(res.Detail, head("dmesg: ", c.KernelLog, 10)...)
	}
}

// timeout dumps the task states, kills the test's process group and
// waits for it to go; what survives SIGKILL makes the test Stuck.
func (r *Runner) timeout(res *Result, pid int, done <-chan pid1.Exit, bound time.Duration) {
	r.sysrq('w')
	r.sysrq('t')
	members := group(pid)
	unix.Kill(-pid, unix.SIGKILL)
	left := waitGone(members, killGrace)
	// Gone is not yet reaped: the supervisor reports check's exit
	// once it has waited for it.
	if !slices.Contains(left, pid) {
		select {
		case <-done:
		case <-time.After(killGrace):
			left = append(left, pid)
		}
	}
	res.Verdict = verdict.Timeout
	res.Reason = fmt.Sprintf("still running after %s: task states (sysrq w, t) on the console, %d processes killed", bound, len(members))
	if len(left) > 0 {
		res.Stuck = true
		res.Reason = fmt.Sprintf("still running after %s, and %d of its tasks survived SIGKILL for %s: task states (sysrq w, t) on the console", bound, len(left), killGrace)
		for _, p := range left {
			res.Detail = append(res.Detail, "stuck: "+describeTask(p))
		}
	}
}

// writeSysrq asks the kernel for a sysrq action; its output goes to the
// console, which the host keeps.
func writeSysrq(c byte) {
	if f, err := os.OpenFile("/proc/sysrq-trigger", os.O_WRONLY, 0); err == nil {
		f.Write([]byte{c})
		f.Close()
	}
}

func head(prefix, s string, n int) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("... %d more lines", len(lines)-n))
	}
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return lines
}

func tailLines(path string, n int) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i := range lines {
		lines[i] = "check: " + lines[i]
	}
	return lines
}

// Close unmounts the results disk, so the host reads a clean filesystem.
func (r *Runner) Close() error {
	unix.Sync()
	return unix.Unmount(fstests.ResultsMnt, 0)
}

var _ io.Closer = (*Runner)(nil)
