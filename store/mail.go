package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
)

// Email log states. "sending" is claimed but not confirmed; a send that
// died in that state is "unconfirmed": it may have gone out, so it is not
// sent again.
const (
	EmailSending     = "sending"
	EmailSent        = "sent"
	EmailFailed      = "failed"
	EmailUnconfirmed = "unconfirmed"
)

// EmailLog records every message the service sends, keyed for idempotency.
type EmailLog struct {
	bun.BaseModel `bun:"table:email_log"`

	ID             int64            `bun:"id,pk,autoincrement"`
	IdempotencyKey string           `bun:"idempotency_key"`
	Kind           portal.EmailKind `bun:"kind"`
	Recipient      string           `bun:"recipient"`
	Subject        string           `bun:"subject"`
	Status         string           `bun:"status"`
	ProviderID     *string          `bun:"provider_id"`
	Error          *string          `bun:"error"`
	InvitationID   *string          `bun:"invitation_id,type:uuid"`
	// WorkflowID is the workflow that sent it, which the provider's
	// later events about it (a bounce, a complaint) are signalled to.
	WorkflowID    *string    `bun:"workflow_id"`
	MessageID     *string    `bun:"message_id"`
	DeliveredAt   *time.Time `bun:"delivered_at"`
	DeferredAt    *time.Time `bun:"deferred_at"`
	FailedAt      *time.Time `bun:"failed_at"`
	FailureReason *string    `bun:"failure_reason"`
	ComplainedAt  *time.Time `bun:"complained_at"`
	CreatedAt     time.Time  `bun:"created_at,nullzero,default:now()"`
	UpdatedAt     time.Time  `bun:"updated_at,nullzero,default:now()"`
}

// Delivery is what the provider's events say of the email so far: a
// complaint outranks a bounce, which outranks a delivery, which outranks
// a deferral.
func (e *EmailLog) Delivery() portal.EmailDelivery {
	switch {
	case e.ComplainedAt != nil:
		return portal.DeliveryComplained
	case e.FailedAt != nil:
		return portal.DeliveryBounced
	case e.DeliveredAt != nil:
		return portal.DeliveryDelivered
	case e.DeferredAt != nil:
		return portal.DeliveryDeferred
	}
	return portal.DeliveryUnknown
}

// State is what an admin reads of the email in one word: the
// provider's latest news of it (complained, bounced, delivered,
// deferred), or else how its send ended (sent, failed: the provider
// refused it, unconfirmed, or sending while it is under way).
func (e *EmailLog) State() string {
	if d := e.Delivery(); d != portal.DeliveryUnknown {
		return string(d)
	}
	return e.Status
}

// ClaimEmail reserves e.IdempotencyKey for one send. It returns true when
// the caller should send now: the key is new, or an earlier attempt failed
// with the provider refusing it. Otherwise it returns the existing entry.
func (s *Store) ClaimEmail(ctx context.Context, e *EmailLog) (bool, *EmailLog, error) {
	e.Status = EmailSending
	res, err := s.DB.NewInsert().Model(e).On("CONFLICT (idempotency_key) DO NOTHING").Returning("*").Exec(ctx)
	if err != nil {
		return false, nil, translate(err, "claim email")
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, e, nil
	}
	existing := new(EmailLog)
	err = s.DB.NewUpdate().Model(existing).Set("status = ?", EmailSending).Set("updated_at = now()").
		Where("idempotency_key = ? AND status = ?", e.IdempotencyKey, EmailFailed).Returning("*").Scan(ctx)
	if err == nil {
		return true, existing, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, nil, translate(err, "reclaim email")
	}
	err = s.DB.NewSelect().Model(existing).Where("idempotency_key = ?", e.IdempotencyKey).Scan(ctx)
	return false, existing, translate(err, "read email")
}

// FinishEmail records how a claimed send ended. When the send succeeded and
// countsAsInvite is set, the invitation's send count and last-sent time
// move in the same statement (one round trip, atomic without a
// transaction around it: every email of a bulk job ends here).
func (s *Store) FinishEmail(ctx context.Context, key, status, providerID, errText string, countsAsInvite bool) error {
	var finished int
	err := s.DB.NewRaw(`WITH e AS (
			UPDATE email_log SET status = ?, provider_id = NULLIF(?, ''), error = NULLIF(?, ''), updated_at = now()
			WHERE idempotency_key = ? RETURNING invitation_id
		), counted AS (
			UPDATE invitations SET send_count = send_count + 1, last_sent_at = now(), updated_at = now()
			WHERE ? AND id IN (SELECT invitation_id FROM e) RETURNING 1
		)
		SELECT count(*) FROM e`,
		status, providerID, errText, key, status == EmailSent && countsAsInvite).Scan(ctx, &finished)
	if err == nil && finished == 0 {
		err = sql.ErrNoRows
	}
	return translate(err, "finish email")
}

// NoteUnknownOutcome keeps a claimed send open ("sending") after an
// attempt whose outcome is unknown, with the error that left it so: the
// next attempt confirms it with the provider before sending again.
func (s *Store) NoteUnknownOutcome(ctx context.Context, key, errText string) error {
	_, err := s.DB.NewRaw(`UPDATE email_log SET error = ? WHERE idempotency_key = ? AND status = ?`, errText, key, EmailSending).Exec(ctx)
	return translate(err, "note unknown outcome")
}

// EmailsFor lists an invitation's log entries, oldest first.
func (s *Store) EmailsFor(ctx context.Context, invitationID string) ([]EmailLog, error) {
	var items []EmailLog
	err := s.DB.NewSelect().Model(&items).Where("invitation_id = ?", invitationID).Order("id").Scan(ctx)
	return items, translate(err, "emails of invitation")
}

// OutboxMessage is an email kept by the development outbox instead of sent.
type OutboxMessage struct {
	bun.BaseModel `bun:"table:outbox_messages"`

	ID        int64            `bun:"id,pk,autoincrement" json:"-"`
	Recipient string           `bun:"recipient" json:"to"`
	Subject   string           `bun:"subject" json:"subject"`
	TextBody  string           `bun:"text_body" json:"text"`
	HTMLBody  string           `bun:"html_body" json:"html"`
	Kind      portal.EmailKind `bun:"kind" json:"kind"`
	CreatedAt time.Time        `bun:"created_at,nullzero,default:now()" json:"created_at"`
	// From, ReplyTo, Headers and Tracking are what a provider would get
	// beyond the content; Tracking is null where the domain's setting
	// applies.
	From     string            `bun:"from_header" json:"from"`
	ReplyTo  *string           `bun:"reply_to" json:"reply_to"`
	Headers  map[string]string `bun:"headers,type:jsonb" json:"headers"`
	Tracking json.RawMessage   `bun:"tracking,type:jsonb,nullzero" json:"tracking"`

	IdempotencyKey *string `bun:"idempotency_key" json:"-"`
	// MessageID and Variables are what a provider would carry: the
	// message's stable ID and its user variables (the email log row).
	MessageID *string           `bun:"message_id" json:"message_id"`
	Variables map[string]string `bun:"variables,type:jsonb" json:"variables"`
}

// AddOutbox stores a message in the outbox, once per idempotency key; a
// repeat leaves the first and reports its ID in m.ID.
func (s *Store) AddOutbox(ctx context.Context, m *OutboxMessage) error {
	res, err := s.DB.NewInsert().Model(m).On("CONFLICT (idempotency_key) DO NOTHING").Returning("*").Exec(ctx)
	if err != nil {
		return translate(err, "add outbox message")
	}
	if n, _ := res.RowsAffected(); n == 0 && m.IdempotencyKey != nil {
		id, _, err := s.OutboxByKey(ctx, *m.IdempotencyKey)
		m.ID = id
		return err
	}
	return nil
}

// OutboxByKey finds the outbox message stored with an idempotency key.
func (s *Store) OutboxByKey(ctx context.Context, key string) (int64, bool, error) {
	var ids []int64
	err := s.DB.NewRaw(`SELECT id FROM outbox_messages WHERE idempotency_key = ?`, key).Scan(ctx, &ids)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, false, translate(err, "outbox by key")
	}
	if len(ids) == 0 {
		return 0, false, nil
	}
	return ids[0], true, nil
}

// ListOutbox returns a page of outbox messages, newest first, optionally
// for one recipient.
func (s *Store) ListOutbox(ctx context.Context, to, cursor string, limit int) (Page[OutboxMessage], error) {
	before, err := decodeIDCursor(cursor)
	if err != nil {
		return Page[OutboxMessage]{}, err
	}
	limit = ClampLimit(limit)
	items := []OutboxMessage{}
	q := s.DB.NewSelect().Model(&items).Order("id DESC").Limit(int64(limit + 1))
	if to != "" {
		q = q.Where("lower(recipient) = lower(?)", to)
	}
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	if err := q.Scan(ctx); err != nil {
		return Page[OutboxMessage]{}, translate(err, "list outbox")
	}
	page := Page[OutboxMessage]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = encodeIDCursor(items[limit-1].ID)
	}
	return page, nil
}

// OutboxByID reads one outbox message.
func (s *Store) OutboxByID(ctx context.Context, id int64) (*OutboxMessage, error) {
	m := new(OutboxMessage)
	err := s.DB.NewSelect().Model(m).Where("id = ?", id).Scan(ctx)
	return m, translate(err, "outbox message")
}
