// Package activities holds every side effect the workflows ask for:
// Postgres writes and email sends. Each activity is idempotent, since
// Temporal may run it more than once.
package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
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
	// MailFrom is the installation's MAIL_FROM, whose address receives
	// the mailto form of an invitation's List-Unsubscribe.
	MailFrom string
	// MailRate is MAIL_RATE_PER_SECOND as a bucket shared through
	// Postgres (zero Count: no limit). An email sent from the mail task
	// queue, which that queue's own limit paces, spends from it; one
	// sent in a workflow task (a local activity) takes from it only a
	// turn already earned back, and otherwise leaves the email to the
	// queue.
	MailRate portal.Rate
	// AfterCommit, when set, is called after the changes named in
	// crash.go commit, before the activity answers: the fault tests make
	// it end the process there.
	AfterCommit func(point string)
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

// ErrTypeMailQueued: an email asked for in a workflow task found no room
// in the mail rate; the workflow sends it from the mail task queue, which
// waits its turn.
const ErrTypeMailQueued = "MailQueued"

// mailRateScope is the bucket of the mail rate in rate_limits.
const mailRateScope = "mail"

// ErrTypeRetryLater: the provider asked us to wait (a 429), or a
// confirmation must wait for the provider's records; the error carries
// the delay as its next retry delay.
const ErrTypeRetryLater = "RetryLater"

// deliver sends msg for key under the rule of its kind (portal.Guarantee):
//
//   - a key already sent, or already given up on, sends nothing;
//   - an earlier attempt whose outcome is unknown (the worker died or the
//     call timed out mid-send) is first confirmed with the provider
//     (mail.Confirmer). A link (at least once) is sent again only once the
//     provider says it never got it; a notice (at most once) never is;
//   - the provider's answer is recorded even when the activity's context
//     was cancelled (a stopping worker), and the send itself is not cut
//     short by that cancellation: it has its own timeout, shorter than the
//     worker's stop timeout.
//
// A refused recipient is a non-retryable Undeliverable error; a throttle
// or an early confirmation a retryable one with its next retry delay; a
// configuration error a retryable one logged as an error.
func (a *Activities) deliver(ctx context.Context, key string, invitationID string, msg mail.Message, countsAsInvite bool) error {
	sup, err := a.Store.SuppressionFor(ctx, msg.To)
	if err != nil {
		return err
	}
	var suppressed portal.UndeliverableReason
	if sup != nil {
		suppressed = sup.Reason
	}
	return a.deliverChecked(ctx, key, invitationID, msg, countsAsInvite, suppressed)
}

// deliverChecked is deliver for a caller that read the recipient's
// suppression with its own data (empty: none in force), so that reading
// it again costs nothing.
func (a *Activities) deliverChecked(ctx context.Context, key string, invitationID string, msg mail.Message, countsAsInvite bool, suppressed portal.UndeliverableReason) error {
	logger := activity.GetLogger(ctx)
	record := context.WithoutCancel(ctx)
	guarantee := msg.Kind.Guarantee()
	if suppressed != "" {
		// The provider would drop it anyway, and each attempt costs the
		// sending domain's reputation. A notice is simply not sent; a
		// link's process learns its address is undeliverable.
		logger.Info("address suppressed; email not sent", "key", key, "reason", suppressed)
		metrics.Emails.WithLabelValues(string(msg.Kind), "suppressed").Inc()
		if guarantee == portal.AtMostOnce {
			return nil
		}
		return undeliverable("the address is suppressed ("+string(suppressed)+")", suppressed)
	}
	if err := a.takeMailTurn(ctx, msg.Kind); err != nil {
		return err
	}
	msg.IdempotencyKey = key
	entry := &store.EmailLog{IdempotencyKey: key, Kind: msg.Kind, Recipient: msg.To, Subject: msg.Subject}
	if invitationID != "" {
		entry.InvitationID = &invitationID
	}
	if info := activity.GetInfo(ctx); info.WorkflowExecution.ID != "" {
		entry.WorkflowID = &info.WorkflowExecution.ID
	}
	claimed, existing, err := a.Store.ClaimEmail(ctx, entry)
	if err != nil {
		return err
	}
	msg.EmailID = existing.ID
	if !claimed && existing.Status != store.EmailSending {
		logger.Info("email already handled", "key", key, "status", existing.Status)
		return nil
	}
	if !claimed {
		sent, err := a.confirm(ctx, msg, existing, guarantee, countsAsInvite)
		if err != nil || sent {
			return err
		}
		// The provider never got it: send now.
	}
	providerID, err := a.Mail.Send(record, msg)
	if err == nil {
		logger.Info("email sent", "key", key, "kind", msg.Kind, "provider_id", providerID)
		metrics.Emails.WithLabelValues(string(msg.Kind), "sent").Inc()
		return a.Store.FinishEmail(record, key, store.EmailSent, providerID, "", countsAsInvite)
	}
	return a.failed(record, msg, guarantee, err)
}

// takeMailTurn counts this send against the mail rate. A send from the
// mail task queue was paced by the queue and always counts; a send in a
// workflow task goes ahead only when the rate has room, and otherwise
// fails with ErrTypeMailQueued before anything is claimed, so the queue
// sends it as if it had gone there first.
func (a *Activities) takeMailTurn(ctx context.Context, kind portal.EmailKind) error {
	if a.MailRate.Count == 0 {
		return nil
	}
	if !activity.GetInfo(ctx).IsLocalActivity {
		return a.Store.SpendRate(ctx, mailRateScope, []byte(mailRateScope), a.MailRate)
	}
	// No burst: only a turn the rate has already earned back, so a send
	// in a workflow task fills a gap the queue left and never adds to a
	// second the queue's own burst already filled.
	ok, _, err := a.Store.TakeRate(ctx, mailRateScope, []byte(mailRateScope), portal.Rate{Count: 1, Per: a.MailRate.Interval()})
	if err != nil || ok {
		return err
	}
	metrics.Emails.WithLabelValues(string(kind), "queued").Inc()
	return temporal.NewNonRetryableApplicationError("the mail rate has no room now; the email waits its turn on the mail task queue", ErrTypeMailQueued, nil)
}

// confirm settles an earlier attempt of msg whose outcome is unknown. It
// answers sent=true when nothing more is to be done (the provider had
// it, or a notice is given up on), false when the message must be sent.
func (a *Activities) confirm(ctx context.Context, msg mail.Message, existing *store.EmailLog, guarantee portal.Guarantee, countsAsInvite bool) (bool, error) {
	logger := activity.GetLogger(ctx)
	record := context.WithoutCancel(ctx)
	key := msg.IdempotencyKey
	confirmer, ok := a.Mail.(mail.Confirmer)
	if !ok {
		if guarantee == portal.AtLeastOnce {
			logger.Warn("earlier send attempt ended without confirmation and the provider can't tell; sending again", "key", key)
			return false, nil
		}
		logger.Warn("earlier send attempt ended without confirmation; a notice is not sent again", "key", key)
		metrics.Emails.WithLabelValues(string(msg.Kind), "unconfirmed").Inc()
		return true, a.Store.FinishEmail(record, key, store.EmailUnconfirmed, "", "attempt ended without confirmation", false)
	}
	providerID, accepted, err := confirmer.Accepted(ctx, msg, existing.UpdatedAt)
	var later *mail.RetryLaterError
	switch {
	case errors.As(err, &later):
		logger.Info("waiting for the provider's records before confirming", "key", key, "retry_in", later.After)
		return true, retryLater(later)
	case err != nil:
		return true, fmt.Errorf("confirm %s: %w", key, withoutAddress(err, msg.To))
	case accepted:
		logger.Info("earlier send attempt confirmed", "key", key, "provider_id", providerID)
		metrics.Emails.WithLabelValues(string(msg.Kind), "confirmed").Inc()
		return true, a.Store.FinishEmail(record, key, store.EmailSent, providerID, "", countsAsInvite)
	case guarantee == portal.AtMostOnce:
		logger.Warn("the provider has no record of an interrupted notice; not sent again", "key", key)
		metrics.Emails.WithLabelValues(string(msg.Kind), "unconfirmed").Inc()
		return true, a.Store.FinishEmail(record, key, store.EmailUnconfirmed, "", "interrupted; the provider has no record of it", false)
	}
	logger.Info("the provider never got the interrupted send; sending again", "key", key)
	return false, nil
}

// failed records a send the provider did not take (or may have taken) and
// says what the workflow must do about it.
func (a *Activities) failed(ctx context.Context, msg mail.Message, guarantee portal.Guarantee, err error) error {
	logger := activity.GetLogger(ctx)
	key := msg.IdempotencyKey
	err = withoutAddress(err, msg.To)
	var later *mail.RetryLaterError
	switch {
	case errors.Is(err, mail.ErrUnknownOutcome):
		if guarantee == portal.AtMostOnce {
			logger.Warn("notice's send ended without knowing whether the provider got it; not sent again", "key", key, "error", err)
			metrics.Emails.WithLabelValues(string(msg.Kind), "unconfirmed").Inc()
			return a.Store.FinishEmail(ctx, key, store.EmailUnconfirmed, "", err.Error(), false)
		}
		// Left claimed: the retry confirms before it sends.
		metrics.Emails.WithLabelValues(string(msg.Kind), "unknown").Inc()
		if nerr := a.Store.NoteUnknownOutcome(ctx, key, err.Error()); nerr != nil {
			logger.Error("recording unknown outcome", "key", key, "error", nerr)
		}
		return fmt.Errorf("send %s: %w", key, err)
	case errors.As(err, &later):
		metrics.Emails.WithLabelValues(string(msg.Kind), "throttled").Inc()
		a.finishFailed(ctx, key, err)
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeRetryLater, temporal.ApplicationErrorOptions{NextRetryDelay: later.After})
	case errors.Is(err, mail.ErrRejected):
		metrics.Emails.WithLabelValues(string(msg.Kind), "rejected").Inc()
		a.finishFailed(ctx, key, err)
		return undeliverable(err.Error(), portal.UndeliverableRejected)
	case errors.Is(err, mail.ErrConfiguration):
		// Ours to fix; the recipient is not to blame. Loud, and retried.
		logger.Error("mail provider refused the send for our configuration", "key", key, "error", err)
		metrics.Emails.WithLabelValues(string(msg.Kind), "misconfigured").Inc()
		a.finishFailed(ctx, key, err)
		return fmt.Errorf("send %s: %w", key, err)
	}
	metrics.Emails.WithLabelValues(string(msg.Kind), "failed").Inc()
	a.finishFailed(ctx, key, err)
	return fmt.Errorf("send %s: %w", key, err)
}

func (a *Activities) finishFailed(ctx context.Context, key string, cause error) {
	if err := a.Store.FinishEmail(ctx, key, store.EmailFailed, "", cause.Error(), false); err != nil {
		activity.GetLogger(ctx).Error("recording failed send", "key", key, "error", err)
	}
}

// withoutAddress hides the recipient's address in an error that goes into
// workflow history, where a provider's answer may quote it: histories hold
// IDs, never an address, so erasing a person in Postgres leaves nothing
// of them in Temporal. errors.Is and errors.As still see the cause.
func withoutAddress(err error, addr string) error {
	if err == nil || addr == "" {
		return err
	}
	msg := err.Error()
	hidden := regexp.MustCompile(`(?i)`+regexp.QuoteMeta(addr)).ReplaceAllLiteralString(msg, "<recipient>")
	if hidden == msg {
		return err
	}
	return &addressHidden{err: err, msg: hidden}
}

type addressHidden struct {
	err error
	msg string
}

func (e *addressHidden) Error() string { return e.msg }
func (e *addressHidden) Unwrap() error { return e.err }

// retryLater asks Temporal for the next attempt after the delay the
// provider (or its indexing) needs.
func retryLater(e *mail.RetryLaterError) error {
	return temporal.NewApplicationErrorWithOptions(e.Error(), ErrTypeRetryLater, temporal.ApplicationErrorOptions{NextRetryDelay: e.After})
}

// undeliverable is the business error that closes an invitation, a
// sign-up or a reset: its details carry the reason.
func undeliverable(msg string, reason portal.UndeliverableReason) error {
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeUndeliverable, nil, reason)
}

// portalURL is the address of a page of a help center's portal.
func (a *Activities) portalURL(slug, page string) string {
	return a.BaseURL + "/portal/" + url.PathEscape(slug) + page
}

func itoa(n int) string { return strconv.Itoa(n) }
