package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// outboxMessageView is an email in the development outbox.
type outboxMessageView struct {
	To        string           `json:"to"`
	Subject   string           `json:"subject"`
	Text      string           `json:"text"`
	HTML      string           `json:"html"`
	Kind      portal.EmailKind `json:"kind"`
	CreatedAt time.Time        `json:"created_at"`
}

func viewOutboxMessage(m *store.OutboxMessage) outboxMessageView {
	return outboxMessageView{To: m.Recipient, Subject: m.Subject, Text: m.TextBody, HTML: m.HTMLBody, Kind: m.Kind,
		CreatedAt: m.CreatedAt}
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
