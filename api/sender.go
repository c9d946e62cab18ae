package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// senderView is who a help center's emails come from. Name is the one
// in use (the help center's name unless set); a null from_address means
// the installation's MAIL_FROM address.
type senderView struct {
	Name        string  `json:"name"`
	CustomName  bool    `json:"custom_name"`
	ReplyTo     *string `json:"reply_to"`
	FromAddress *string `json:"from_address"`
}

func viewSender(h *store.HelpCenter) senderView {
	v := senderView{Name: h.Name}
	if h.Sender.Name != "" {
		v.Name, v.CustomName = h.Sender.Name, true
	}
	if h.Sender.ReplyTo != "" {
		v.ReplyTo = &h.Sender.ReplyTo
	}
	if h.Sender.Address != "" {
		v.FromAddress = &h.Sender.Address
	}
	return v
}

// senderRequest sets a help center's sender; an absent or null field
// restores its default.
type senderRequest struct {
	Name        *string `json:"name"`
	ReplyTo     *string `json:"reply_to"`
	FromAddress *string `json:"from_address"`
}

// parseSender reads the sender of an update: null restores every
// default. A from address outside the allow-list is refused, since mail
// from it would fail SPF and DMARC.
func (s *Server) parseSender(c *gin.Context, raw json.RawMessage) (portal.Sender, bool) {
	var out portal.Sender
	if strings.TrimSpace(string(raw)) == "null" {
		return out, true
	}
	var req senderRequest
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		invalidField(c, "sender", "sender must be {name, reply_to, from_address} or null")
		return out, false
	}
	if req.Name != nil && *req.Name != "" {
		if err := portal.ValidSenderName(*req.Name); err != nil {
			invalidField(c, "sender.name", err.Error())
			return out, false
		}
		out.Name = *req.Name
	}
	if req.ReplyTo != nil && *req.ReplyTo != "" {
		addr, err := portal.ParseBareAddress(*req.ReplyTo)
		if err != nil {
			invalidField(c, "sender.reply_to", err.Error())
			return out, false
		}
		out.ReplyTo = addr
	}
	if req.FromAddress != nil && *req.FromAddress != "" {
		addr, err := portal.ParseBareAddress(*req.FromAddress)
		if err != nil {
			invalidField(c, "sender.from_address", err.Error())
			return out, false
		}
		if !s.SenderAllowList.Allows(addr) {
			c.AbortWithStatusJSON(http.StatusUnprocessableEntity, errorBody{Error: errorDetail{Code: "sender_not_allowed",
				Message: "from_address must be on one of the installation's sending domains (MAIL_FROM or MAIL_FROM_ALLOWED): mail from elsewhere fails SPF and DMARC",
				Field:   "sender.from_address"}})
			return out, false
		}
		out.Address = addr
	}
	return out, true
}
