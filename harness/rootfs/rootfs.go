// Package rootfs builds the Debian root disk that fstests runs from: a
// debootstrap minbase of a Debian suite plus fstests' runtime and build
// dependencies, an fstests checkout compiled inside it (chroot), packed
// into an ext4 image with mke2fs -d. The image is cached under the
// harness cache, keyed by everything that went into it (the recipe, the
// suite, the package list and the content of the fstests checkout), so
// later runs and fresh clones of the repository on the same machine
// reuse it. fstests itself is never part of the repository: the user
// points at a checkout.
//
// The guest boots the image read-write with QEMU's snapshot mode (the
// cached file is never written) and the guest agent as PID 1; the image
// holds no agent, no harness configuration and no machine path, only
// Debian, fstests and the users fstests expects.
package rootfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// FSTestsDir is where fstests is built in the image.
const FSTestsDir = "/opt/fstests"

// recipe names the build steps below; change it when they change what
// an image holds, so that cached images built the old way are not used.
const recipe = "rootfs-1"

// Runtime are the packages fstests' tests run (fstests' README lists
// them for Debian), and Build those its compilation needs. Both stay in
// the image: fstests can be rebuilt in a guest when a test needs it.
var (
	Runtime = []string{
		"acl", "attr", "bc", "bsdextrautils", "dbench", "dmsetup", "e2fsprogs",
		"file", "fio", "gawk", "kmod", "libcap2-bin", "perl", "procps",
		"psmisc", "python3", "quota", "sed", "util-linux", "uuid-runtime",
		"xfsdump", "xfsprogs", "xxd",
	}
	Build = []string{
		"autoconf", "automake", "gcc", "libacl1-dev", "libaio-dev",
		"libattr1-dev", "libcap-dev", "libgdbm-compat-dev", "libgdbm-dev",
		"libtool", "libtool-bin", "liburing-dev", "make", "pkg-config",
		"uuid-dev", "xfslibs-dev",
	}
)

// Users are the accounts fstests' tests switch to (_require_user,
// _require_group and the idmapped tests' numeric-looking name).
var Users = []string{"fsgqa", "fsgqa2", "123456-fsgqa"}

// Spec is what goes into an image.
type Spec struct {
	// Suite is the Debian suite to bootstrap ("bookworm").
	Suite string
	// Mirror is the archive root to fetch it from (debian.FindMirrors).
	// It does not take part in the key: every mirror serves the same
	// archive.
	Mirror string
	// Packages are installed on top of minbase (Runtime and Build).
	Packages []string
	// FSTests is the fstests checkout to compile in the image.
	FSTests string
	// Jobs is make -j for fstests (default 2).
	Jobs int
}

// FSTestsSpec is the image make fstests runs from: the Debian suite
// (from mirror) with Runtime and Build, and the fstests checkout.
func FSTestsSpec(suite, mirror, fstests string, jobs int) Spec {
	return Spec{Suite: suite, Mirror: mirror, Packages: append(append([]string{}, Runtime...), Build...), FSTests: fstests, Jobs: jobs}
}

// Image is a built root disk.
type Image struct {
	// Path is the ext4 image; boot it with snapshot (it is shared).
	Path string
	// Key identifies what went into it.
	Key string
	// Manifest lists the Debian packages and versions in the image and
	// the fstests checkout it was built from, one per line.
	Manifest string
	// FSTests identifies the fstests checkout: its git description and
	// whether it had local changes, or its content hash.
	FSTests string
}

// Builder builds and caches images.
type Builder struct {
	// Dir is the cache directory for images (under the harness cache).
	Dir string
	// Log receives one line per step that takes time.
	Log io.Writer
}

// CheckFSTests tells whether dir looks like an fstests checkout; the
// error says what to do in one line.
func CheckFSTests(dir string) error {
	if dir == "" {
		return errors.New(HowToGet)
	}
	for _, f := range []string{"check", "common/rc", "tests/generic"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return fmt.Errorf("FSTESTS=%s is not an fstests checkout (no %s)", dir, f)
		}
	}
	return nil
}

// HowToGet is the one line that says how to get an fstests checkout.
const HowToGet = "fstests is not part of this repository: clone it (git clone https://git.kernel.org/pub/scm/fs/xfs/xfstests-dev.git) and pass FSTESTS=<that directory>"

// Get returns the cached image for spec, building it first if needed.
func (b *Builder) Get(ctx context.Context, spec Spec) (Image, error) {
	img, files, err := b.lookup(ctx, spec)
	if err != nil {
		return Image{}, err
	}
	if img.Cached() {
		return img, nil
	}
	if err := os.MkdirAll(b.Dir, 0o755); err != nil {
		return Image{}, err
	}
	unlock, err := lock(filepath.Join(b.Dir, "lock"))
	if err != nil {
		return Image{}, err
	}
	defer unlock()
	// Another run may have built it while this one waited for the lock.
	if img.Cached() {
		return img, nil
	}
	if err := b.build(ctx, spec, files, img); err != nil {
		return Image{}, fmt.Errorf("fstests root disk: %w", err)
	}
	return img, nil
}

// Lookup returns the image spec names in the cache, built or not
// (Image.Cached says), without building it: its key names a CI cache.
func (b *Builder) Lookup(ctx context.Context, spec Spec) (Image, error) {
	img, _, err := b.lookup(ctx, spec)
	return img, err
}

// Cached reports whether the image and its manifest are in the cache.
func (img Image) Cached() bool { return exists(img.Path) && exists(img.Manifest) }

// lookup keys spec and returns its image in the cache and the checkout's
// files that went into the key.
func (b *Builder) lookup(ctx context.Context, spec Spec) (Image, []string, error) {
	if err := CheckFSTests(spec.FSTests); err != nil {
		return Image{}, nil, err
	}
	files, err := checkoutFiles(ctx, spec.FSTests)
	if err != nil {
		return Image{}, nil, err
	}
	contentHash, err := hashFiles(spec.FSTests, files)
	if err != nil {
		return Image{}, nil, err
	}
	key := Key(spec, contentHash)
	return Image{
		Path:     filepath.Join(b.Dir, key+".img"),
		Key:      key,
		Manifest: filepath.Join(b.Dir, key+".manifest"),
		FSTests:  describe(ctx, spec.FSTests, contentHash),
	}, files, nil
}

// Key hashes what goes into an image: the recipe, the suite, the sorted
// package list and the content of the fstests checkout.
func Key(spec Spec, fstestsContent string) string {
	pkgs := append([]string(nil), spec.Packages...)
	sort.Strings(pkgs)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n", recipe, spec.Suite, strings.Join(pkgs, " "), fstestsContent)
	return spec.Suite + "-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// Tools are the host programs a build needs, with their Debian package.
var Tools = map[string]string{
	"debootstrap": "debootstrap",
	"mkfs.ext4":   "e2fsprogs",
	"chroot":      "coreutils",
}

// CheckTools names the Debian package of the first missing tool, and
// says when the user cannot build (debootstrap and chroot need root).
func CheckTools() error {
	names := make([]string, 0, len(Tools))
	for n := range Tools {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			return fmt.Errorf("%s not found: install Debian package %s (make deps)", n, Tools[n])
		}
	}
	if os.Geteuid() != 0 {
		return errors.New("building the fstests root disk needs root (debootstrap and chroot)")
	}
	return nil
}

func (b *Builder) build(ctx context.Context, spec Spec, files []string, img Image) error {
	if err := CheckTools(); err != nil {
		return err
	}
	start := time.Now()
	work := filepath.Join(b.Dir, "build-"+img.Key)
	root := filepath.Join(work, "root")
	if err := removeTree(work); err != nil {
		return err
	}
	defer removeTree(work)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(b.Dir, img.Key+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	r := &runner{ctx: ctx, log: logf, logPath: logPath}

	fmt.Fprintf(b.Log, "rootfs: debootstrap %s (minbase) from %s\n", spec.Suite, spec.Mirror)
	if err := r.run("", "debootstrap", "--variant=minbase", "--components=main", spec.Suite, root, spec.Mirror); err != nil {
		return err
	}
	ch, err := enterChroot(root)
	if err != nil {
		return err
	}
	defer ch.leave()
	fmt.Fprintf(b.Log, "rootfs: installing %d packages\n", len(spec.Packages))
	if err := r.chroot(root, "apt-get", "-q", "update"); err != nil {
		return err
	}
	install := append([]string{"apt-get", "-q", "-y", "--no-install-recommends", "install"}, spec.Packages...)
	if err := r.chroot(root, install...); err != nil {
		return err
	}
	if err := r.chroot(root, "apt-get", "clean"); err != nil {
		return err
	}
	fmt.Fprintf(b.Log, "rootfs: building fstests (%s)\n", img.FSTests)
	dest := filepath.Join(root, strings.TrimPrefix(FSTestsDir, "/"))
	if err := copyFiles(spec.FSTests, dest, files); err != nil {
		return err
	}
	jobs := spec.Jobs
	if jobs <= 0 {
		jobs = 2
	}
	if err := r.chroot(root, "make", "-C", FSTestsDir, "-j"+strconv.Itoa(jobs)); err != nil {
		return err
	}
	if err := addUsers(r, root); err != nil {
		return err
	}
	for _, d := range []string{"mnt/test", "mnt/scratch"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("dioharness\n"), 0o644); err != nil {
		return err
	}
	manifest, err := r.output(root, "dpkg-query", "-W", "-f", "${Package} ${Version}\\n")
	if err != nil {
		return err
	}
	if err := ch.leave(); err != nil {
		return err
	}
	// The package lists are only needed to install: leave them out.
	if err := removeTree(filepath.Join(root, "var/lib/apt/lists")); err != nil {
		return err
	}
	size, err := imageSize(root)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.Log, "rootfs: writing a %d MiB ext4 image\n", size>>20)
	tmp := img.Path + ".part"
	os.Remove(tmp)
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	f.Close()
	if err != nil {
		return err
	}
	// -d copies the tree with its owners, modes, links and xattrs;
	// -i 8192: fstests is many small files.
	if err := r.run("", "mkfs.ext4", "-q", "-F", "-L", "dioharness-root", "-i", "8192", "-d", root, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	head := fmt.Sprintf("# fstests root disk %s (%s)\nsuite %s\nfstests %s\n", img.Key, recipe, spec.Suite, img.FSTests)
	if err := os.WriteFile(img.Manifest, []byte(head+manifest), 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, img.Path); err != nil {
		return err
	}
	fmt.Fprintf(b.Log, "rootfs: %s built in %s (log %s)\n", filepath.Base(img.Path), time.Since(start).Round(time.Second), logPath)
	return nil
}

// addUsers creates the accounts fstests switches to. Debian's useradd
// refuses a name that starts with a digit unless told --badname.
func addUsers(r *runner, root string) error {
	if err := r.chroot(root, "groupadd", "-f", "fsgqa"); err != nil {
		return err
	}
	for _, u := range Users {
		args := []string{"useradd", "-m", "-s", "/bin/bash"}
		if u == "fsgqa" {
			args = append(args, "-g", "fsgqa")
		}
		if u[0] >= '0' && u[0] <= '9' {
			args = append(args, "--badname")
		}
		if err := r.chroot(root, append(args, u)...); err != nil {
			return err
		}
	}
	return nil
}

// imageSize is the tree's size with room for ext4's metadata and for
// what a guest writes (fstests' own results go to another disk).
func imageSize(root string) (int64, error) {
	var total int64
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		total += (fi.Size() + 4095) &^ 4095
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", root, err)
	}
	size := total + total/2 + 512<<20
	return (size + 1<<20 - 1) &^ (1<<20 - 1), nil
}

// runner runs build steps with their output in the build log; a failure
// quotes the log's last lines.
type runner struct {
	ctx     context.Context
	log     *os.File
	logPath string
}

func (r *runner) run(dir string, name string, args ...string) error {
	cmd := exec.CommandContext(r.ctx, name, args...)
	cmd.Dir = dir
	return r.exec(cmd)
}

func (r *runner) exec(cmd *exec.Cmd) error {
	fmt.Fprintf(r.log, "+ %s\n", strings.Join(cmd.Args, " "))
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s (log %s)", strings.Join(cmd.Args[:min(len(cmd.Args), 3)], " "), err, tailFile(r.logPath, 6), r.logPath)
	}
	return nil
}

// chroot runs a command inside the tree with a clean environment.
func (r *runner) chroot(root string, args ...string) error {
	cmd := exec.CommandContext(r.ctx, "chroot", append([]string{root}, args...)...)
	cmd.Env = chrootEnv
	return r.exec(cmd)
}

func (r *runner) output(root string, args ...string) (string, error) {
	cmd := exec.CommandContext(r.ctx, "chroot", append([]string{root}, args...)...)
	cmd.Env = chrootEnv
	cmd.Stderr = r.log
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w (log %s)", strings.Join(args, " "), err, r.logPath)
	}
	return string(out), nil
}

var chrootEnv = []string{
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"LANG=C.UTF-8",
	"DEBIAN_FRONTEND=noninteractive",
}

// chrootMounts are what apt's maintainer scripts and fstests' configure
// expect inside the tree.
type chrootMounts struct {
	mounted []string
}

func enterChroot(root string) (*chrootMounts, error) {
	c := &chrootMounts{}
	for _, m := range []struct {
		target, fstype, source string
		flags                  uintptr
	}{
		{"proc", "proc", "proc", 0},
		{"dev", "", "/dev", unix.MS_BIND},
	} {
		t := filepath.Join(root, m.target)
		if err := os.MkdirAll(t, 0o755); err != nil {
			c.leave()
			return nil, err
		}
		if err := unix.Mount(m.source, t, m.fstype, m.flags, ""); err != nil {
			c.leave()
			return nil, fmt.Errorf("mount %s in the chroot: %w", m.target, err)
		}
		c.mounted = append(c.mounted, t)
	}
	return c, nil
}

// leave unmounts what enterChroot mounted; it is safe to call twice.
func (c *chrootMounts) leave() error {
	var errs []error
	for i := len(c.mounted) - 1; i >= 0; i-- {
		if err := unix.Unmount(c.mounted[i], unix.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", c.mounted[i], err))
		}
	}
	c.mounted = nil
	return errors.Join(errs...)
}

// removeTree removes a build tree; a mount left inside it (a build that
// was killed) is detached first, so that nothing outside is removed.
func removeTree(dir string) error {
	if !exists(dir) {
		return nil
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err == nil {
		var under []string
		for _, line := range strings.Split(string(mi), "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
				under = append(under, f[4])
			}
		}
		sort.Sort(sort.Reverse(sort.StringSlice(under)))
		for _, m := range under {
			if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount %s before removing %s: %w", m, dir, err)
			}
		}
	}
	return os.RemoveAll(dir)
}

// lock takes an exclusive lock on path; concurrent runs then build an
// image once.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
