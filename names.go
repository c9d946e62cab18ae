package portal

import (
	"net/mail"
	"regexp"
	"strings"
)

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// ValidSlug reports whether s can name a help center in a portal address:
// 2-63 lowercase letters, digits or hyphens, starting with a letter or
// digit.
func ValidSlug(s string) bool { return slugPattern.MatchString(s) }

// NormalizeEmail accepts a bare address (no display name) that net/mail
// can parse, trimmed of surrounding space.
func NormalizeEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", false
	}
	return s, true
}
