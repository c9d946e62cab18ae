package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// emailView is one email sent for an invitation and what became of it.
type emailView struct {
	Kind portal.EmailKind `json:"kind"`
	// Generation is the link generation the email carried; Reminder its
	// reminder number (0 for the invite itself).
	Generation int `json:"generation,omitempty"`
	Reminder   int `json:"reminder,omitempty"`
	// Status is the send's: sending, sent, failed, unconfirmed.
	Status string     `json:"status"`
	SentAt *time.Time `json:"sent_at"`
	// Delivery is what the provider reported later: unknown, delivered,
	// deferred, bounced, complained.
	Delivery      portal.EmailDelivery `json:"delivery"`
	DeliveredAt   *time.Time           `json:"delivered_at"`
	FailedAt      *time.Time           `json:"failed_at"`
	FailureReason *string              `json:"failure_reason"`
	ComplainedAt  *time.Time           `json:"complained_at"`
}

func viewEmail(e *store.EmailLog) emailView {
	v := emailView{Kind: e.Kind, Status: e.Status, Delivery: e.Delivery(), DeliveredAt: e.DeliveredAt, FailedAt: e.FailedAt,
		FailureReason: e.FailureReason, ComplainedAt: e.ComplainedAt}
	if e.Status == store.EmailSent {
		at := e.UpdatedAt
		v.SentAt = &at
	}
	// Invitation keys read invitation/{id}/invite/{generation}[/reminder/{n}].
	parts := strings.Split(e.IdempotencyKey, "/")
	for i := 0; i+1 < len(parts); i++ {
		n, err := strconv.Atoi(parts[i+1])
		if err != nil {
			continue
		}
		switch parts[i] {
		case "invite":
			v.Generation = n
		case "reminder":
			v.Reminder = n
		}
	}
	return v
}
