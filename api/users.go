package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// userView is a contact's portal account and its access to one help
// center.
type userView struct {
	ID         int64               `json:"id"`
	ContactID  int64               `json:"contact_id"`
	Email      string              `json:"email"`
	Name       string              `json:"name"`
	Status     portal.AccessStatus `json:"status"`
	InvitedAt  *time.Time          `json:"invited_at"`
	AcceptedAt *time.Time          `json:"accepted_at"`
	// The latest email the user's invitation or sign-up sent: its kind,
	// its state (store.EmailLog.State) and when it was sent; null when
	// none was.
	LastEmailKind  *portal.EmailKind `json:"last_email_kind"`
	LastEmailState *string           `json:"last_email_state"`
	LastEmailAt    *time.Time        `json:"last_email_at"`
}

func viewUser(u *store.PortalUser) userView {
	v := userView{ID: u.AccountID, ContactID: u.ContactID, Email: u.Email, Name: u.Name, Status: u.Status,
		InvitedAt: u.InvitedAt, AcceptedAt: u.AcceptedAt}
	if state := u.LastEmail.State(); state != "" {
		v.LastEmailKind, v.LastEmailState, v.LastEmailAt = u.LastEmail.Kind, &state, u.LastEmail.At
	}
	return v
}

func (s *Server) listUsers(c *gin.Context) {
	hc, ok := s.helpCenter(c)
	if !ok {
		return
	}
	status, ok := parseStatus(c, portal.ParseAccessStatus)
	if !ok {
		return
	}
	page, err := s.Store.ListUsers(c.Request.Context(), hc.ID, status, c.Query("cursor"), queryLimit(c))
	if err != nil {
		s.storeError(c, err, "user")
		return
	}
	out := list[userView]{Items: []userView{}, NextCursor: page.NextCursor}
	for i := range page.Items {
		out.Items = append(out.Items, viewUser(&page.Items[i]))
	}
	c.JSON(http.StatusOK, out)
}

// exportUsers streams a help center's portal users as CSV: all of them,
// or those named by ?ids=1,2,3.
func (s *Server) exportUsers(c *gin.Context) {
	hc, ok := s.helpCenter(c)
	if !ok {
		return
	}
	var ids []int64
	if raw, given := c.GetQuery("ids"); given {
		ids = []int64{}
		for _, part := range strings.Split(raw, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
			if err != nil || id <= 0 {
				invalidField(c, "ids", "ids must be a comma-separated list of user ids")
				return
			}
			ids = append(ids, id)
		}
	}
	if err := s.Store.Audit(c.Request.Context(), event(c, portal.AuditUsersExported, portal.Target("help_center", hc.ID), &hc.ID,
		map[string]any{"ids": ids})); err != nil {
		s.internal(c, err)
		return
	}
	w := s.startCSV(c, hc.Slug+"-portal-users.csv", "email", "name", "status", "invited_at", "accepted_at", "last_sent_at", "send_count",
		"last_email_kind", "last_email_state", "last_email_at", "declined_at")
	err := s.Store.EachExportUser(c.Request.Context(), hc.ID, ids, func(u store.ExportUser) error {
		var kind string
		if u.LastEmail.Kind != nil {
			kind = string(*u.LastEmail.Kind)
		}
		return w.row(u.Email, u.Name, u.Status, csvTime(u.InvitedAt), csvTime(u.AcceptedAt), csvTime(u.LastSentAt), strconv.Itoa(u.SendCount),
			kind, u.LastEmail.State(), csvTime(u.LastEmail.At), csvTime(u.DeclinedAt))
	})
	w.finish(err)
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// helpCenterUser loads the help center of :slug and its user :id, or
// answers 404.
func (s *Server) helpCenterUser(c *gin.Context) (*store.HelpCenter, *store.PortalUser, bool) {
	hc, ok := s.helpCenter(c)
	if !ok {
		return nil, nil, false
	}
	u, ok := s.portalUser(c, hc)
	return hc, u, ok
}

// portalUser loads the user named by :id in the help center, or answers
// 404.
func (s *Server) portalUser(c *gin.Context, hc *store.HelpCenter) (*store.PortalUser, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		abort(c, http.StatusNotFound, "user_not_found", "portal user not found")
		return nil, false
	}
	u, err := s.Store.PortalUserByID(c.Request.Context(), hc.ID, id)
	if err != nil {
		s.storeError(c, err, "user")
		return nil, false
	}
	return u, true
}

type updateUserRequest struct {
	Name *string `json:"name"`
}

// updateUser edits a portal user's details; the person is not notified.
func (s *Server) updateUser(c *gin.Context) {
	hc, u, ok := s.helpCenterUser(c)
	if !ok {
		return
	}
	var req updateUserRequest
	if !decodeJSON(c, &req) {
		return
	}
	if req.Name != nil {
		name, ok := personName(c, *req.Name)
		if !ok {
			return
		}
		if name == u.Name {
			c.JSON(http.StatusOK, viewUser(u)) // nothing changes, updated_at included
			return
		}
		ev := event(c, portal.AuditUserUpdated, portal.Target("user", u.AccountID), &hc.ID, map[string]any{"fields": []string{"name"}})
		if err := s.Store.RenameContact(c.Request.Context(), u.ContactID, name, ev); err != nil {
			s.internal(c, err)
			return
		}
		u.Name = name
	}
	c.JSON(http.StatusOK, viewUser(u))
}

// decideSignup passes an admin's decision to the sign-up waiting for it
// and answers the user as the decision left it; a user with no sign-up
// waiting gets 409 not_waiting.
func (s *Server) decideSignup(c *gin.Context, name string) {
	hc, u, ok := s.helpCenterUser(c)
	if !ok {
		return
	}
	su, err := s.Store.PendingSignupOf(c.Request.Context(), hc.ID, u.AccountID)
	if errors.Is(err, store.ErrNotFound) {
		abort(c, http.StatusConflict, "not_waiting", "this user has no sign-up waiting for approval (status "+string(u.Status)+")")
		return
	}
	if err != nil {
		s.internal(c, err)
		return
	}
	// A sign-up takes one decision: two admins who both approve make one
	// approval, while an approve racing a reject is two commands and the
	// later one is refused. The request names the sign-up, so a decision
	// never reaches a later sign-up under the same workflow ID.
	id, ok := updateID(c, name+"/"+su.ID)
	if !ok {
		return
	}
	err = s.command(c.Request.Context(), client.UpdateWorkflowOptions{
		WorkflowID: su.WorkflowID, UpdateID: id, UpdateName: name, Args: []any{workflows.DecisionRequest{SignupID: su.ID, Actor: actor(c), RequestID: requestID(c)}},
	}, nil)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		abort(c, http.StatusConflict, "not_waiting", "the sign-up is no longer waiting for a decision")
		return
	}
	if err != nil {
		s.temporalError(c, err)
		return
	}
	fresh, err := s.Store.PortalUserByID(c.Request.Context(), hc.ID, u.AccountID)
	if err != nil {
		s.internal(c, err)
		return
	}
	c.JSON(http.StatusOK, viewUser(fresh))
}

func (s *Server) approveUser(c *gin.Context) { s.decideSignup(c, workflows.ApproveUpdate) }
func (s *Server) rejectUser(c *gin.Context)  { s.decideSignup(c, workflows.RejectUpdate) }

type accessResult struct {
	ID      int64               `json:"id"`
	Status  portal.AccessStatus `json:"status,omitempty"`
	Changed bool                `json:"changed"`
	Error   *errorDetail        `json:"error,omitempty"`
}

func (s *Server) setOne(c *gin.Context, action portal.AccessAction) {
	hc, u, ok := s.helpCenterUser(c)
	if !ok {
		return
	}
	if code, msg := decisionHeld(c, u.Status); code != "" {
		abort(c, http.StatusConflict, code, msg)
		return
	}
	change, err := s.Start.AccessChange(c.Request.Context(), hc, u.AccountID, action, actor(c), requestID(c))
	if err != nil {
		s.temporalError(c, err)
		return
	}
	c.JSON(http.StatusOK, accessResult{ID: u.AccountID, Status: change.Status, Changed: change.Changed})
}

func (s *Server) deactivateUser(c *gin.Context) { s.setOne(c, portal.ActionDeactivate) }
func (s *Server) reactivateUser(c *gin.Context) { s.setOne(c, portal.ActionReactivate) }

type idsRequest struct {
	IDs []int64 `json:"ids"`
}

// maxAccessIDs bounds one bulk deactivation or reactivation.
const maxAccessIDs = 500

// setMany applies an access change to a list of users, each on its own:
// one unknown ID does not stop the others, and its row says why.
func (s *Server) setMany(c *gin.Context, action portal.AccessAction) {
	hc, ok := s.helpCenter(c)
	if !ok {
		return
	}
	var req idsRequest
	if !decodeJSON(c, &req) {
		return
	}
	if len(req.IDs) == 0 || len(req.IDs) > maxAccessIDs {
		invalidField(c, "ids", "ids must name between 1 and 500 users")
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Minute)
	defer cancel()
	out := make([]accessResult, 0, len(req.IDs))
	for _, id := range req.IDs {
		u, err := s.Store.PortalUserByID(ctx, hc.ID, id)
		if err != nil {
			out = append(out, accessResult{ID: id, Error: &errorDetail{Code: "user_not_found", Message: "no portal user with this id in this help center"}})
			continue
		}
		if code, msg := decisionHeld(c, u.Status); code != "" {
			out = append(out, accessResult{ID: id, Status: u.Status, Error: &errorDetail{Code: code, Message: msg}})
			continue
		}
		change, err := s.Start.AccessChange(ctx, hc, id, action, actor(c), requestID(c))
		if err != nil {
			s.Logger.Error("access change", "account_id", id, "action", action, "error", err)
			out = append(out, accessResult{ID: id, Error: &errorDetail{Code: "unavailable", Message: "not changed; try again"}})
			continue
		}
		out = append(out, accessResult{ID: id, Status: change.Status, Changed: change.Changed})
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

// decisionHeld keeps an admin's decision with admins: an agent can't
// change the access of a user whose sign-up waits for approval or was
// rejected (deactivating and then reactivating would undo a rejection).
// It returns the 409 code and message, or "".
func decisionHeld(c *gin.Context, status portal.AccessStatus) (string, string) {
	if requestKey(c).Role == portal.RoleAdmin {
		return "", ""
	}
	switch status {
	case portal.AccessPendingApproval:
		return "pending_approval", "this user's sign-up waits for an admin's approval; only an admin can change their access"
	case portal.AccessRejected:
		return "rejected_by_admin", "an admin rejected this user; only an admin can change their access"
	}
	return "", ""
}

func (s *Server) deactivateUsers(c *gin.Context) { s.setMany(c, portal.ActionDeactivate) }
func (s *Server) reactivateUsers(c *gin.Context) { s.setMany(c, portal.ActionReactivate) }
