package mail

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/portalaccess/portal/store"
)

// OutboxDomain is the domain of the outbox's message IDs.
const OutboxDomain = "outbox.portal.localhost"

// Outbox keeps messages in the database for development, where a person or
// a test reads them at /dev/outbox instead of a mailbox.
type Outbox struct {
	Store *store.Store
	// From is the installation's MAIL_FROM, as Mailgun would use it.
	From string
}

// Send implements Sender. A message whose idempotency key the outbox
// already holds is not stored twice. Like Mailgun, the outbox keeps the
// message's ID and user variables, so the webhook path can be tried.
func (o *Outbox) Send(ctx context.Context, m Message) (string, error) {
	from, err := From(m, o.From)
	if err != nil {
		return "", err
	}
	row := &store.OutboxMessage{Recipient: m.To, Subject: m.Subject, TextBody: m.Text, HTMLBody: m.HTML, Kind: m.Kind,
		From: from, Headers: m.Headers, Variables: map[string]string{}}
	if row.Headers == nil {
		row.Headers = map[string]string{}
	}
	if m.Sender.ReplyTo != "" {
		row.ReplyTo = &m.Sender.ReplyTo
	}
	if t := TrackingOf(m); t != nil {
		if row.Tracking, err = json.Marshal(t); err != nil {
			return "", err
		}
	}
	if m.IdempotencyKey != "" {
		row.IdempotencyKey = &m.IdempotencyKey
		id := MessageID(m.IdempotencyKey, OutboxDomain)
		row.MessageID = &id
	}
	if m.EmailID != 0 {
		row.Variables[VarEmailID] = strconv.FormatInt(m.EmailID, 10)
	}
	if err := o.Store.AddOutbox(ctx, row); err != nil {
		return "", err
	}
	return "outbox-" + strconv.FormatInt(row.ID, 10), nil
}

// Accepted implements Confirmer. The outbox writes in one transaction, so
// its answer is final at once.
func (o *Outbox) Accepted(ctx context.Context, m Message, _ time.Time) (string, bool, error) {
	id, ok, err := o.Store.OutboxByKey(ctx, m.IdempotencyKey)
	if err != nil || !ok {
		return "", false, err
	}
	return "outbox-" + strconv.FormatInt(id, 10), true, nil
}
