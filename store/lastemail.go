package store

import (
	"time"

	"github.com/portalaccess/portal"
)

// LastEmail is the latest email a help center sent a contact through
// their invitation or their sign-up, and what became of it; zero when
// none was sent (or every one predates delivery tracking, whose rows
// name no workflow).
type LastEmail struct {
	Kind         *portal.EmailKind `bun:"kind"`
	Status       *string           `bun:"status"`
	At           *time.Time        `bun:"at"`
	DeliveredAt  *time.Time        `bun:"delivered_at"`
	DeferredAt   *time.Time        `bun:"deferred_at"`
	FailedAt     *time.Time        `bun:"failed_at"`
	ComplainedAt *time.Time        `bun:"complained_at"`
}

// State is the email's state as EmailLog.State reads it, "" when there
// is no email.
func (l LastEmail) State() string {
	if l.Kind == nil || l.Status == nil {
		return ""
	}
	e := EmailLog{Status: *l.Status, DeliveredAt: l.DeliveredAt, DeferredAt: l.DeferredAt, FailedAt: l.FailedAt, ComplainedAt: l.ComplainedAt}
	return e.State()
}

// lastEmailColumns and lastEmailJoin add a row's LastEmail (embedded as
// last_email_*) to a query that has the help center as hc and the
// contact as c. The workflow IDs are the invitation's and the sign-up's
// (workflows.InvitationWorkflowID, workflows.SignupWorkflowID): every
// email either sends is logged under its workflow's ID, which
// email_log_by_workflow finds in one probe each, however many emails
// other contacts have. Each workflow's latest is its own probe, newest
// first from the index, and the two are merged in order: one probe for
// both IDs (workflow_id IN (...)) comes out of the index by workflow, so
// every row paid for a sort, a third of an export page's time.
const (
	lastEmailColumns = `le.kind AS last_email_kind, le.status AS last_email_status, le.created_at AS last_email_at,
		le.delivered_at AS last_email_delivered_at, le.deferred_at AS last_email_deferred_at,
		le.failed_at AS last_email_failed_at, le.complained_at AS last_email_complained_at`
	lastEmailJoin = `LEFT JOIN LATERAL (SELECT e.kind, e.status, e.created_at, e.delivered_at, e.deferred_at, e.failed_at, e.complained_at
		FROM ((SELECT * FROM email_log WHERE workflow_id = 'invitation/' || hc.slug || '/' || c.id ORDER BY id DESC LIMIT 1)
			UNION ALL
			(SELECT * FROM email_log WHERE workflow_id = 'signup/' || hc.slug || '/' || c.id ORDER BY id DESC LIMIT 1)) AS e
		ORDER BY e.id DESC LIMIT 1) AS le ON true`
)
