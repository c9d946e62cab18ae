package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/portalaccess/portal"
)

// EmailEvent is one thing the mail provider reported about an email.
type EmailEvent struct {
	// EmailID is the email log row named by the message's user variable;
	// MessageID the message's ID, used when the variable is missing.
	EmailID   int64
	MessageID string
	Delivery  portal.EmailDelivery
	At        time.Time
	Reason    string
}

// EmailEventResult is what recording an event changed.
type EmailEventResult struct {
	// Email is the row the event was about; nil when no email of ours
	// matches.
	Email *EmailLog
	// Changed: the event was news (a repeat changes nothing).
	Changed bool
}

// RecordEmailEvent writes a provider's event into its email's log row,
// idempotently and in any order: each kind of event has a column of its
// own that only its first arrival (the earliest time) sets, and the
// delivery state is read from all of them (EmailLog.Delivery).
func (s *Store) RecordEmailEvent(ctx context.Context, ev EmailEvent) (EmailEventResult, error) {
	e := new(EmailLog)
	q := s.DB.NewSelect().Model(e)
	switch {
	case ev.EmailID != 0:
		q = q.Where("id = ?", ev.EmailID)
	case ev.MessageID != "":
		id := strings.Trim(ev.MessageID, "<>")
		q = q.Where("provider_id = ? OR message_id = ?", id, id).Order("id").Limit(1)
	default:
		return EmailEventResult{}, nil
	}
	if err := q.Scan(ctx); errors.Is(err, sql.ErrNoRows) {
		return EmailEventResult{}, nil
	} else if err != nil {
		return EmailEventResult{}, translate(err, "email of event")
	}
	var set string
	var args []any
	switch ev.Delivery {
	case portal.DeliveryDelivered:
		set, args = "delivered_at = ?", []any{ev.At}
	case portal.DeliveryDeferred:
		set, args = "deferred_at = ?, failure_reason = COALESCE(failure_reason, NULLIF(?, ''))", []any{ev.At, ev.Reason}
	case portal.DeliveryBounced:
		set, args = "failed_at = ?, failure_reason = NULLIF(?, '')", []any{ev.At, ev.Reason}
	case portal.DeliveryComplained:
		set, args = "complained_at = ?", []any{ev.At}
	default:
		return EmailEventResult{Email: e}, nil
	}
	column := strings.SplitN(set, " ", 2)[0]
	// A permanent failure's reason outranks a temporary one's.
	args = append(args, e.ID, ev.At)
	res, err := s.DB.NewRaw(`UPDATE email_log SET `+set+`
		WHERE id = ? AND (`+column+` IS NULL OR `+column+` > ?)`, args...).Exec(ctx)
	if err != nil {
		return EmailEventResult{}, translate(err, "record email event")
	}
	n, _ := res.RowsAffected()
	if err := s.DB.NewSelect().Model(e).WherePK().Scan(ctx); err != nil {
		return EmailEventResult{}, translate(err, "read email")
	}
	return EmailEventResult{Email: e, Changed: n == 1}, nil
}

// UseWebhookToken records a webhook's token (hashed) until it expires;
// false means it was seen before: a replay.
func (s *Store) UseWebhookToken(ctx context.Context, token string, expires time.Time) (bool, error) {
	sum := sha256.Sum256([]byte(token))
	res, err := s.DB.NewRaw(`INSERT INTO webhook_tokens (token_hash, expires_at) VALUES (?, ?) ON CONFLICT (token_hash) DO NOTHING`,
		sum[:], expires).Exec(ctx)
	if err != nil {
		return false, translate(err, "use webhook token")
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// WebhookTokenSeen reports whether a webhook with this token was already
// handled.
func (s *Store) WebhookTokenSeen(ctx context.Context, token string) (bool, error) {
	sum := sha256.Sum256([]byte(token))
	n, err := s.DB.NewSelect().Table("webhook_tokens").Where("token_hash = ?", sum[:]).Count(ctx)
	return n > 0, translate(err, "webhook token")
}

// PurgeWebhookTokens deletes tokens past their expiry: by then a replay
// is refused for its timestamp.
func (s *Store) PurgeWebhookTokens(ctx context.Context) (int64, error) {
	res, err := s.DB.NewRaw(`DELETE FROM webhook_tokens WHERE expires_at < now()`).Exec(ctx)
	if err != nil {
		return 0, translate(err, "purge webhook tokens")
	}
	return res.RowsAffected()
}

// EmailByID reads one email log row.
func (s *Store) EmailByID(ctx context.Context, id int64) (*EmailLog, error) {
	e := new(EmailLog)
	err := s.DB.NewSelect().Model(e).Where("id = ?", id).Scan(ctx)
	return e, translate(err, "email "+strconv.FormatInt(id, 10))
}
