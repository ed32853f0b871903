package series

import (
	"context"
	"fmt"
	"net/mail"
	"os/exec"
	"regexp"
	"strings"
)

// Placeholder is the identity the stored series carries in From: and
// Signed-off-by:. A Signed-off-by certifies the Developer's Certificate
// of Origin, which only a real person can give: send-email stamps the
// sender's own identity over it and refuses to send the placeholder.
var Placeholder = Identity{Name: "Your Name", Email: "your.name@placeholder.invalid"}

// Identity is a person as mail headers name them.
type Identity struct {
	Name, Email string
}

func (id Identity) String() string { return id.Name + " <" + id.Email + ">" }

// reservedDomains cannot receive mail (RFC 2606, RFC 6761).
var reservedDomains = []string{".example", ".invalid", ".test", ".localhost", ".local"}

// Check refuses identities that cannot certify anything: empty, the
// placeholder, or an address in a reserved domain.
func (id Identity) Check() error {
	if strings.TrimSpace(id.Name) == "" || strings.TrimSpace(id.Email) == "" {
		return fmt.Errorf("no sender identity: set git config user.name and user.email to your own")
	}
	if id == Placeholder || strings.EqualFold(id.Name, Placeholder.Name) {
		return fmt.Errorf("sender %s is the placeholder: set git config user.name and user.email to your own", id)
	}
	addr, err := mail.ParseAddress(id.String())
	if err != nil {
		return fmt.Errorf("sender %s: %v", id, err)
	}
	_, domain, _ := strings.Cut(addr.Address, "@")
	domain = "." + strings.ToLower(domain)
	for _, r := range reservedDomains {
		if strings.HasSuffix(domain, r) || domain == r {
			return fmt.Errorf("sender address %s is in the reserved domain %s: it cannot receive replies", addr.Address, strings.TrimPrefix(r, "."))
		}
	}
	return nil
}

// GitIdentity reads user.name and user.email as git resolves them in dir.
func GitIdentity(ctx context.Context, dir string) Identity {
	get := func(key string) string {
		cmd := exec.CommandContext(ctx, "git", "config", "--get", key)
		cmd.Dir = dir
		out, _ := cmd.Output()
		return strings.TrimSpace(string(out))
	}
	return Identity{Name: get("user.name"), Email: get("user.email")}
}

var (
	fromPlaceholder = regexp.MustCompile(`(?m)^From: ` + regexp.QuoteMeta(Placeholder.Name) + `\s*\n?\s*<` + regexp.QuoteMeta(Placeholder.Email) + `>$`)
	sobPlaceholder  = regexp.MustCompile(`(?m)^Signed-off-by: ` + regexp.QuoteMeta(Placeholder.String()) + `$`)
	// The cover letter's shortlog: "Your Name (5):".
	shortlogPlaceholder = regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(Placeholder.Name) + ` (\(\d+\):)$`)
)

// Stamp replaces the placeholder with id where format-patch wrote it:
// the From: header (which it may fold), Signed-off-by: trailers and the
// cover letter's shortlog.
func Stamp(mail string, id Identity) string {
	mail = fromPlaceholder.ReplaceAllLiteralString(mail, "From: "+id.String())
	mail = shortlogPlaceholder.ReplaceAllString(mail, strings.ReplaceAll(id.Name, "$", "$$")+" ${1}")
	return sobPlaceholder.ReplaceAllLiteralString(mail, "Signed-off-by: "+id.String())
}
