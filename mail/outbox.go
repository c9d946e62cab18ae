package mail

import (
	"context"
	"strconv"

	"github.com/portalaccess/portal/store"
)

// Outbox keeps messages in the database for development, where a person or
// a test reads them at /dev/outbox instead of a mailbox.
type Outbox struct {
	Store *store.Store
}

// Send implements Sender. A message whose idempotency key the outbox
// already holds is not stored twice.
func (o *Outbox) Send(ctx context.Context, m Message) (string, error) {
	row := &store.OutboxMessage{Recipient: m.To, Subject: m.Subject, TextBody: m.Text, HTMLBody: m.HTML, Kind: m.Kind}
	if m.IdempotencyKey != "" {
		row.IdempotencyKey = &m.IdempotencyKey
	}
	if err := o.Store.AddOutbox(ctx, row); err != nil {
		return "", err
	}
	return "outbox-" + strconv.FormatInt(row.ID, 10), nil
}

// Accepted implements Confirmer.
func (o *Outbox) Accepted(ctx context.Context, key string) (string, bool, error) {
	id, ok, err := o.Store.OutboxByKey(ctx, key)
	if err != nil || !ok {
		return "", false, err
	}
	return "outbox-" + strconv.FormatInt(id, 10), true, nil
}
