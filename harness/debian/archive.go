package debian

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/bitfield/script"
	"golang.org/x/sys/unix"
)

// Keyring is Debian's archive keyring (package debian-archive-keyring):
// the private sources list trusts exactly what the machine's apt trusts
// for Debian.
const Keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// Archive is a private view of Debian's archive: its own sources list
// and apt state under Dir, so the machine's apt configuration is never
// changed.
type Archive struct {
	// Dir holds sources.list, lists/ and cache/ of the private apt, and
	// src/ with the extracted source tarballs.
	Dir string
	// Mirrors are the archive roots (FindMirrors).
	Mirrors Mirrors
	// Log receives one line per step that takes time.
	Log io.Writer
}

// Choice is the package version a base is built from.
type Choice struct {
	// Package and Version name exactly what is used.
	Package, Version string
	// Recorded is the version the base file names.
	Recorded string
	// Note says in one line why Version differs from Recorded, or that
	// the archive could not be asked; empty when Version == Recorded and
	// the archive confirmed it.
	Note string
}

// Drifted reports whether a different version than the recorded one is used.
func (c Choice) Drifted() bool { return c.Version != c.Recorded }

// Choose picks the version to build from the versions the archive serves:
// the recorded one while it is served, else the newest served version of
// the same package (the archive replaces point releases; the package name
// keeps the upstream series). It fails only when nothing is served.
func Choose(pkg, recorded string, served []string) (Choice, error) {
	c := Choice{Package: pkg, Recorded: recorded}
	if len(served) == 0 {
		return c, fmt.Errorf("no %s is served in the configured suites of Debian's archive", pkg)
	}
	newest := ""
	for _, v := range served {
		if v == recorded {
			c.Version = v
			return c, nil
		}
		if newest == "" || CompareVersions(v, newest) > 0 {
			newest = v
		}
	}
	c.Version = newest
	rel := "newer"
	if CompareVersions(newest, recorded) < 0 {
		rel = "older"
	}
	c.Note = fmt.Sprintf("%s %s is no longer served; using the newest served %s (%s)", pkg, recorded, newest, rel)
	return c, nil
}

func (a *Archive) aptOptions() []string {
	return []string{
		"-o", "Dir::Etc::sourcelist=" + filepath.Join(a.Dir, "sources.list"),
		"-o", "Dir::Etc::sourceparts=-",
		"-o", "Dir::State::Lists=" + filepath.Join(a.Dir, "lists"),
		"-o", "Dir::Cache=" + filepath.Join(a.Dir, "cache"),
		// Our private directories are root's; apt's _apt sandbox user
		// could not write them.
		"-o", "APT::Sandbox::User=root",
		"-q",
	}
}

// update writes the private sources list for suites and refreshes the
// private package lists.
func (a *Archive) update(ctx context.Context, suites []string) error {
	var list strings.Builder
	for _, s := range suites {
		uri, err := a.Mirrors.For(s)
		if err != nil {
			return err
		}
		fmt.Fprintf(&list, "deb [signed-by=%s] %s %s main\n", Keyring, uri, s)
	}
	for _, d := range []string{"lists/partial", "cache/archives/partial", "src"} {
		if err := os.MkdirAll(filepath.Join(a.Dir, d), 0o755); err != nil {
			return err
		}
	}
	if _, err := os.Stat(Keyring); err != nil {
		return fmt.Errorf("%s missing: install Debian package debian-archive-keyring", Keyring)
	}
	if err := os.WriteFile(filepath.Join(a.Dir, "sources.list"), []byte(list.String()), 0o644); err != nil {
		return err
	}
	out, err := a.apt(ctx, a.Dir, "apt-get", "update")
	if err != nil {
		return fmt.Errorf("apt-get update (private sources %s): %w: %s", strings.Join(suites, " "), err, lastLine(out))
	}
	return nil
}

// apt runs an apt tool against the private state, in dir.
func (a *Archive) apt(ctx context.Context, dir, tool string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, tool, append(a.aptOptions(), args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// locked runs f holding a lock on the private apt state. Its sources
// list names one base's suites at a time and apt-get update refuses to
// run beside another, so processes sharing the cache (fresh clones, the
// jobs of make ci-local, make fstests KERNEL=base and patched at once)
// take turns: from writing the sources list to the last apt command
// that reads the lists it fetched.
func (a *Archive) locked(f func() error) error {
	if err := os.MkdirAll(a.Dir, 0o755); err != nil {
		return err
	}
	l, err := os.OpenFile(filepath.Join(a.Dir, "apt.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := unix.Flock(int(l.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", l.Name(), err)
	}
	defer unix.Flock(int(l.Fd()), unix.LOCK_UN)
	return f()
}

// Served lists the versions of pkg the suites serve.
func (a *Archive) Served(ctx context.Context, pkg string, suites []string) (served []string, err error) {
	err = a.locked(func() error {
		served, err = a.served(ctx, pkg, suites)
		return err
	})
	return served, err
}

// served is Served with the lock held.
func (a *Archive) served(ctx context.Context, pkg string, suites []string) ([]string, error) {
	if err := a.update(ctx, suites); err != nil {
		return nil, err
	}
	// "pkg | version | source line", one line per served version.
	out, err := a.apt(ctx, a.Dir, "apt-cache", "madison", pkg)
	if err != nil {
		return nil, fmt.Errorf("apt-cache madison %s: %w", pkg, err)
	}
	return script.Echo(out).Match(pkg + " |").Column(3).Slice()
}

// Tarball returns the extracted /usr/src/<pkg>.tar.xz of the chosen
// version of pkg, downloading the package the first time. When the
// archive cannot be reached, a tarball of the recorded version already in
// the cache is used (the Choice says so).
func (a *Archive) Tarball(ctx context.Context, pkg, recorded string, suites []string) (p string, c Choice, err error) {
	err = a.locked(func() error {
		p, c, err = a.tarball(ctx, pkg, recorded, suites)
		return err
	})
	return p, c, err
}

// tarball is Tarball with the lock held: the download reads the lists
// the choice was made from.
func (a *Archive) tarball(ctx context.Context, pkg, recorded string, suites []string) (string, Choice, error) {
	c, err := a.choose(ctx, pkg, recorded, suites)
	if err != nil {
		return "", c, err
	}
	p := a.TarballPath(pkg, c.Version)
	if exists(p) {
		return p, c, nil
	}
	fmt.Fprintf(a.Log, "debian: downloading %s %s\n", pkg, c.Version)
	debs := filepath.Join(a.Dir, "cache", "archives")
	before, _ := filepath.Glob(filepath.Join(debs, pkg+"_*.deb"))
	for _, f := range before {
		os.Remove(f)
	}
	// apt-get download writes into the working directory.
	if out, err := a.apt(ctx, debs, "apt-get", "download", pkg+"="+c.Version); err != nil {
		return "", c, fmt.Errorf("apt-get download %s=%s: %w: %s", pkg, c.Version, err, lastLine(out))
	}
	deb, _ := filepath.Glob(filepath.Join(debs, pkg+"_*.deb"))
	if len(deb) != 1 {
		return "", c, fmt.Errorf("apt-get download %s=%s left %d packages in %s", pkg, c.Version, len(deb), debs)
	}
	defer os.Remove(deb[0])
	if err := extract(ctx, deb[0], pkg, p); err != nil {
		return "", c, err
	}
	return p, c, nil
}

// Choose asks the archive which version of pkg to use (Choose) without
// downloading it: what names a base's source before anything is
// fetched. When the archive cannot be asked, a tarball of the recorded
// version already in the cache is used, and the Choice says so.
func (a *Archive) Choose(ctx context.Context, pkg, recorded string, suites []string) (c Choice, err error) {
	err = a.locked(func() error {
		c, err = a.choose(ctx, pkg, recorded, suites)
		return err
	})
	return c, err
}

// choose is Choose with the lock held.
func (a *Archive) choose(ctx context.Context, pkg, recorded string, suites []string) (Choice, error) {
	served, err := a.served(ctx, pkg, suites)
	if err != nil {
		if exists(a.TarballPath(pkg, recorded)) {
			return Choice{Package: pkg, Version: recorded, Recorded: recorded,
				Note: "Debian's archive could not be asked (" + firstLine(err.Error()) + "); using the cached " + recorded}, nil
		}
		return Choice{}, err
	}
	return Choose(pkg, recorded, served)
}

// TarballPath is where the extracted source tarball of one package
// version is kept; the base's import lives beside it under the same
// name (kernel.Sources).
func (a *Archive) TarballPath(pkg, version string) string {
	return filepath.Join(a.Dir, "src", pkg+"_"+strings.ReplaceAll(version, ":", "%3a")+".tar.xz")
}

// extract copies usr/src/<pkg>.tar.xz out of the .deb, atomically.
func extract(ctx context.Context, deb, pkg, dest string) error {
	var stderr bytes.Buffer
	tmp := dest + ".part"
	_, err := script.NewPipe().WithContext(ctx).WithStderr(&stderr).
		ExecCommand("dpkg-deb", "--fsys-tarfile", deb).
		ExecCommand("tar", "-xO", "./usr/src/"+pkg+".tar.xz").
		WriteFile(tmp)
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("extract usr/src/%s.tar.xz from %s: %w: %s", pkg, filepath.Base(deb), err, lastLine(stderr.String()))
	}
	if fi, err := os.Stat(tmp); err != nil || fi.Size() == 0 {
		os.Remove(tmp)
		return fmt.Errorf("%s holds no usr/src/%s.tar.xz", filepath.Base(deb), pkg)
	}
	return os.Rename(tmp, dest)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, os.ErrNotExist) && err == nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
