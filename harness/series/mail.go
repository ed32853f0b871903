package series

import (
	"context"
	"fmt"
	"io"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"dioharness/harness/kbase"
	"dioharness/harness/kernel"
)

// Recipients is the To/Cc list of the series.
type Recipients struct {
	To, Cc []string
}

// Maintainers runs the kernel's scripts/get_maintainer.pl on every patch
// in the base tree. Maintainers and reviewers go to To, lists to Cc.
// The tree has no history, so git-based guesses are off.
func Maintainers(ctx context.Context, baseTree string, patches []string) (Recipients, error) {
	to, cc := map[string]bool{}, map[string]bool{}
	for _, p := range patches {
		cmd := exec.CommandContext(ctx, "perl", "scripts/get_maintainer.pl", "--nogit", "--nogit-fallback",
			"--norolestats", "--roles", "--separator", "\n", p)
		cmd.Dir = baseTree
		out, err := cmd.Output()
		if err != nil {
			return Recipients{}, fmt.Errorf("get_maintainer.pl %s: %w", filepath.Base(p), err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			addr, role := splitRole(strings.TrimSpace(line))
			if addr == "" {
				continue
			}
			switch {
			case strings.Contains(role, "maintainer"), strings.Contains(role, "supporter"), strings.Contains(role, "reviewer"):
				to[addr] = true
			default:
				cc[addr] = true
			}
		}
	}
	r := Recipients{To: keys(to), Cc: keys(cc)}
	for _, a := range r.To {
		delete(cc, a)
	}
	r.Cc = keys(cc)
	return r, nil
}

// splitRole splits `Name (Org) <a@b> (maintainer:AREA)` into the
// address and the role: the role is the last parenthesis.
func splitRole(line string) (addr, role string) {
	i := strings.LastIndex(line, " (")
	if i < 0 || !strings.HasSuffix(line, ")") {
		return line, ""
	}
	return line[:i], line[i+2 : len(line)-1]
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The generated blocks of MAINTAINERS.md, one per series ("v7.3/fuse").
func marks(series string) (begin, end string) {
	return "<!-- get_maintainer " + series + ": begin (make maintainers regenerates this block) -->",
		"<!-- get_maintainer " + series + ": end -->"
}

// UpdateMaintainersFile rewrites the series' generated block of
// MAINTAINERS.md, appending the block the first time.
func UpdateMaintainersFile(path, series string, r Recipients) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(data)
	beginMark, endMark := marks(series)
	var b strings.Builder
	b.WriteString(beginMark + "\n")
	for _, a := range r.To {
		fmt.Fprintf(&b, "To: %s\n", a)
	}
	for _, a := range r.Cc {
		fmt.Fprintf(&b, "Cc: %s\n", a)
	}
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i < 0 || j < i {
		s = strings.TrimRight(s, "\n") + "\n\n" + b.String() + endMark + "\n"
	} else {
		s = s[:i] + b.String() + s[j:]
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// ReadRecipients reads the series' generated block back.
func ReadRecipients(path, series string) (Recipients, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Recipients{}, err
	}
	s := string(data)
	beginMark, endMark := marks(series)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i < 0 || j < i {
		return Recipients{}, fmt.Errorf("%s: no get_maintainer block for %s: run make maintainers", path, series)
	}
	var r Recipients
	for _, line := range strings.Split(s[i+len(beginMark):j], "\n") {
		if a, ok := strings.CutPrefix(line, "To: "); ok {
			r.To = append(r.To, strings.TrimSpace(a))
		} else if a, ok := strings.CutPrefix(line, "Cc: "); ok {
			r.Cc = append(r.Cc, strings.TrimSpace(a))
		}
	}
	if len(r.To) == 0 {
		return Recipients{}, fmt.Errorf("%s: the get_maintainer block of %s has no To: run make maintainers", path, series)
	}
	return r, nil
}

// stableAliases are the stable team's addresses: in a patch sent to
// mainline, a Cc: of one of them is a tag for the stable tools, not a
// recipient (the noautosel one delivers nowhere).
var stableAliases = map[string]bool{
	"stable@vger.kernel.org":      true,
	"stable@kernel.org":           true,
	"stable+noautosel@kernel.org": true,
}

// StableList is where a stable backport is sent.
const StableList = "stable@vger.kernel.org"

var trailerAddr = regexp.MustCompile(`^(To|Cc): (.+?)(\s+#.*)?$`)

// Trailers are the people and lists a patch names in its To:/Cc:
// trailers (the reviewers a changelog asks for), stable tags left out.
func Trailers(patch string) (Recipients, error) {
	data, err := os.ReadFile(patch)
	if err != nil {
		return Recipients{}, err
	}
	msg, _ := message(string(data))
	var r Recipients
	for _, l := range msg {
		m := trailerAddr.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		a, err := mail.ParseAddress(m[2])
		if err != nil {
			return Recipients{}, fmt.Errorf("%s: trailer %q: %w", filepath.Base(patch), l, err)
		}
		if stableAliases[strings.ToLower(a.Address)] {
			continue
		}
		if m[1] == "To" {
			r.To = append(r.To, m[2])
		} else {
			r.Cc = append(r.Cc, m[2])
		}
	}
	return r, nil
}

// Merge is r and o together, each address once (To wins over Cc),
// sorted; addresses compare by their e-mail part.
func (r Recipients) Merge(o Recipients) Recipients {
	seen := map[string]bool{}
	var out Recipients
	add := func(list *[]string, addrs []string) {
		for _, a := range addrs {
			k := strings.ToLower(a)
			if p, err := mail.ParseAddress(a); err == nil {
				k = strings.ToLower(p.Address)
			}
			if !seen[k] {
				seen[k] = true
				*list = append(*list, a)
			}
		}
	}
	add(&out.To, r.To)
	add(&out.To, o.To)
	add(&out.Cc, r.Cc)
	add(&out.Cc, o.Cc)
	sort.Strings(out.To)
	sort.Strings(out.Cc)
	return out
}

// ForTarget addresses a series to where its target takes it: a stable
// backport goes to the stable list, with everyone else on Cc.
func (r Recipients) ForTarget(target string) Recipients {
	if target != kbase.Stable {
		return r
	}
	return Recipients{To: []string{StableList}}.Merge(Recipients{Cc: append(append([]string{}, r.To...), r.Cc...)})
}

// SeriesRecipients is who a series' cover letter goes to: the
// get_maintainer.pl recipients of all its patches (maint), every
// address its patches' trailers name, and the stable list for a stable
// target.
func SeriesRecipients(maint Recipients, patches []string, target string) (Recipients, error) {
	r := maint
	for _, p := range patches {
		t, err := Trailers(p)
		if err != nil {
			return Recipients{}, err
		}
		r = r.Merge(t)
	}
	return r.ForTarget(target), nil
}

// SendOptions configures SendEmail.
type SendOptions struct {
	// SeriesDir holds the series: series file, cover letter, patches.
	SeriesDir string
	// BaseTree is the base the series applies to: get_maintainer.pl
	// runs there for each patch's own recipients.
	BaseTree string
	// Target is where the series goes (kbase.Mainline, kbase.Stable).
	Target string
	// Base is what the series is sent against; its base-commit: line
	// ends the cover letter (or the only patch).
	Base Base
	// Outgoing receives a copy of every mail, stamped and addressed.
	Outgoing string
	// Sender certifies the DCO: From: and Signed-off-by: of every patch.
	Sender Identity
	// Send really sends; otherwise --dry-run.
	Send bool
	Out  io.Writer
}

// SendEmail writes every mail of the series into o.Outgoing, stamped
// with the sender's identity, ended by the base-commit: line and
// addressed (the cover letter to the series' recipients, each patch to
// its own get_maintainer.pl recipients and the people its trailers
// name; a stable backport to the stable list), and runs git send-email
// on them, threaded under the cover letter, with its own Cc harvesting
// off so that the mails go exactly where they say. It refuses to send
// (but not to dry-run) without a real sender identity, and refuses
// mails that still carry the placeholder after stamping.
func SendEmail(ctx context.Context, cover Recipients, o SendOptions) error {
	idErr := o.Sender.Check()
	if idErr != nil && o.Send {
		return fmt.Errorf("refusing to send: %w", idErr)
	}
	if idErr != nil {
		fmt.Fprintf(o.Out, "send-email: %v; the dry run keeps the placeholder, SEND=1 would refuse\n", idErr)
	}
	if o.Base.Commit == "" {
		return fmt.Errorf("refusing to mail a series without a base-commit")
	}
	patches, err := kernel.ReadSeries(o.SeriesDir)
	if err != nil {
		return err
	}
	if len(patches) == 0 {
		return fmt.Errorf("%s lists no patch", o.SeriesDir)
	}
	if err := os.RemoveAll(o.Outgoing); err != nil {
		return err
	}
	if err := os.MkdirAll(o.Outgoing, 0o755); err != nil {
		return err
	}
	var mails []string
	var left []string
	coverFile := Cover(o.SeriesDir)
	add := func(f string, r Recipients, last bool) error {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		s := string(data)
		if idErr == nil {
			s = Stamp(s, o.Sender)
			for i, l := range strings.Split(s, "\n") {
				if strings.Contains(l, Placeholder.Name) || strings.Contains(l, Placeholder.Email) {
					left = append(left, fmt.Sprintf("%s:%d: %s", filepath.Base(f), i+1, strings.TrimSpace(l)))
				}
			}
		}
		if last {
			s = withBase(s, o.Base)
		}
		out := filepath.Join(o.Outgoing, strings.TrimSuffix(filepath.Base(f), ".patch")+".eml")
		if err := os.WriteFile(out, []byte(address(s, r)), 0o644); err != nil {
			return err
		}
		mails = append(mails, out)
		return nil
	}
	if coverFile != "" {
		r, err := SeriesRecipients(cover, patches, o.Target)
		if err != nil {
			return err
		}
		if err := add(coverFile, r, true); err != nil {
			return err
		}
	}
	for _, p := range patches {
		m, err := Maintainers(ctx, o.BaseTree, []string{p})
		if err != nil {
			return err
		}
		r, err := SeriesRecipients(m, []string{p}, o.Target)
		if err != nil {
			return err
		}
		if err := add(p, r, coverFile == "" && len(patches) == 1); err != nil {
			return err
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("refusing: the placeholder identity survives stamping:\n  %s", strings.Join(left, "\n  "))
	}
	args := []string{"send-email", "--confirm=never", "--thread", "--no-chain-reply-to", "--suppress-cc=all"}
	if !o.Send {
		args = append(args, "--dry-run")
	}
	if idErr == nil {
		args = append(args, "--from="+o.Sender.String())
	}
	args = append(args, mails...)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Stdout, cmd.Stderr = o.Out, o.Out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git send-email: %w (are Debian packages git-email and libmailtools-perl installed? make deps installs them)", err)
	}
	return nil
}

// address puts To/Cc headers after the "From <sha> <date>" mbox line;
// git send-email reads them.
func address(mail string, r Recipients) string {
	hdr := "To: " + strings.Join(r.To, ",\n    ") + "\n"
	if len(r.Cc) > 0 {
		hdr += "Cc: " + strings.Join(r.Cc, ",\n    ") + "\n"
	}
	if i := strings.Index(mail, "\n"); i >= 0 && strings.HasPrefix(mail, "From ") {
		return mail[:i+1] + hdr + mail[i+1:]
	}
	return hdr + mail
}
