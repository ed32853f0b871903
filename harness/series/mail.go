package series

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

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

// SendOptions configures SendEmail.
type SendOptions struct {
	// SeriesDir holds the series: series file, cover letter, patches.
	SeriesDir string
	// BaseTree is the base the series applies to: get_maintainer.pl
	// runs there for each patch's own recipients.
	BaseTree string
	// Outgoing receives a copy of every mail, stamped and addressed.
	Outgoing string
	// Sender certifies the DCO: From: and Signed-off-by: of every patch.
	Sender Identity
	// Send really sends; otherwise --dry-run.
	Send bool
	Out  io.Writer
}

// SendEmail writes every mail of the series into o.Outgoing, stamped
// with the sender's identity and addressed (the cover letter to the
// series' recipients, each patch to its own from get_maintainer.pl), and
// runs git send-email on them, threaded under the cover letter. It
// refuses to send (but not to dry-run) without a real sender identity.
func SendEmail(ctx context.Context, cover Recipients, o SendOptions) error {
	idErr := o.Sender.Check()
	if idErr != nil && o.Send {
		return fmt.Errorf("refusing to send: %w", idErr)
	}
	if idErr != nil {
		fmt.Fprintf(o.Out, "send-email: %v; the dry run keeps the placeholder, SEND=1 would refuse\n", idErr)
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
	add := func(f string, r Recipients) error {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		s := string(data)
		if idErr == nil {
			s = Stamp(s, o.Sender)
		}
		out := filepath.Join(o.Outgoing, strings.TrimSuffix(filepath.Base(f), ".patch")+".eml")
		if err := os.WriteFile(out, []byte(address(s, r)), 0o644); err != nil {
			return err
		}
		mails = append(mails, out)
		return nil
	}
	if c := Cover(o.SeriesDir); c != "" {
		if err := add(c, cover); err != nil {
			return err
		}
	}
	for _, p := range patches {
		r, err := Maintainers(ctx, o.BaseTree, []string{p})
		if err != nil {
			return err
		}
		if err := add(p, r); err != nil {
			return err
		}
	}
	args := []string{"send-email", "--confirm=never", "--thread", "--no-chain-reply-to", "--suppress-cc=self"}
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
