package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// outboxMessageView is an email in the development outbox.
type outboxMessageView struct {
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
	Tracking json.RawMessage `json:"tracking"`
}

func viewOutboxMessage(m *store.OutboxMessage) outboxMessageView {
	v := outboxMessageView{To: m.Recipient, Subject: m.Subject, Text: m.TextBody, HTML: m.HTMLBody, Kind: m.Kind,
		CreatedAt: m.CreatedAt, From: m.From, ReplyTo: m.ReplyTo, Headers: m.Headers, Tracking: m.Tracking}
	if v.Headers == nil {
		v.Headers = map[string]string{}
	}
	if len(v.Tracking) == 0 {
		v.Tracking = json.RawMessage("null")
	}
	return v
}

// listOutbox lists the emails the development mail driver kept, newest
// first, optionally those to one address.
func (s *Server) listOutbox(c *gin.Context) {
	items, err := s.Store.ListOutbox(c.Request.Context(), c.Query("to"), queryLimit(c))
	if err != nil {
		s.internal(c, err)
		return
	}
	out := make([]outboxMessageView, 0, len(items))
	for i := range items {
		out = append(out, viewOutboxMessage(&items[i]))
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}
