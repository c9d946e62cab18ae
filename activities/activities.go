// Package activities holds every side effect the workflows ask for:
// Postgres writes and email sends. Each activity is idempotent, since
// Temporal may run it more than once.
package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/metrics"
	"github.com/portalaccess/portal/store"
)

// Activities holds the dependencies of the activities.
type Activities struct {
	Store   *store.Store
	Mail    mail.Sender
	Tokens  *credentials.Tokens
	BaseURL string
}

// Error types that workflows branch on.
const (
	// ErrTypeUndeliverable: the provider refused the recipient for good.
	ErrTypeUndeliverable = "Undeliverable"
	// ErrTypeNotPending: the invitation was closed by someone else.
	ErrTypeNotPending = "NotPending"
	// ErrTypeNotFound: the row to change no longer exists.
	ErrTypeNotFound = "NotFound"
)

// deliver sends msg at most once for key. An earlier attempt that was
// claimed but never confirmed (the worker died mid-send) may have reached
// the provider: a provider that can confirm (mail.Confirmer) is asked;
// otherwise the send is recorded as unconfirmed and not repeated, since a
// customer must never get the same email twice.
func (a *Activities) deliver(ctx context.Context, key string, invitationID string, msg mail.Message, countsAsInvite bool) error {
	logger := activity.GetLogger(ctx)
	msg.IdempotencyKey = key
	entry := &store.EmailLog{IdempotencyKey: key, Kind: msg.Kind, Recipient: msg.To, Subject: msg.Subject}
	if invitationID != "" {
		entry.InvitationID = &invitationID
	}
	claimed, existing, err := a.Store.ClaimEmail(ctx, entry)
	if err != nil {
		return err
	}
	if !claimed && existing.Status != store.EmailSending {
		logger.Info("email already handled", "key", key, "status", existing.Status)
		return nil
	}
	if !claimed {
		confirmer, ok := a.Mail.(mail.Confirmer)
		if !ok {
			logger.Warn("earlier send attempt ended without confirmation; not sending again", "key", key)
			metrics.Emails.WithLabelValues(string(msg.Kind), "unconfirmed").Inc()
			return a.Store.FinishEmail(ctx, key, store.EmailUnconfirmed, "", "attempt ended without confirmation", false)
		}
		providerID, accepted, err := confirmer.Accepted(ctx, key)
		if err != nil {
			return fmt.Errorf("confirm %s: %w", key, err)
		}
		if accepted {
			logger.Info("earlier send attempt confirmed", "key", key, "provider_id", providerID)
			return a.Store.FinishEmail(ctx, key, store.EmailSent, providerID, "", countsAsInvite)
		}
		// The provider never got it: send now.
	}
	providerID, err := a.Mail.Send(ctx, msg)
	if err != nil {
		if ferr := a.Store.FinishEmail(ctx, key, store.EmailFailed, "", err.Error(), false); ferr != nil {
			logger.Error("recording failed send", "key", key, "error", ferr)
		}
		if errors.Is(err, mail.ErrRejected) {
			metrics.Emails.WithLabelValues(string(msg.Kind), "rejected").Inc()
			return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeUndeliverable, nil)
		}
		metrics.Emails.WithLabelValues(string(msg.Kind), "failed").Inc()
		return fmt.Errorf("send %s: %w", key, err)
	}
	logger.Info("email sent", "key", key, "kind", msg.Kind, "provider_id", providerID)
	metrics.Emails.WithLabelValues(string(msg.Kind), "sent").Inc()
	return a.Store.FinishEmail(ctx, key, store.EmailSent, providerID, "", countsAsInvite)
}

// portalURL is the address of a page of a help center's portal.
func (a *Activities) portalURL(slug, page string) string {
	return a.BaseURL + "/portal/" + url.PathEscape(slug) + page
}

func itoa(n int) string { return strconv.Itoa(n) }
