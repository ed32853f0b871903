package series

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"dioharness/harness/debian"
	"dioharness/harness/kbase"
	"dioharness/harness/kernel"
)

// UpstreamReport compares the files a base's series touch between the
// tree the harness tests (Debian's source of the base's release, e.g.
// 7.3.4) and a reference tree standing for the tag the series are sent
// against (Debian's source of the last release candidate before it):
// a file that is the same in both is the same in the tag between them.
// For a file that differs, it lists the stable commits of the tested
// package's changelog whose subject names the file's subsystem, and it
// applies every series to the reference versions of the files.
type UpstreamReport struct {
	Base      string `json:"base"`
	Upstream  string `json:"upstream"`
	Reference string `json:"reference"`
	Tested    string `json:"tested"`
	// Unlisted are stable releases whose update the changelog gives as
	// a link only: their commits are not known by subject.
	Unlisted []string        `json:"stable_releases_without_list,omitempty"`
	Files    []UpstreamFile  `json:"files"`
	Patches  []UpstreamApply `json:"patches"`
}

// UpstreamFile is one touched file in both trees (sha256, "" if absent).
type UpstreamFile struct {
	Path      string `json:"path"`
	Reference string `json:"reference_sha256"`
	Tested    string `json:"tested_sha256"`
	Same      bool   `json:"same"`
	// Stable are, for a file that differs, the stable commits whose
	// subject names the file's subsystem: the candidates for the
	// difference, to be matched to its hunks by reading them.
	Stable []debian.StableCommit `json:"stable_candidates,omitempty"`
}

// UpstreamApply is whether one patch applies to the reference files.
type UpstreamApply struct {
	Series  string `json:"series"`
	Patch   string `json:"patch"`
	Applies bool   `json:"applies_to_reference"`
	// Needs are the files it applies to only in their tested version,
	// each with the prerequisite BASE declares for it.
	Needs []string `json:"needs,omitempty"`
}

// CompareUpstream builds the report for spec. tested is the tested
// tree's source directory, reference the reference package's tarball,
// changelog the tested package's Debian changelog.
func CompareUpstream(ctx context.Context, spec kbase.Spec, tested, reference, changelog string) (UpstreamReport, error) {
	r := UpstreamReport{Base: spec.Name, Upstream: spec.Upstream,
		Reference: spec.Reference.Package + " " + spec.Reference.Version,
		Tested:    spec.Package + " " + spec.Version}
	var all []string
	patchesOf := map[string][]string{}
	for _, d := range spec.AllSeriesDirs() {
		p, err := kernel.ReadSeries(d)
		if err != nil {
			return r, err
		}
		patchesOf[d] = p
		all = append(all, p...)
	}
	files, err := kernel.TouchedFiles(all)
	if err != nil {
		return r, err
	}
	ref, err := os.MkdirTemp("", "upstream-ref-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(ref)
	if err := extractFiles(ctx, reference, ref, files); err != nil {
		return r, err
	}
	// Only the stable releases of the tested line come after the tag.
	line := spec.ReleaseSeries() + "."
	listed, bare, err := debian.StableCommits(changelog)
	if err != nil {
		return r, err
	}
	var commits []debian.StableCommit
	for _, c := range listed {
		if strings.HasPrefix(c.Release, line) {
			commits = append(commits, c)
		}
	}
	for _, b := range bare {
		if strings.HasPrefix(b, line) {
			r.Unlisted = append(r.Unlisted, b)
		}
	}
	for _, f := range files {
		uf := UpstreamFile{Path: f, Reference: fileSum(filepath.Join(ref, f)), Tested: fileSum(filepath.Join(tested, f))}
		uf.Same = uf.Reference == uf.Tested
		if !uf.Same {
			for _, c := range commits {
				if namesSubsystem(c.Subject, f) {
					uf.Stable = append(uf.Stable, c)
				}
			}
		}
		r.Files = append(r.Files, uf)
	}
	// Apply to the reference files, then again with the tested version
	// of the files BASE declares a prerequisite for: a patch that fails
	// the first time only needs the prerequisite.
	withTested := map[string]bool{}
	for _, p := range spec.Prerequisites {
		withTested[p.File] = true
	}
	plain, err := applyAll(ctx, spec, patchesOf, ref, tested, files, nil)
	if err != nil {
		return r, err
	}
	pre, err := applyAll(ctx, spec, patchesOf, ref, tested, files, withTested)
	if err != nil {
		return r, err
	}
	for i, a := range pre {
		if !a.Applies || plain[i].Applies {
			r.Patches = append(r.Patches, plain[i])
			continue
		}
		for _, f := range failedFiles(plain[i].Needs) {
			for _, pr := range spec.Prerequisites {
				if pr.File == f {
					a.Needs = append(a.Needs, f+": "+pr.Subject)
				}
			}
		}
		r.Patches = append(r.Patches, a)
	}
	return r, nil
}

// applyAll applies every series in order to a scratch tree holding the
// reference version of each touched file, or the tested version of the
// files in withTested; a patch that fails is recorded, with git apply's
// reason, and skipped.
func applyAll(ctx context.Context, spec kbase.Spec, patchesOf map[string][]string, ref, tested string, files []string, withTested map[string]bool) ([]UpstreamApply, error) {
	work, err := os.MkdirTemp("", "upstream-apply-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	for _, f := range files {
		from := filepath.Join(ref, f)
		if withTested[f] {
			from = filepath.Join(tested, f)
		}
		data, err := os.ReadFile(from)
		if os.IsNotExist(err) {
			continue // a file the series create
		}
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(work, f)), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(work, f), data, 0o644); err != nil {
			return nil, err
		}
	}
	var out []UpstreamApply
	for _, d := range spec.AllSeriesDirs() {
		for _, p := range patchesOf[d] {
			a := UpstreamApply{Series: filepath.Base(d), Patch: filepath.Base(p), Applies: true}
			cmd := exec.CommandContext(ctx, "git", "apply", p)
			cmd.Dir = work
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				a.Applies = false
				for _, l := range strings.Split(stderr.String(), "\n") {
					if m := applyFailed.FindStringSubmatch(l); m != nil {
						a.Needs = append(a.Needs, "does not apply to "+m[1])
					}
				}
				if len(a.Needs) == 0 {
					a.Needs = append(a.Needs, "does not apply: "+strings.TrimSpace(lastLine(stderr.String())))
				}
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// applyFailed is git apply's "error: patch failed: FILE:LINE".
var applyFailed = regexp.MustCompile(`^error: patch failed: (\S+):\d+$`)

// failedFiles are the files named by applyAll's "does not apply to".
func failedFiles(needs []string) []string {
	var out []string
	for _, n := range needs {
		if f, ok := strings.CutPrefix(n, "does not apply to "); ok {
			out = append(out, f)
		}
	}
	return out
}

// extractFiles unpacks files (those that exist) from a Debian
// linux-source tarball, whose members sit under one top directory.
func extractFiles(ctx context.Context, tarball, dest string, files []string) error {
	top, err := exec.CommandContext(ctx, "sh", "-c", "tar -tJf \"$1\" | head -n 1", "sh", tarball).Output()
	if err != nil {
		return fmt.Errorf("list %s: %w", tarball, err)
	}
	prefix := strings.SplitN(strings.TrimSpace(string(top)), "/", 2)[0]
	args := []string{"-xJf", tarball, "-C", dest, "--strip-components=1", "--ignore-failed-read", "--wildcards"}
	for _, f := range files {
		args = append(args, prefix+"/"+f)
	}
	cmd := exec.CommandContext(ctx, "tar", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// tar exits 2 when some named member is absent (a file the series
	// create); whatever exists is extracted.
	if err := cmd.Run(); err != nil && !strings.Contains(stderr.String(), "Not found in archive") {
		return fmt.Errorf("extract from %s: %w: %s", filepath.Base(tarball), err, lastLine(stderr.String()))
	}
	return nil
}

func fileSum(p string) string {
	data, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// namesSubsystem guesses whether a commit subject is about path's
// subsystem: "fuse:" for fs/fuse/, "mm/filemap:" or "mm:" for
// mm/filemap.c, "iomap:" for fs/iomap/, "selftests/fuse" for the fuse
// selftests, "docs: fuse"/"Documentation: fuse" for its documentation.
func namesSubsystem(subject, path string) bool {
	s := strings.ToLower(subject)
	parts := strings.Split(path, "/")
	var prefixes []string
	switch {
	case parts[0] == "fs" && len(parts) > 2:
		prefixes = []string{parts[1] + ":", parts[1] + "/"}
	case parts[0] == "mm":
		name := strings.TrimSuffix(parts[len(parts)-1], ".c")
		prefixes = []string{"mm:", "mm/" + name + ":", name + ":"}
	case parts[0] == "include" && len(parts) > 2:
		name := strings.TrimSuffix(parts[len(parts)-1], ".h")
		prefixes = []string{name + ":"}
	case parts[0] == "Documentation" && len(parts) > 2:
		name := parts[len(parts)-2]
		prefixes = []string{"docs: " + name, "documentation: " + name, "doc: " + name}
	case parts[0] == "tools" && len(parts) > 3:
		name := parts[len(parts)-2]
		prefixes = []string{"selftests/" + name, "selftests: " + name}
	}
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// UpstreamPath is where a base's report is committed.
func UpstreamPath(repo, base string) string {
	return filepath.Join(repo, "results", "upstream-"+base)
}

// WriteUpstream writes the report as JSON and Markdown.
func WriteUpstream(path string, r UpstreamReport) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".json", append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(path+".md", []byte(r.Markdown()), 0o644)
}

// ReadUpstream reads a committed report.
func ReadUpstream(path string) (UpstreamReport, error) {
	var r UpstreamReport
	data, err := os.ReadFile(path + ".json")
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(data, &r)
}

// Markdown is the report as the repository shows it.
func (r UpstreamReport) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# The files the %s series touch: %s against %s\n\n", r.Base, r.Upstream, r.Tested)
	fmt.Fprintf(&b, "The series are sent against %s and tested on Debian's %s. Debian's %s stands for %s: "+
		"a file that is the same in it and in the tested tree is the same in %s, which lies between them.\n\n",
		r.Upstream, r.Tested, r.Reference, r.Upstream, r.Upstream)
	b.WriteString("| file | reference | tested | same |\n|---|---|---|---|\n")
	for _, f := range r.Files {
		same := "yes"
		if !f.Same {
			same = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", f.Path, short(f.Reference), short(f.Tested), same)
	}
	for _, f := range r.Files {
		if f.Same || len(f.Stable) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s differs. Stable commits of the tested package whose subject names its subsystem (the candidates; the cover letter says which hunks are which):\n\n", f.Path)
		for _, c := range f.Stable {
			fmt.Fprintf(&b, "- %s: %s\n", c.Release, c.Subject)
		}
	}
	if len(r.Unlisted) > 0 {
		fmt.Fprintf(&b, "\nThe changelog gives the stable update %s as a link only: its commits are not known by subject.\n", strings.Join(r.Unlisted, ", "))
	}
	b.WriteString("\nEach patch applied, in series order, to the reference version of the files (the tested version where BASE declares a prerequisite):\n\n| series | patch | applies | needs |\n|---|---|---|---|\n")
	for _, p := range r.Patches {
		ok := "yes"
		if !p.Applies {
			ok = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", p.Series, p.Patch, ok, strings.Join(p.Needs, "; "))
	}
	b.WriteString("\nRegenerate: `make upstream-base BASE=" + r.Base + "`.\n")
	return b.String()
}

func short(sum string) string {
	if sum == "" {
		return "(absent)"
	}
	return sum[:12]
}

// CheckUpstream holds a committed report to the current series and
// tested tree: the same files, the same tested contents, every patch
// applying. It returns what is stale or wrong, each as one line.
func CheckUpstream(r UpstreamReport, spec kbase.Spec, tested string) ([]string, error) {
	var all []string
	for _, d := range spec.AllSeriesDirs() {
		p, err := kernel.ReadSeries(d)
		if err != nil {
			return nil, err
		}
		all = append(all, p...)
	}
	files, err := kernel.TouchedFiles(all)
	if err != nil {
		return nil, err
	}
	var bad []string
	recorded := map[string]UpstreamFile{}
	for _, f := range r.Files {
		recorded[f.Path] = f
	}
	for _, f := range files {
		rf, ok := recorded[f]
		switch {
		case !ok:
			bad = append(bad, f+" is touched by the series but not in the report")
		case rf.Tested != fileSum(filepath.Join(tested, f)):
			bad = append(bad, f+" changed in the tested tree since the report")
		}
	}
	if len(recorded) != len(files) {
		bad = append(bad, fmt.Sprintf("the report covers %d files, the series touch %d", len(recorded), len(files)))
	}
	var names []string
	for _, p := range all {
		names = append(names, filepath.Base(p))
	}
	var reported []string
	for _, p := range r.Patches {
		reported = append(reported, p.Patch)
		if !p.Applies {
			bad = append(bad, fmt.Sprintf("%s/%s does not apply to the reference files of %s", p.Series, p.Patch, r.Upstream))
		}
	}
	if !slices.Equal(names, reported) {
		bad = append(bad, "the report is of other patches than the series now list")
	}
	if r.Upstream != spec.Upstream {
		bad = append(bad, "the report compares against "+r.Upstream+", BASE says "+spec.Upstream)
	}
	return bad, nil
}
