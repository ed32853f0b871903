package series

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"dioharness/harness/kbase"
)

// UpstreamRepos are where maintainers resolve a series' base: mainline
// tags in Linus' tree, stable tags in linux-stable.
var UpstreamRepos = map[string]string{
	kbase.Mainline: "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git",
	kbase.Stable:   "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git",
}

var commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Base is the commit a series is sent against and how it was found.
type Base struct {
	Tag, Commit, How string
}

// Trailer is the line git format-patch --base writes at the end of the
// cover letter (or of the only patch), which b4 and the test robots read.
func (b Base) Trailer() string { return "base-commit: " + b.Commit }

// ResolveBase finds the commit id of spec.Upstream, the tag the series
// are sent against: from a local clone of the upstream repository when
// one is given (which must agree with an id BASE records), else the id
// BASE records, else by asking the upstream repository with git
// ls-remote. It fails, saying what to do, when none of them answers: a
// series is not sent without a base a maintainer can resolve.
func ResolveBase(ctx context.Context, spec kbase.Spec, localGit string) (Base, error) {
	b := Base{Tag: spec.Upstream}
	if localGit != "" {
		out, err := exec.CommandContext(ctx, "git", "-C", localGit, "rev-parse", "--verify", "--quiet", spec.Upstream+"^{commit}").Output()
		if err != nil {
			return b, fmt.Errorf("base-commit: no tag %s in %s (UPSTREAM_GIT): fetch the tags of %s there", spec.Upstream, localGit, UpstreamRepos[spec.Target])
		}
		b.Commit, b.How = strings.TrimSpace(string(out)), "resolved from "+localGit
		if spec.BaseCommit != "" && spec.BaseCommit != b.Commit {
			return b, fmt.Errorf("base-commit: patches/%s/BASE records %s for %s, but %s has %s", spec.Name, spec.BaseCommit, spec.Upstream, localGit, b.Commit)
		}
		return b, nil
	}
	if spec.BaseCommit != "" {
		b.Commit, b.How = spec.BaseCommit, "recorded in patches/"+spec.Name+"/BASE"
		return b, nil
	}
	url := UpstreamRepos[spec.Target]
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "ls-remote", "--tags", url, "refs/tags/"+spec.Upstream+"^{}")
	out, err := cmd.Output()
	if err == nil {
		if f := strings.Fields(string(out)); len(f) == 2 && commitRe.MatchString(f[0]) {
			b.Commit, b.How = f[0], "resolved with git ls-remote "+url
			return b, nil
		}
		err = fmt.Errorf("no tag %s there", spec.Upstream)
	} else if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		err = fmt.Errorf("%s", strings.TrimSpace(lastLine(string(ee.Stderr))))
	}
	return b, fmt.Errorf("base-commit: %s's commit id is not recorded in patches/%s/BASE and git ls-remote %s failed (%v): give UPSTREAM_GIT=<a clone with the tag> or record base-commit: in BASE",
		spec.Upstream, spec.Name, url, err)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// withBase puts the base-commit: line where git format-patch --base
// puts it: after the diffstat, before the "-- " signature.
func withBase(mail string, b Base) string {
	if i := strings.LastIndex(mail, "\n-- \n"); i >= 0 {
		return strings.TrimRight(mail[:i], "\n") + "\n\n" + b.Trailer() + "\n" + mail[i+1:]
	}
	return strings.TrimRight(mail, "\n") + "\n\n" + b.Trailer() + "\n"
}
