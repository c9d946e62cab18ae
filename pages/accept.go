package pages

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// linkProblem explains why an invitation link can't be used, with the
// status to answer; "" when it can.
func linkProblem(inv *store.Invitation, generation int, now time.Time) (status int, title, msg, next string) {
	const askAgain = "Ask the help center's support team to send you a new invitation."
	switch {
	case inv.Status == portal.InvitationAccepted:
		return http.StatusConflict, "Your account is already active", "This invitation has already been accepted.", "Log in with your email address and password."
	case inv.Status == portal.InvitationRevoked:
		return http.StatusGone, "Invitation withdrawn", "This invitation was withdrawn by the help center.", askAgain
	case generation != inv.TokenGeneration:
		return http.StatusGone, "This link was replaced", "A newer invitation email was sent to you, and this older link no longer works.", "Use the link in the most recent invitation email."
	case inv.Status == portal.InvitationExpired, inv.Status == portal.InvitationUndeliverable,
		inv.ExpiresAt != nil && !now.Before(*inv.ExpiresAt):
		return http.StatusGone, "Invitation expired", "This invitation link has expired.", askAgain
	}
	return 0, "", "", ""
}

// invitationForToken finds a link's invitation in this help center, or
// renders why the link is no good.
func (s *Site) invitationForToken(c *gin.Context, hc *store.HelpCenter, token string) (*store.Invitation, int, bool) {
	if token == "" || len(token) > 128 {
		s.message(c, http.StatusBadRequest, hc.Name, "Link incomplete", "This invitation link is incomplete.", "Copy the whole link from the email into your browser.")
		return nil, 0, false
	}
	inv, gen, err := s.Store.InvitationByToken(c.Request.Context(), credentials.Hash(token))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.failed(c, hc.Name, "find invitation by token", err, "")
		return nil, 0, false
	}
	if err != nil || inv.HelpCenterID != hc.ID {
		s.message(c, http.StatusNotFound, hc.Name, "Invitation not found", "This invitation link is not valid.", "Check that you copied the whole link from the email.")
		return nil, 0, false
	}
	if status, title, msg, next := linkProblem(inv, gen, time.Now()); status != 0 {
		s.render(c, status, "message.html", page{Title: title, HelpCenter: hc.Name, Message: msg, Next: next,
			LinkURL: s.portalPath(hc, "/login"), LinkText: "Go to the login page"})
		return nil, 0, false
	}
	return inv, gen, true
}

// acceptPage shows the set-password form. It changes nothing: mail
// scanners open links before people do.
func (s *Site) acceptPage(c *gin.Context) {
	hc, ok := s.portalHelpCenter(c)
	if !ok {
		return
	}
	token := c.Query("token")
	inv, _, ok := s.invitationForToken(c, hc, token)
	if !ok {
		return
	}
	s.acceptForm(c, http.StatusOK, hc, inv, token, nil)
}

func (s *Site) acceptForm(c *gin.Context, status int, hc *store.HelpCenter, inv *store.Invitation, token string, problems []problem) {
	p := page{Title: "Accept invitation", HelpCenter: hc.Name, Action: s.portalPath(hc, "/invitations/accept"),
		CSRF: s.csrfToken(c), Token: token, Problems: problems, MinLength: credentials.MinPasswordLength,
		Description: "Choose a password to activate your account in the " + hc.Name + " help center."}
	if ct, err := s.Store.ContactByID(c.Request.Context(), inv.ContactID); err == nil {
		p.Name, p.Email = ct.Name, ct.EmailAddress()
	}
	s.render(c, status, "accept.html", p)
}

// acceptSubmit sets the password and activates the account through the
// invitation workflow. The password is hashed here and staged in Postgres;
// the workflow learns only the stage's ID.
func (s *Site) acceptSubmit(c *gin.Context) {
	hc, ok := s.portalForm(c, "Open the link from your email again.")
	if !ok {
		return
	}
	token := c.PostForm("token")
	inv, gen, ok := s.invitationForToken(c, hc, token)
	if !ok {
		return
	}
	password := c.PostForm("password")
	if err := credentials.CheckPasswordRules(password); err != nil {
		s.acceptForm(c, http.StatusUnprocessableEntity, hc, inv, token, fieldProblem(fieldPassword, passwordRulesMessage))
		return
	}
	if password != c.PostForm("password_confirm") {
		s.acceptForm(c, http.StatusUnprocessableEntity, hc, inv, token, fieldProblem(fieldPasswordConfirm, "The two passwords do not match."))
		return
	}
	ctx := c.Request.Context()
	hash, err := s.Hasher.Hash(ctx, password)
	if errors.Is(err, credentials.ErrBusy) {
		busy(c)
		s.acceptForm(c, http.StatusServiceUnavailable, hc, inv, token, formProblem(busyMessage))
		return
	}
	if err != nil {
		s.acceptForm(c, http.StatusUnprocessableEntity, hc, inv, token, fieldProblem(fieldPassword, "This password can't be used."))
		return
	}
	stageID := uuid.NewString()
	if err := s.Store.StageCredential(ctx, stageID, inv.ID, hash); err != nil {
		s.failed(c, hc.Name, "stage credential", err, "Your account was not activated.")
		return
	}
	s.acceptStep(AcceptStaged)
	err = s.acceptUpdate(c, inv, workflows.AcceptRequest{Generation: gen, StageID: stageID, RequestID: portal.RequestID(c.Request.Context())})
	if err != nil {
		if derr := s.Store.DropCredential(ctx, stageID); derr != nil {
			s.Logger.Warn("drop unused credential", "error", derr)
		}
		s.acceptFailed(c, hc, inv, err)
		return
	}
	s.acceptStep(AcceptApplied)
	s.startSession(c, hc, inv.ContactID)
}

func (s *Site) acceptUpdate(c *gin.Context, inv *store.Invitation, req workflows.AcceptRequest) error {
	// The staged password's ID names the update: a retry of this submit
	// is the same accept, and the invitation's own run chain (its first
	// run ID is the invitation ID) is the only one it can reach.
	// One call waits until the update is done. Only with a crash placed
	// between admitted and done (AfterAcceptStep) does it wait in two
	// stages: the second is one more round trip to Temporal per accept.
	stage := client.WorkflowUpdateStageCompleted
	if s.AfterAcceptStep != nil {
		stage = client.WorkflowUpdateStageAccepted
	}
	handle, err := s.Temporal.UpdateWorkflow(c.Request.Context(), client.UpdateWorkflowOptions{
		WorkflowID: inv.WorkflowID, FirstExecutionRunID: inv.ID, UpdateID: req.StageID,
		UpdateName: workflows.AcceptUpdate, Args: []any{req}, WaitForStage: stage,
	})
	if err != nil {
		return err
	}
	s.acceptStep(AcceptAdmitted)
	return handle.Get(c.Request.Context(), nil)
}

// acceptFailed explains a refused accept: the workflow's reason when it
// gave one, else what the database now says.
func (s *Site) acceptFailed(c *gin.Context, hc *store.HelpCenter, inv *store.Invitation, err error) {
	var appErr *temporal.ApplicationError
	var notFound *serviceerror.NotFound
	if errors.As(err, &appErr) || errors.As(err, &notFound) {
		if fresh, ferr := s.Store.InvitationByID(c.Request.Context(), inv.ID); ferr == nil {
			inv = fresh
		}
		reason := ""
		if appErr != nil {
			reason = appErr.Type()
		}
		switch {
		case reason == workflows.RejectAlreadyAccepted || inv.Status == portal.InvitationAccepted:
			s.render(c, http.StatusConflict, "message.html", page{Title: "Your account is already active", HelpCenter: hc.Name,
				Message: "This invitation has already been accepted.", Next: "Log in with your email address and password.",
				LinkURL: s.portalPath(hc, "/login"), LinkText: "Go to the login page"})
			return
		case reason == workflows.RejectSuperseded:
			s.message(c, http.StatusGone, hc.Name, "This link was replaced", "A newer invitation email was sent to you, and this older link no longer works.", "Use the link in the most recent invitation email.")
			return
		case reason == workflows.RejectRevoked || inv.Status == portal.InvitationRevoked:
			s.message(c, http.StatusGone, hc.Name, "Invitation withdrawn", "This invitation was withdrawn by the help center.", "Ask the help center's support team to send you a new invitation.")
			return
		case reason == workflows.RejectExpired || reason == workflows.RejectUndeliverable || inv.Status != portal.InvitationPending:
			s.message(c, http.StatusGone, hc.Name, "Invitation expired", "This invitation link has expired.", "Ask the help center's support team to send you a new invitation.")
			return
		}
	}
	s.failed(c, hc.Name, "accept invitation", err, "Your account was not activated.", "invitation_id", inv.ID)
}
