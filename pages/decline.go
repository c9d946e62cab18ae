package pages

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// oneClickBody is the whole body of an RFC 8058 one-click unsubscribe,
// which mail clients send without a session or a form of ours. The
// confirmation page's button posts the same body.
const oneClickBody = "List-Unsubscribe=One-Click"

// declineInvitation finds the invitation a decline link names in this
// help center, or renders the same "not valid" page for a forged link,
// another help center's invitation and an unknown one.
func (s *Site) declineInvitation(c *gin.Context, hc *store.HelpCenter) (*store.Invitation, bool) {
	id, sig := c.Query("invitation"), c.Query("sig")
	if _, err := uuid.Parse(id); err == nil && len(sig) <= 128 && s.Tokens.DeclineValid(id, sig) {
		inv, err := s.Store.InvitationByID(c.Request.Context(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.failed(c, hc.Name, "find declined invitation", err, "")
			return nil, false
		}
		if err == nil && inv.HelpCenterID == hc.ID {
			return inv, true
		}
	}
	s.message(c, http.StatusNotFound, hc.Name, "Link not valid", "This link is not valid.",
		"Check that you copied the whole link from the email.")
	return nil, false
}

// declinePage asks the contact to confirm. It changes nothing, so a
// mail scanner that opens the link declines for no one.
func (s *Site) declinePage(c *gin.Context) {
	client := clientKey(clientIP(c.Request, s.TrustedProxies))
	if !s.take(c, scopeClient, s.Tokens.Pseudonym(scopeClient, client), s.PerIP) {
		return
	}
	hc, ok := s.portalHelpCenter(c)
	if !ok {
		return
	}
	if _, ok := s.declineInvitation(c, hc); !ok {
		return
	}
	action := s.portalPath(hc, "/invitations/decline") + "?" + url.Values{"invitation": {c.Query("invitation")}, "sig": {c.Query("sig")}}.Encode()
	s.render(c, http.StatusOK, "decline.html", page{Title: "Stop invitations from " + hc.Name, HelpCenter: hc.Name, Action: action,
		Message:     "If you don't want an account on the " + hc.Name + " help center, confirm below: this invitation closes and " + hc.Name + " won't invite you again.",
		Next:        "Changed your mind? Close this page; nothing has changed.",
		Description: "Decline the invitation to the " + hc.Name + " help center."})
}

// declineSubmit declines: the one-click request of a mail client or the
// confirmation page's button, both the exact one-click body. The decline
// is stored first, so no more invitations go out even if the workflow
// hears of it late; then the workflow closes the invitation as declined.
func (s *Site) declineSubmit(c *gin.Context) {
	hc, ok := s.portalHelpCenter(c)
	if !ok {
		return
	}
	if len(c.Request.PostForm) != 1 || c.Request.PostForm.Get("List-Unsubscribe") != "One-Click" {
		s.message(c, http.StatusBadRequest, hc.Name, "Request not understood",
			"A decline must be sent as "+oneClickBody+".", "Open the link in the email and use the button on the page.")
		return
	}
	inv, ok := s.declineInvitation(c, hc)
	if !ok {
		return
	}
	if err := s.Store.Decline(c.Request.Context(), inv); err != nil {
		s.failed(c, hc.Name, "record decline", err, "")
		return
	}
	if inv.Status == portal.InvitationPending {
		err := s.Temporal.SignalWorkflow(c.Request.Context(), inv.WorkflowID, "", workflows.DeclineSignal, nil)
		var notFound *serviceerror.NotFound
		if err != nil && !errors.As(err, &notFound) {
			// Stored: no more email goes out; the invitation closes
			// declined when the workflow next hears, or expires.
			s.Logger.Warn("decline stored but not signalled", "invitation_id", inv.ID, "error", err)
		}
	}
	s.Logger.Info("invitation declined", "invitation_id", inv.ID, "help_center", hc.Slug)
	s.message(c, http.StatusOK, hc.Name, "You won't be invited again",
		hc.Name+" won't send you more invitations to its help center.",
		"If you change your mind, ask its support team to invite you.")
}
