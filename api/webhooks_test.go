package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/testenv"
	"github.com/portalaccess/portal/workflows"
)

// outboxEntry is an outbox message with what a provider keeps of it.
type outboxEntry struct {
	ID        int64             `json:"id"`
	To        string            `json:"to"`
	Kind      string            `json:"kind"`
	MessageID string            `json:"message_id"`
	Variables map[string]string `json:"variables"`
}

func outboxEntries(t *testing.T, to string) []outboxEntry {
	t.Helper()
	r := call(t, "GET", "/dev/outbox?to="+url.QueryEscape(to), "", nil)
	var out struct{ Items []outboxEntry }
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Items
}

// mailgunEvent is a webhook as Mailgun posts it, signed with key at ts.
func mailgunEvent(key string, ts time.Time, token string, m outboxEntry, event, severity string) map[string]any {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	return map[string]any{
		"signature": map[string]any{"timestamp": stamp, "token": token, "signature": mail.SignWebhook(key, stamp, token)},
		"event-data": map[string]any{
			"event": event, "severity": severity, "reason": "bounce", "recipient": m.To,
			"timestamp":       float64(ts.UnixMicro()) / 1e6,
			"delivery-status": map[string]any{"code": 550, "message": "5.1.1 The email account does not exist"},
			"message":         map[string]any{"headers": map[string]any{"message-id": m.MessageID}},
			"user-variables":  map[string]any{mail.VarEmailID: m.Variables[mail.VarEmailID]},
		},
	}
}

func TestSignedPermanentFailureClosesTheInvitationAndStopsItsReminders(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("bounce") + "@example.com"
	contact := newContact(t, email, true)
	// Reminders every two seconds: without the bounce, they would come.
	wfID := startInvitation(t, slug, contact, workflows.Policy{
		Reminders:    []workflows.Duration{workflows.Duration(2 * time.Second), workflows.Duration(4 * time.Second)},
		LinkLifetime: workflows.Duration(time.Hour),
	})
	waitForMail(t, email, "invite", 1)
	items := outboxEntries(t, email)
	if len(items) != 1 || items[0].Variables[mail.VarEmailID] == "" || items[0].MessageID == "" {
		t.Fatalf("outbox item without its ID and variables: %+v", items)
	}
	invite := items[0]
	desc, err := app.Service.Temporal.DescribeWorkflow(t.Context(), wfID, "")
	if err != nil {
		t.Fatal(err)
	}
	invitationID := desc.RawResponse.WorkflowExecutionInfo.FirstRunId
	now := time.Now()

	// A wrong signature and a stale timestamp are refused and change nothing.
	bad := mailgunEvent("not-the-key", now, unique("tok"), invite, "failed", "permanent")
	if r := call(t, "POST", "/webhooks/mailgun", "", bad); r.Status != 401 || r.errorCode(t) != "bad_signature" {
		t.Fatalf("bad signature: %d %s", r.Status, r.Body)
	}
	stale := mailgunEvent(testenv.WebhookSigningKey, now.Add(-10*time.Minute), unique("tok"), invite, "failed", "permanent")
	if r := call(t, "POST", "/webhooks/mailgun", "", stale); r.Status != 401 || r.errorCode(t) != "stale_webhook" {
		t.Fatalf("stale webhook: %d %s", r.Status, r.Body)
	}
	if inv := admin(t, "GET", "/api/v1/invitations/"+invitationID, nil, 200); inv["status"] != "pending" {
		t.Fatalf("a refused webhook changed the invitation: %v", inv)
	}

	// A delivery, then the permanent failure (order does not matter).
	delivered := mailgunEvent(testenv.WebhookSigningKey, now, unique("tok"), invite, "delivered", "")
	if r := call(t, "POST", "/webhooks/mailgun", "", delivered); r.Status != 200 {
		t.Fatalf("delivered: %d %s", r.Status, r.Body)
	}
	failed := mailgunEvent(testenv.WebhookSigningKey, now, unique("tok"), invite, "failed", "permanent")
	if r := call(t, "POST", "/webhooks/mailgun", "", failed); r.Status != 200 || r.json(t)["status"] != "recorded" {
		t.Fatalf("failed: %d %s", r.Status, r.Body)
	}
	waitClosed(t, wfID)
	inv := admin(t, "GET", "/api/v1/invitations/"+invitationID, nil, 200)
	if inv["status"] != "undeliverable" || inv["undeliverable_reason"] != "bounced" {
		t.Fatalf("invitation after the bounce: %v", inv)
	}
	emails := inv["emails"].([]any)
	if len(emails) != 1 {
		t.Fatalf("delivery history %v", emails)
	}
	e := emails[0].(map[string]any)
	if e["kind"] != "invite" || e["generation"] != float64(1) || e["delivery"] != "bounced" || e["delivered_at"] == nil ||
		e["failed_at"] == nil || e["sent_at"] == nil {
		t.Fatalf("email in the history: %v", e)
	}
	// A replay of the failure is ignored.
	if r := call(t, "POST", "/webhooks/mailgun", "", failed); r.Status != 200 || r.json(t)["status"] != "replayed" {
		t.Fatalf("replay: %d %s", r.Status, r.Body)
	}
	// The reminders that were due never went out.
	time.Sleep(5 * time.Second)
	if got := outboxEntries(t, email); len(got) != 1 {
		t.Fatalf("%d emails after the bounce, want the invite alone", len(got))
	}
	// The address is suppressed for the whole installation.
	sup, err := app.Service.Store.SuppressionFor(t.Context(), email)
	if err != nil || sup == nil || sup.Reason != "bounced" {
		t.Fatalf("suppression %+v %v", sup, err)
	}
}

func TestOutboxTurnsAMessageIntoASignedWebhook(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("complain") + "@example.com"
	contact := newContact(t, email, true)
	id := inviteContact(t, slug, contact)["id"].(string)
	waitForMail(t, email, "invite", 1)
	m := outboxEntries(t, email)[0]
	if r := call(t, "POST", fmt.Sprintf("/dev/outbox/%d/webhook", m.ID), "", map[string]any{"event": "exploded"}); r.Status != 422 {
		t.Fatalf("unknown event: %d %s", r.Status, r.Body)
	}
	r := call(t, "POST", fmt.Sprintf("/dev/outbox/%d/webhook", m.ID), "", map[string]any{"event": "complained"})
	if r.Status != 200 || r.json(t)["status"] != "recorded" {
		t.Fatalf("simulated complaint: %d %s", r.Status, r.Body)
	}
	waitClosed(t, workflows.InvitationWorkflowID(slug, contact))
	inv := admin(t, "GET", "/api/v1/invitations/"+id, nil, 200)
	if inv["status"] != "undeliverable" || inv["undeliverable_reason"] != "complained" {
		t.Fatalf("invitation after the complaint: %v", inv)
	}
}
