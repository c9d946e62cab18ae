package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/erasure"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// eraseContact erases a contact and their portal accounts for good (the
// right to erasure): one transaction removes every row that names them,
// ends their sessions, takes them off their tickets and records the
// contact.erased audit event (IDs only); then their workflows (pending
// invitations, sign-ups, password resets, email changes) are asked to
// end. If that second step is cut short, the sweeper completes it: the
// transaction recorded what is left.
func (s *Server) eraseContact(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		abort(c, http.StatusNotFound, "contact_not_found", "contact not found")
		return
	}
	ctx := c.Request.Context()
	ev := event(c, portal.AuditContactErased, portal.Target("contact", id), nil, nil)
	erased, err := s.Store.EraseContact(ctx, id, s.resetWorkflowsOf, ev)
	if err != nil {
		s.storeError(c, err, "contact")
		return
	}
	// The erasure stands once committed; closing its workflows is
	// completed by the sweeper if this attempt can't.
	running, err := erasure.Finish(context.WithoutCancel(ctx), s.Store, s.Temporal, &erased.Erasure, false)
	if err != nil {
		s.Logger.Warn("erasure: workflows left for the sweeper", "contact_id", id, "error", err)
	}
	s.Logger.Info("contact erased", "contact_id", id, "accounts", erased.Accounts, "sessions_ended", erased.SessionsEnded,
		"invitations", erased.Invitations, "signups", erased.Signups, "tickets", erased.Tickets,
		"workflows", len(erased.WorkflowIDs), "workflows_closing", running)
	c.Status(http.StatusNoContent)
}

// resetWorkflowsOf names the password reset workflows that the contact's
// addresses would have in their accounts' scopes: a reset that never
// issued a link has no row naming it.
func (s *Server) resetWorkflowsOf(sub store.ErasureSubject) []string {
	var ids []string
	for _, scope := range sub.Scopes {
		for _, addr := range sub.Addresses {
			ids = append(ids, workflows.PasswordResetWorkflowID(scope, s.Start.Tokens.AddressKey(scope, addr)))
		}
	}
	return ids
}
