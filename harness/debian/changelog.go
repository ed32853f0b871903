package debian

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/bitfield/script"
)

// StableCommit is one upstream stable commit a package's changelog
// lists, by the stable release that brought it.
type StableCommit struct {
	Release string // "7.3.4"
	Subject string
}

var (
	stableURL   = regexp.MustCompile(`/ChangeLog-(\d+\.\d+\.\d+)\s*$`)
	stableEntry = regexp.MustCompile(`^ {4}- (.*)$`)
	stableCont  = regexp.MustCompile(`^ {6}(\S.*)$`)
)

// StableCommits reads the "New upstream stable update" lists of a
// Debian linux changelog: every subject under a ChangeLog-X.Y.Z link is
// a stable commit of X.Y.Z that the package carries. Releases whose
// update names no commit (Debian sometimes gives only the link) are
// returned in bare, so a caller can say that their commits are unknown.
func StableCommits(changelog string) (commits []StableCommit, bare []string, err error) {
	release := ""
	listed := map[string]int{}
	var order []string
	sc := bufio.NewScanner(strings.NewReader(changelog))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := stableURL.FindStringSubmatch(line); m != nil {
			release = m[1]
			if _, ok := listed[release]; !ok {
				order = append(order, release)
				listed[release] = 0
			}
			continue
		}
		if release == "" {
			continue
		}
		if m := stableEntry.FindStringSubmatch(line); m != nil {
			commits = append(commits, StableCommit{Release: release, Subject: m[1]})
			listed[release]++
			continue
		}
		if m := stableCont.FindStringSubmatch(line); m != nil && len(commits) > 0 && listed[release] > 0 {
			c := &commits[len(commits)-1]
			c.Subject += " " + m[1]
			continue
		}
		// Anything else (a blank line, "  * ...", a maintainer block)
		// ends the list of that release.
		release = ""
	}
	for _, r := range order {
		if listed[r] == 0 {
			bare = append(bare, r)
		}
	}
	return commits, bare, sc.Err()
}

// Changelog returns the Debian changelog (changelog.Debian.gz,
// decompressed) of pkg at version, downloading the package into a
// scratch directory the first time and keeping the changelog in the
// cache beside the tarballs.
func (a *Archive) Changelog(ctx context.Context, pkg, version string, suites []string) (text string, err error) {
	p := filepath.Join(a.Dir, "src", pkg+"_"+strings.ReplaceAll(version, ":", "%3a")+".changelog")
	if data, err := os.ReadFile(p); err == nil {
		return string(data), nil
	}
	err = a.locked(func() error {
		text, err = a.changelog(ctx, p, pkg, version, suites)
		return err
	})
	return text, err
}

// changelog is Changelog with the lock held, p where it is kept.
func (a *Archive) changelog(ctx context.Context, p, pkg, version string, suites []string) (string, error) {
	if err := a.update(ctx, suites); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Join(a.Dir, "cache"), "changelog-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(a.Log, "debian: downloading %s %s for its changelog\n", pkg, version)
	if out, err := a.apt(ctx, tmp, "apt-get", "download", pkg+"="+version); err != nil {
		return "", fmt.Errorf("apt-get download %s=%s: %w: %s", pkg, version, err, lastLine(out))
	}
	deb, _ := filepath.Glob(filepath.Join(tmp, pkg+"_*.deb"))
	if len(deb) != 1 {
		return "", fmt.Errorf("apt-get download %s=%s left %d packages", pkg, version, len(deb))
	}
	text, err := script.NewPipe().WithContext(ctx).
		ExecCommand("dpkg-deb", "--fsys-tarfile", deb[0]).
		ExecCommand("tar", "-xO", "./usr/share/doc/"+pkg+"/changelog.Debian.gz").
		ExecCommand("gzip", "-dc").
		String()
	if err != nil || text == "" {
		return "", fmt.Errorf("%s holds no usr/share/doc/%s/changelog.Debian.gz: %v", filepath.Base(deb[0]), pkg, err)
	}
	if err := os.WriteFile(p+".part", []byte(text), 0o644); err != nil {
		return "", err
	}
	return text, os.Rename(p+".part", p)
}

// Source returns the extracted /usr/src tarball of exactly pkg=version
// from suites, downloading it the first time: a reference tree that
// must be that version or nothing (unlike Tarball, which follows the
// archive to a newer version of the same package).
func (a *Archive) Source(ctx context.Context, pkg, version string, suites []string) (string, error) {
	p := a.TarballPath(pkg, version)
	if exists(p) {
		return p, nil
	}
	if err := a.locked(func() error { return a.source(ctx, p, pkg, version, suites) }); err != nil {
		return "", err
	}
	return p, nil
}

// source is Source with the lock held, p where the tarball goes.
func (a *Archive) source(ctx context.Context, p, pkg, version string, suites []string) error {
	if exists(p) {
		return nil
	}
	served, err := a.served(ctx, pkg, suites)
	if err != nil {
		return err
	}
	found := false
	for _, v := range served {
		found = found || v == version
	}
	if !found {
		return fmt.Errorf("%s %s is not served by %s (served: %s)", pkg, version, strings.Join(suites, " "), strings.Join(served, ", "))
	}
	tmp, err := os.MkdirTemp(filepath.Join(a.Dir, "cache"), "source-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(a.Log, "debian: downloading %s %s\n", pkg, version)
	if out, err := a.apt(ctx, tmp, "apt-get", "download", pkg+"="+version); err != nil {
		return fmt.Errorf("apt-get download %s=%s: %w: %s", pkg, version, err, lastLine(out))
	}
	deb, _ := filepath.Glob(filepath.Join(tmp, pkg+"_*.deb"))
	if len(deb) != 1 {
		return fmt.Errorf("apt-get download %s=%s left %d packages", pkg, version, len(deb))
	}
	return extract(ctx, deb[0], pkg, p)
}
