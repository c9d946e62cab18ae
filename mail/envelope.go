package mail

import (
	"fmt"
	"net/mail"
)

// DefaultFrom is MAIL_FROM's default.
const DefaultFrom = "Help Center <no-reply@localhost>"

// From composes the From header of m: the help center's sender name on
// its address, with the installation's address (from MAIL_FROM) where the
// help center names none.
func From(m Message, installation string) (string, error) {
	if installation == "" {
		installation = DefaultFrom
	}
	def, err := mail.ParseAddress(installation)
	if err != nil {
		return "", fmt.Errorf("MAIL_FROM %q: %w", installation, err)
	}
	a := mail.Address{Name: def.Name, Address: def.Address}
	if m.Sender.Name != "" {
		a.Name = m.Sender.Name
	}
	if m.Sender.Address != "" {
		a.Address = m.Sender.Address
	}
	// Address.String encodes a non-ASCII name (RFC 2047) and quotes the
	// rest, so a name can never add a header.
	return a.String(), nil
}

// Tracking is what a message asks of the provider's tracking, as the
// outbox shows it: nil where the sending domain's own setting applies.
type Tracking struct {
	Clicks bool `json:"clicks"`
	Opens  bool `json:"opens"`
}

// TrackingOf answers the tracking m asks for.
func TrackingOf(m Message) *Tracking {
	if m.Untracked {
		return &Tracking{}
	}
	return nil
}
