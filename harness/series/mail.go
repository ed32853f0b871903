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

const (
	beginMark = "<!-- get_maintainer: begin (make maintainers regenerates this block) -->"
	endMark   = "<!-- get_maintainer: end -->"
)

// UpdateMaintainersFile rewrites the generated block of MAINTAINERS.md.
func UpdateMaintainersFile(path string, r Recipients) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(data)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i < 0 || j < i {
		return fmt.Errorf("%s: markers %q ... %q not found", path, beginMark, endMark)
	}
	var b strings.Builder
	b.WriteString(beginMark + "\n")
	for _, a := range r.To {
		fmt.Fprintf(&b, "To: %s\n", a)
	}
	for _, a := range r.Cc {
		fmt.Fprintf(&b, "Cc: %s\n", a)
	}
	return os.WriteFile(path, []byte(s[:i]+b.String()+s[j:]), 0o644)
}

// ReadRecipients reads the generated block back.
func ReadRecipients(path string) (Recipients, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Recipients{}, err
	}
	s := string(data)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i < 0 || j < i {
		return Recipients{}, fmt.Errorf("%s: no get_maintainer block: run make maintainers", path)
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
		return Recipients{}, fmt.Errorf("%s: the get_maintainer block has no To: run make maintainers", path)
	}
	return r, nil
}

// SendOptions configures SendEmail.
type SendOptions struct {
	PatchDir string
	// Outgoing receives a copy of every mail for review.
	Outgoing string
	// Send really sends; otherwise --dry-run.
	Send bool
	Out  io.Writer
}

// SendEmail runs git send-email on the cover letter and the series,
// threaded under the cover letter.
func SendEmail(ctx context.Context, r Recipients, o SendOptions) error {
	patches, err := kernel.ReadSeries(o.PatchDir)
	if err != nil {
		return err
	}
	cover, _ := filepath.Glob(filepath.Join(o.PatchDir, "*0000-cover-letter.patch"))
	files := append(cover, patches...)
	if err := writeOutgoing(files, r, o.Outgoing); err != nil {
		return err
	}
	args := []string{"send-email", "--confirm=never", "--thread", "--no-chain-reply-to", "--suppress-cc=self"}
	if !o.Send {
		args = append(args, "--dry-run")
	}
	for _, a := range r.To {
		args = append(args, "--to="+a)
	}
	for _, a := range r.Cc {
		args = append(args, "--cc="+a)
	}
	args = append(args, files...)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Stdout, cmd.Stderr = o.Out, o.Out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git send-email: %w (is Debian package git-email installed?)", err)
	}
	return nil
}

// writeOutgoing copies each mail with its To/Cc headers into dir, so a
// reviewer can read exactly what would be sent.
func writeOutgoing(files []string, r Recipients, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	hdr := "To: " + strings.Join(r.To, ",\n    ") + "\n"
	if len(r.Cc) > 0 {
		hdr += "Cc: " + strings.Join(r.Cc, ",\n    ") + "\n"
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		s := string(data)
		// Insert after the "From <sha> <date>" mbox line.
		if i := strings.Index(s, "\n"); i >= 0 && strings.HasPrefix(s, "From ") {
			s = s[:i+1] + hdr + s[i+1:]
		}
		if err := os.WriteFile(filepath.Join(dir, strings.TrimSuffix(filepath.Base(f), ".patch")+".eml"), []byte(s), 0o644); err != nil {
			return err
		}
	}
	return nil
}
