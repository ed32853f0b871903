package series

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"dioharness/harness/kbase"
	"dioharness/harness/kernel"
)

// Finding is one thing in a series' mails that a maintainer would send
// back, with the file and line it is on.
type Finding struct {
	File string // repository-relative when the series is in one
	Line int
	Why  string
}

func (f Finding) String() string { return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Why) }

// UpstreamIDPlaceholder stands in a stable backport for the upstream
// commit id ("[ Upstream commit <UPSTREAM-ID> ]") until the patch is
// merged. A series that carries it is held: series-check checks it,
// send-email refuses to send it.
const UpstreamIDPlaceholder = "<UPSTREAM-ID>"

// resultsPlaceholder marks a cover letter whose test results a full run
// has not filled in yet.
const resultsPlaceholder = "(filled in by the harness from the latest full run)"

// probeSender is who Lint stamps the mails with to see what a real
// sender's mails would still carry of the placeholder.
var probeSender = Identity{Name: "Lint Sender", Email: "lint.sender@example.org"}

// Lint reads the series in dir, of base spec, as its mails would go out
// and returns what must not go out:
//
//   - the placeholder identity anywhere once the mails are stamped with a
//     real one (From:, Signed-off-by:, the cover letter's shortlog);
//   - a cover letter whose test results were never filled in;
//   - a line that ends in ':' and is followed by nothing, or by a blank
//     line and a new paragraph rather than an indented block (a sentence
//     that announces what does not follow);
//   - in the cover letter's table of scenarios that prove a patch, a row
//     that is not a red->green pair (fail on every kernel without the
//     series, pass on every kernel with it: for a series of the patched
//     flavour, fail on base and pass on patched): a skip or a pass on
//     both proves nothing;
//   - a patch with a Fixes: tag but no stable decision: neither
//     "Cc: stable@vger.kernel.org" nor "Cc: <stable+noautosel@kernel.org>
//     # reason";
//   - the upstream id placeholder in a series not sent to stable.
//
// repo, when not empty, makes the file names relative to it.
func Lint(repo, dir string, spec kbase.Spec) ([]Finding, error) {
	patches, err := kernel.ReadSeries(dir)
	if err != nil {
		return nil, err
	}
	files := patches
	if c := Cover(dir); c != "" {
		files = append([]string{c}, patches...)
	}
	var out []Finding
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := f
		if repo != "" {
			if r, err := filepath.Rel(repo, f); err == nil {
				name = r
			}
		}
		text := string(data)
		isCover := strings.HasSuffix(f, "0000-cover-letter.patch")
		out = append(out, placeholdersLeft(name, text)...)
		msg, first := message(text)
		out = append(out, danglingColons(name, msg, first)...)
		if isCover {
			out = append(out, unfilledResults(name, text)...)
			out = append(out, proofPairs(name, text, carriers(spec, filepath.Base(dir)))...)
			continue
		}
		out = append(out, stableDecision(name, msg, first)...)
		if spec.Target != kbase.Stable {
			for i, l := range strings.Split(text, "\n") {
				if strings.Contains(l, UpstreamIDPlaceholder) {
					out = append(out, Finding{name, i + 1, UpstreamIDPlaceholder + " in a series sent to " + spec.Target + ": only stable backports name an upstream commit"})
				}
			}
		}
	}
	return out, nil
}

// Held reports whether the series in dir waits for upstream commit ids
// (a backport with UpstreamIDPlaceholder), and where.
func Held(dir string) ([]Finding, error) {
	patches, err := kernel.ReadSeries(dir)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, p := range patches {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		for i, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, UpstreamIDPlaceholder) {
				out = append(out, Finding{p, i + 1, "held until the upstream commit is merged: fill in " + UpstreamIDPlaceholder})
			}
		}
	}
	return out, nil
}

// placeholdersLeft stamps the mail as send-email would for a real
// sender and reports every line that still names the placeholder.
func placeholdersLeft(name, text string) []Finding {
	var out []Finding
	for i, l := range strings.Split(Stamp(text, probeSender), "\n") {
		if strings.Contains(l, Placeholder.Name) || strings.Contains(l, Placeholder.Email) {
			out = append(out, Finding{name, i + 1, "the placeholder identity survives stamping: " + strings.TrimSpace(l)})
		}
	}
	return out
}

// message returns the mail's body up to the "---" that ends a commit
// message (or the signature of a cover letter), and the file line of its
// first line.
func message(text string) ([]string, int) {
	lines := strings.Split(text, "\n")
	start := 0
	for i, l := range lines {
		if l == "" {
			start = i + 1
			break
		}
	}
	end := len(lines)
	for i := start; i < len(lines); i++ {
		if lines[i] == "---" || lines[i] == "-- " {
			end = i
			break
		}
	}
	return lines[start:end], start + 1
}

// danglingColons reports lines ending in ':' that announce nothing: the
// next line is missing, or blank and followed by an unindented line or
// by nothing.
func danglingColons(name string, msg []string, first int) []Finding {
	var out []Finding
	next := func(i int) (string, bool) {
		if i < len(msg) {
			return msg[i], true
		}
		return "", false
	}
	for i, l := range msg {
		if !strings.HasSuffix(strings.TrimRight(l, " "), ":") || isTrailer(l) {
			continue
		}
		n1, ok1 := next(i + 1)
		switch {
		case ok1 && strings.TrimSpace(n1) != "":
			continue
		case !ok1:
		default:
			n2, ok2 := next(i + 2)
			if ok2 && (strings.HasPrefix(n2, " ") || strings.HasPrefix(n2, "\t")) {
				continue
			}
		}
		out = append(out, Finding{name, first + i, "the line ends in ':' but nothing follows it: " + strings.TrimSpace(l)})
	}
	return out
}

var trailerLine = regexp.MustCompile(`^[A-Z][A-Za-z-]+: \S`)

func isTrailer(l string) bool { return trailerLine.MatchString(l) }

func unfilledResults(name, text string) []Finding {
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, resultsPlaceholder) {
			return []Finding{{name, i + 1, "the test results were never filled in: run make qemu-test BASE=all (or make matrix, after one) to quote the latest full run"}}
		}
	}
	return nil
}

// proofHeading starts the table MatrixText writes.
const proofHeading = "Scenarios that prove a patch of this series:"

// carriers maps each flavour of the base to whether it applies the
// series.
func carriers(spec kbase.Spec, series string) map[string]bool {
	out := map[string]bool{}
	for _, f := range spec.Flavours() {
		names, _ := spec.FlavourSeries(f)
		out[string(f)] = slices.Contains(names, series)
	}
	return out
}

// proofPairs reads the cover letter's proof table and reports every row
// that is not fail on each kernel that does not carry the series and
// pass on each one that does (carries, by flavour).
func proofPairs(name, text string, carries map[string]bool) []Finding {
	lines := strings.Split(text, "\n")
	var out []Finding
	for i, l := range lines {
		if strings.TrimSpace(l) != proofHeading {
			continue
		}
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++
		}
		if j == len(lines) {
			break
		}
		header := strings.Fields(lines[j])
		var with, without []int
		for k, h := range header {
			if c, ok := carries[h]; ok && c {
				with = append(with, k)
			} else if ok {
				without = append(without, k)
			}
		}
		if len(with) == 0 || len(without) == 0 {
			out = append(out, Finding{name, j + 1, "the proof table has no column of a kernel with the series and one without it: " + strings.TrimSpace(lines[j])})
			break
		}
		last := max(slices.Max(with), slices.Max(without))
		for k := j + 1; k < len(lines) && strings.TrimSpace(lines[k]) != ""; k++ {
			f := strings.Fields(lines[k])
			if len(f) <= last {
				out = append(out, Finding{name, k + 1, "a proof table row without a verdict per kernel: " + strings.TrimSpace(lines[k])})
				continue
			}
			var bad []string
			for _, c := range without {
				if f[c] != "fail" {
					bad = append(bad, fmt.Sprintf("%s on %s", f[c], header[c]))
				}
			}
			for _, c := range with {
				if f[c] != "pass" {
					bad = append(bad, fmt.Sprintf("%s on %s", f[c], header[c]))
				}
			}
			if len(bad) > 0 {
				out = append(out, Finding{name, k + 1, fmt.Sprintf("%s is listed as proof but is %s, not a red->green pair (fail without the series, pass with it)", f[0], strings.Join(bad, ", "))})
			}
		}
	}
	return out
}

var (
	fixesTag     = regexp.MustCompile(`^Fixes: [0-9a-f]{12,40} \(".*"\)$`)
	stableCc     = regexp.MustCompile(`^Cc: <?stable@vger\.kernel\.org>?(\s+#.*)?$`)
	noautoselCc  = regexp.MustCompile(`^Cc: <?stable\+noautosel@kernel\.org>?(\s+#\s*(.*))?$`)
	anyStableTag = regexp.MustCompile(`^Cc: .*stable`)
)

// stableDecision wants every patch with a Fixes: tag to say whether it
// goes to stable, and a noautosel note to say why not.
func stableDecision(name string, msg []string, first int) []Finding {
	fixes := -1
	decided := false
	var out []Finding
	for i, l := range msg {
		switch {
		case strings.HasPrefix(l, "Fixes:"):
			if !fixesTag.MatchString(l) {
				out = append(out, Finding{name, first + i, `a Fixes: tag not of the form Fixes: <12+ hex> ("subject"): ` + l})
			}
			if fixes < 0 {
				fixes = i
			}
		case stableCc.MatchString(l):
			decided = true
		case noautoselCc.MatchString(l):
			if m := noautoselCc.FindStringSubmatch(l); strings.TrimSpace(m[2]) == "" {
				out = append(out, Finding{name, first + i, "Cc: <stable+noautosel@kernel.org> needs its reason after '#'"})
			}
			decided = true
		case anyStableTag.MatchString(l):
			out = append(out, Finding{name, first + i, "an unknown stable tag, want Cc: stable@vger.kernel.org or Cc: <stable+noautosel@kernel.org> # reason: " + l})
			decided = true
		}
	}
	if fixes >= 0 && !decided {
		out = append(out, Finding{name, first + fixes, "Fixes: without a stable decision: add Cc: stable@vger.kernel.org (with # version notes where needed) or Cc: <stable+noautosel@kernel.org> # reason"})
	}
	return out
}
