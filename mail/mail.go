// Package mail renders the portal's emails and hands them to a provider:
// Mailgun in production, a database outbox in development.
package mail

import (
	"context"
	"errors"

	"github.com/portalaccess/portal"
)

// Message is one rendered email to one recipient.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	Kind    portal.EmailKind
	// IdempotencyKey names this send; a Confirmer can look it up.
	IdempotencyKey string
}

// Sender delivers messages. It returns the provider's message ID.
type Sender interface {
	Send(ctx context.Context, m Message) (providerID string, err error)
}

// Confirmer is a Sender that can tell whether it already accepted the
// message sent with an idempotency key. When a send was interrupted (the
// worker died mid-call), asking it turns "maybe sent" into a definite
// answer; without it the send is left unconfirmed rather than repeated.
type Confirmer interface {
	Accepted(ctx context.Context, idempotencyKey string) (providerID string, ok bool, err error)
}

// ErrRejected marks a message the provider refused for good (a bad
// address, a suspended domain): retrying cannot help.
var ErrRejected = errors.New("message rejected by provider")
