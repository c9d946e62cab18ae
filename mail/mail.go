// Package mail renders the portal's emails and hands them to a provider:
// Mailgun in production, a database outbox in development.
package mail

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portalaccess/portal"
)

// Message is one rendered email to one recipient.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	Kind    portal.EmailKind
	// IdempotencyKey names this send; a Confirmer can look it up, and the
	// message's Message-Id is derived from it.
	IdempotencyKey string
	// EmailID is the send's row in the email log; the provider keeps it
	// as a user variable (VarEmailID), so its later events find the row.
	EmailID int64
	// Sender is the help center's identity; its zero value sends as the
	// installation's MAIL_FROM.
	Sender portal.Sender
	// Headers are extra MIME headers by name (List-Unsubscribe and
	// List-Unsubscribe-Post on invitations).
	Headers map[string]string
	// Untracked asks the provider not to track clicks or opens of this
	// message: its links carry tokens, which tracking would rewrite
	// through the provider's redirect and log there.
	Untracked bool
}

// VarEmailID is the Mailgun user variable (v:portal-email-id) that ties a
// message and every event about it to its email log row.
const VarEmailID = "portal-email-id"

// Sender delivers messages. It returns the provider's message ID.
type Sender interface {
	Send(ctx context.Context, m Message) (providerID string, err error)
}

// Confirmer is a Sender that can tell whether it already accepted a
// message. When a send was interrupted (the worker died mid-call, the call
// timed out), asking it turns "maybe sent" into a definite answer. since
// is when the interrupted attempt began; a provider that indexes its
// records late answers a RetryLaterError while an answer could still be
// wrong.
type Confirmer interface {
	Accepted(ctx context.Context, m Message, since time.Time) (providerID string, ok bool, err error)
}

// ErrRejected marks a message the provider refused for its recipient (a
// malformed or refused address): retrying cannot help, and the address is
// undeliverable.
var ErrRejected = errors.New("message rejected by provider")

// ErrConfiguration marks a refusal caused by our side: the key, the domain
// or the sender address. It is retried (a fix cures it) and shown to
// operators, and it never makes a recipient undeliverable.
var ErrConfiguration = errors.New("mail provider configuration error")

// ErrUnknownOutcome marks a send that may or may not have reached the
// provider (the call timed out or the connection broke after the request
// went out): it must be confirmed before it is tried again.
var ErrUnknownOutcome = errors.New("outcome of the send is unknown")

// RetryLaterError asks for the next attempt no sooner than After: the
// provider throttles us (429 with Retry-After), or it has not yet indexed
// what a confirmation looks for.
type RetryLaterError struct {
	After time.Duration
	Err   error
}

func (e *RetryLaterError) Error() string {
	return fmt.Sprintf("%v (retry in %s)", e.Err, e.After.Round(time.Second))
}

func (e *RetryLaterError) Unwrap() error { return e.Err }
