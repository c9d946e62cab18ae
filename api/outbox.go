package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/store"
)

// outboxMessageView is an email in the development outbox, with what a
// provider would keep of it: its message ID and user variables.
type outboxMessageView struct {
	ID        int64             `json:"id"`
	To        string            `json:"to"`
	Subject   string            `json:"subject"`
	Text      string            `json:"text"`
	HTML      string            `json:"html"`
	Kind      portal.EmailKind  `json:"kind"`
	CreatedAt time.Time         `json:"created_at"`
	From      string            `json:"from"`
	ReplyTo   *string           `json:"reply_to"`
	Headers   map[string]string `json:"headers"`
	// Tracking is null where the sending domain's setting applies.
	Tracking  json.RawMessage   `json:"tracking"`
	MessageID string            `json:"message_id,omitempty"`
	Variables map[string]string `json:"variables"`
}

func viewOutboxMessage(m *store.OutboxMessage) outboxMessageView {
	v := outboxMessageView{ID: m.ID, To: m.Recipient, Subject: m.Subject, Text: m.TextBody, HTML: m.HTMLBody, Kind: m.Kind,
		CreatedAt: m.CreatedAt, From: m.From, ReplyTo: m.ReplyTo, Headers: m.Headers, Tracking: m.Tracking, Variables: m.Variables}
	if v.Headers == nil {
		v.Headers = map[string]string{}
	}
	if len(v.Tracking) == 0 {
		v.Tracking = json.RawMessage("null")
	}
	if m.MessageID != nil {
		v.MessageID = *m.MessageID
	}
	if v.Variables == nil {
		v.Variables = map[string]string{}
	}
	return v
}

// listOutbox lists the emails the development mail driver kept, newest
// first, optionally those to one address, a page at a time.
func (s *Server) listOutbox(c *gin.Context) {
	page, err := s.Store.ListOutbox(c.Request.Context(), c.Query("to"), c.Query("cursor"), queryLimit(c))
	if err != nil {
		s.storeError(c, err, "outbox_message")
		return
	}
	out := make([]outboxMessageView, 0, len(page.Items))
	for i := range page.Items {
		out = append(out, viewOutboxMessage(&page.Items[i]))
	}
	c.JSON(http.StatusOK, gin.H{"items": out, "next_cursor": page.NextCursor})
}

// outboxWebhookRequest names the event to simulate for an outbox message.
type outboxWebhookRequest struct {
	// Event: delivered, failed (with severity), complained.
	Event    string `json:"event"`
	Severity string `json:"severity"`
	Reason   string `json:"reason"`
}

// outboxWebhook turns an outbox message into the signed webhook Mailgun
// would post about it, and has the webhook endpoint receive it: the
// whole path, signature check included, can be tried locally
// (development mail driver only).
func (s *Server) outboxWebhook(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		abort(c, http.StatusBadRequest, "invalid_id", "id must be an outbox message's number")
		return
	}
	var req outboxWebhookRequest
	if !decodeJSON(c, &req) {
		return
	}
	switch {
	case req.Event != "delivered" && req.Event != "failed" && req.Event != "complained":
		invalidField(c, "event", "event must be delivered, failed or complained")
		return
	case req.Event == "failed" && req.Severity != "permanent" && req.Severity != "temporary":
		invalidField(c, "severity", "a failed event's severity must be permanent or temporary")
		return
	case s.WebhookSigningKey == "":
		abort(c, http.StatusConflict, "no_signing_key", "set MAILGUN_WEBHOOK_SIGNING_KEY to sign and verify webhooks")
		return
	}
	m, err := s.Store.OutboxByID(c.Request.Context(), id)
	if err != nil {
		s.storeError(c, err, "outbox_message")
		return
	}
	var ev mailgunEventData
	ev.Event, ev.Severity, ev.Recipient = req.Event, req.Severity, m.Recipient
	ev.Timestamp = float64(time.Now().UnixMicro()) / 1e6
	if req.Event == "failed" {
		ev.Reason = req.Reason
		if ev.Reason == "" {
			ev.Reason = "simulated from the development outbox"
		}
	}
	if m.MessageID != nil {
		ev.Message.Headers.MessageID = *m.MessageID
	}
	ev.UserVariables = map[string]any{}
	for k, v := range m.Variables {
		ev.UserVariables[k] = v
	}
	var hook mailgunWebhook
	hook.EventData = ev
	token := make([]byte, 25)
	_, _ = rand.Read(token)
	hook.Signature.Timestamp = strconv.FormatInt(time.Now().Unix(), 10)
	hook.Signature.Token = hex.EncodeToString(token)
	hook.Signature.Signature = mail.SignWebhook(s.WebhookSigningKey, hook.Signature.Timestamp, hook.Signature.Token)
	body, err := json.Marshal(hook)
	if err != nil {
		s.internal(c, err)
		return
	}
	out := s.receiveMailgunWebhook(c.Request.Context(), body)
	if out.status != http.StatusOK {
		abort(c, out.status, out.code, out.message)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": out.code, "webhook": json.RawMessage(body)})
}
