package portal

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sender is a help center's identity on its emails: the name they come
// from and where replies go. Empty fields fall back to the help center's
// name and the installation's MAIL_FROM address.
type Sender struct {
	Name    string `json:"name,omitempty"`
	ReplyTo string `json:"reply_to,omitempty"`
	// Address is a from address other than the installation's default;
	// it must be on the installation's allow-list.
	Address string `json:"address,omitempty"`
}

// SenderAllowList is the set of from addresses the installation's
// sending domains cover (SPF and DMARC pass for them): exact addresses,
// or "@domain" for any address on a domain.
type SenderAllowList []string

// Allows reports whether addr may be a help center's from address.
func (l SenderAllowList) Allows(addr string) bool {
	addr = strings.ToLower(strings.TrimSpace(addr))
	at := strings.LastIndexByte(addr, '@')
	if at < 1 {
		return false
	}
	for _, e := range l {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == addr || (strings.HasPrefix(e, "@") && e == addr[at:]) {
			return true
		}
	}
	return false
}

// ValidSenderAllowEntry checks one entry of the allow-list.
func ValidSenderAllowEntry(e string) error {
	if d, ok := strings.CutPrefix(e, "@"); ok {
		if d == "" || strings.ContainsAny(d, "@ ") || !strings.Contains(d, ".") && d != "localhost" {
			return fmt.Errorf("%q is not a domain", e)
		}
		return nil
	}
	if _, err := ParseBareAddress(e); err != nil {
		return err
	}
	return nil
}

// ParseBareAddress accepts an address with no display name ("a@b.example")
// and answers it as written.
func ParseBareAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("%q is not an email address (write it as name@domain, without a display name)", s)
	}
	return a.Address, nil
}

// ValidSenderName checks a sender name: 1 to 100 characters, no line
// breaks or other control characters (which would let a name inject
// headers) and no characters that make an address of it.
func ValidSenderName(s string) error {
	if strings.TrimSpace(s) != s || s == "" || utf8.RuneCountInString(s) > 100 {
		return fmt.Errorf("the sender name must be 1 to 100 characters, without leading or trailing spaces")
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '<' || r == '>' || r == '@' {
			return fmt.Errorf("the sender name must not contain control characters, <, > or @")
		}
	}
	return nil
}
