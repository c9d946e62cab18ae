package pages

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// Form fields of the password forms.
const (
	fieldEmail           = "email"
	fieldName            = "name"
	fieldCurrentPassword = "current_password"
	fieldPassword        = "password"
	fieldPasswordConfirm = "password_confirm"
	// The home page holds two forms, so its new-password fields have ids
	// of their own (their names are the reset form's).
	fieldNewPassword        = "new_password"
	fieldNewPasswordConfirm = "new_password_confirm"
	fieldSubject            = "subject"
	fieldBody               = "body"
)

func (s *Site) forgotForm(c *gin.Context, status int, hc *store.HelpCenter, email string, problems []problem) {
	s.render(c, status, "forgot.html", page{Title: "Forgot your password", HelpCenter: hc.Name, Action: s.portalPath(hc, "/password/forgot"),
		CSRF: s.csrfToken(c), Email: email, Problems: problems, LinkURL: s.portalPath(hc, "/login"), LinkText: "Back to the login page",
		Description: "Ask for a link to choose a new password for the " + hc.Name + " help center."})
}

func (s *Site) forgotPage(c *gin.Context) {
	hc, ok := s.portalHelpCenter(c)
	if !ok {
		return
	}
	s.forgotForm(c, http.StatusOK, hc, "", nil)
}

// forgotSubmit passes the request to the account's reset workflow and
// answers the same page whatever the address: known or not, active or
// not, the request costs one signal-with-start and the page says the
// same, so it can't be used to learn who has an account. The workflow
// decides, out of sight, whether a link goes out.
func (s *Site) forgotSubmit(c *gin.Context) {
	hc, ok := s.portalForm(c, "Reload the page and try again.")
	if !ok {
		return
	}
	raw := strings.TrimSpace(c.PostForm("email"))
	email, ok := portal.NormalizeEmail(raw)
	if !ok {
		s.forgotForm(c, http.StatusUnprocessableEntity, hc, raw, fieldProblem(fieldEmail, "Enter the email address you log in with, such as ada@example.com."))
		return
	}
	if err := s.Start.RequestPasswordReset(c.Request.Context(), hc, email); err != nil {
		s.failed(c, hc.Name, "password reset request", err, "Your request was not received.")
		return
	}
	s.render(c, http.StatusOK, "message.html", page{Title: "Check your email", HelpCenter: hc.Name,
		Message: "If the address you entered can log in to this help center, we have sent it a link to choose a new password.",
		Next:    "The link works for " + mail.FormatLifetime(s.resetLifetime()) + ". Nothing arrived? Check your spam folder, or ask again in a minute.",
		LinkURL: s.portalPath(hc, "/login"), LinkText: "Back to the login page"})
}

func (s *Site) resetLifetime() time.Duration {
	if s.Start.ResetLinkLifetime > 0 {
		return s.Start.ResetLinkLifetime
	}
	return workflows.DefaultResetLinkLifetime
}

// resetLinkProblem renders why a reset link can't be used, if it can't.
func (s *Site) resetLinkProblem(c *gin.Context, hc *store.HelpCenter, link *store.PasswordReset) bool {
	askAgain := page{HelpCenter: hc.Name, LinkURL: s.portalPath(hc, "/password/forgot"), LinkText: "Ask for a new link"}
	toLogin := page{HelpCenter: hc.Name, LinkURL: s.portalPath(hc, "/login"), LinkText: "Go to the login page"}
	var p page
	switch {
	case link.ClosedReason != nil && *link.ClosedReason == portal.ResetLinkUsed:
		p = toLogin
		p.Title, p.Message, p.Next = "This link was already used", "Your password was set with this link, and it works only once.",
			"Log in with your new password. If you forgot it again, ask for a new link from the login page."
	case link.ClosedReason != nil && *link.ClosedReason == portal.ResetLinkReplaced:
		p = askAgain
		p.Title, p.Message, p.Next = "This link was replaced", "A newer email was sent to you, and this older link no longer works.",
			"Use the link in the most recent email."
	case link.ClosedReason != nil && *link.ClosedReason == portal.ResetLinkEmailChanged:
		p = askAgain
		p.Title, p.Message, p.Next = "This link no longer works", "The email address of this account was changed after this link was sent.",
			"Ask for a new link with the account's current address, or contact the support team."
	case link.ClosedReason != nil:
		p = toLogin
		p.Title, p.Message, p.Next = "Your password was changed", "The password was changed after this link was sent, so the link no longer works.",
			"Log in with the new password, or ask for a new link from the login page."
	case !time.Now().Before(link.ExpiresAt):
		p = askAgain
		p.Title, p.Message, p.Next = "This link has expired", "Password reset links work for a limited time, and this one has run out.",
			"Ask for a new link; it arrives in a minute or two."
	default:
		return false
	}
	s.render(c, http.StatusGone, "message.html", p)
	return true
}

// resetLinkFor finds a reset link of this help center by its token, or
// renders why it is no good.
func (s *Site) resetLinkFor(c *gin.Context, hc *store.HelpCenter, token string) (*store.PasswordReset, bool) {
	if token == "" || len(token) > 128 {
		s.message(c, http.StatusBadRequest, hc.Name, "Link incomplete", "This password reset link is incomplete.", "Copy the whole link from the email into your browser.")
		return nil, false
	}
	link, err := s.Store.PasswordResetByToken(c.Request.Context(), credentials.Hash(token))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.failed(c, hc.Name, "reset link by token", err, "")
		return nil, false
	}
	if err != nil || link.HelpCenterID != hc.ID {
		s.render(c, http.StatusNotFound, "message.html", page{Title: "Link not valid", HelpCenter: hc.Name,
			Message: "This password reset link is not valid.", Next: "Check that you copied the whole link from the email, or ask for a new one.",
			LinkURL: s.portalPath(hc, "/password/forgot"), LinkText: "Ask for a new link"})
		return nil, false
	}
	if s.resetLinkProblem(c, hc, link) {
		return nil, false
	}
	return link, true
}

func (s *Site) resetForm(c *gin.Context, status int, hc *store.HelpCenter, link *store.PasswordReset, token string, problems []problem) {
	s.render(c, status, "reset.html", page{Title: "Choose a new password", HelpCenter: hc.Name, Action: s.portalPath(hc, "/password/reset"),
		CSRF: s.csrfToken(c), Token: token, Email: link.Email, Problems: problems, MinLength: credentials.MinPasswordLength})
}

// resetPage shows the new-password form. It changes nothing: mail
// scanners open links before people do.
func (s *Site) resetPage(c *gin.Context) {
	hc, ok := s.portalHelpCenter(c)
	if !ok {
		return
	}
	token := c.Query("token")
	link, ok := s.resetLinkFor(c, hc, token)
	if !ok {
		return
	}
	s.resetForm(c, http.StatusOK, hc, link, token, nil)
}

// resetSubmit sets the new password through the reset workflow: the
// password is hashed here and staged in Postgres, and the workflow learns
// only the stage's ID. Every session of the account ends; this browser
// gets a new one and lands on the home page.
func (s *Site) resetSubmit(c *gin.Context) {
	hc, ok := s.portalForm(c, "Open the link from your email again.")
	if !ok {
		return
	}
	token := c.PostForm("token")
	link, ok := s.resetLinkFor(c, hc, token)
	if !ok {
		return
	}
	password := c.PostForm(fieldPassword)
	if credentials.CheckPasswordRules(password) != nil {
		s.resetForm(c, http.StatusUnprocessableEntity, hc, link, token, fieldProblem(fieldPassword, passwordRulesMessage))
		return
	}
	if password != c.PostForm(fieldPasswordConfirm) {
		s.resetForm(c, http.StatusUnprocessableEntity, hc, link, token, fieldProblem(fieldPasswordConfirm, "The two passwords do not match."))
		return
	}
	ctx := c.Request.Context()
	hash, err := s.Hasher.Hash(ctx, password)
	if errors.Is(err, credentials.ErrBusy) {
		busy(c)
		s.resetForm(c, http.StatusServiceUnavailable, hc, link, token, formProblem(busyMessage))
		return
	}
	if err != nil {
		s.resetForm(c, http.StatusUnprocessableEntity, hc, link, token, fieldProblem(fieldPassword, "This password can't be used."))
		return
	}
	stageID := uuid.NewString()
	if err := s.Store.StageAccountPassword(ctx, stageID, link.AccountID, hash); err != nil {
		s.failed(c, hc.Name, "stage new password", err, "Your password was not changed.")
		return
	}
	handle, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: link.WorkflowID, UpdateName: workflows.ResetPasswordUpdate,
		Args: []any{workflows.ResetPasswordRequest{ResetID: link.ResetID, Generation: link.Generation, StageID: stageID,
			RequestID: portal.RequestID(ctx)}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = handle.Get(ctx, nil)
	}
	if err != nil {
		if derr := s.Store.DropCredential(ctx, stageID); derr != nil {
			s.Logger.Warn("drop unused staged password", "error", derr)
		}
		s.resetFailed(c, hc, link, err)
		return
	}
	s.Logger.Info("password reset", "account_id", link.AccountID, "help_center", hc.Slug)
	s.setNotice(c, hc, noticePasswordReset, 0)
	s.openSession(c, hc, link.AccountID)
}

// resetFailed explains a refused reset: the workflow's reason when it
// gave one, else what the database now says about the link.
func (s *Site) resetFailed(c *gin.Context, hc *store.HelpCenter, link *store.PasswordReset, err error) {
	var appErr *temporal.ApplicationError
	var gone *serviceerror.NotFound
	if errors.As(err, &appErr) || errors.As(err, &gone) {
		if fresh, ferr := s.Store.PasswordResetByToken(c.Request.Context(), link.TokenHash); ferr == nil {
			link = fresh
		}
		if s.resetLinkProblem(c, hc, link) {
			return
		}
		reason := ""
		if appErr != nil {
			reason = appErr.Type()
		}
		switch reason {
		case workflows.RejectPasswordBusy:
			s.message(c, http.StatusConflict, hc.Name, "Please try again", "Your password is being changed right now.", "Open the link again in a moment.")
			return
		case workflows.RejectResetLinkExpired, "":
			// The workflow ended: the link outlived nothing.
			s.render(c, http.StatusGone, "message.html", page{Title: "This link has expired", HelpCenter: hc.Name,
				Message: "Password reset links work for a limited time, and this one has run out.", Next: "Ask for a new link; it arrives in a minute or two.",
				LinkURL: s.portalPath(hc, "/password/forgot"), LinkText: "Ask for a new link"})
			return
		case workflows.RejectResetLinkReplaced, workflows.RejectResetLinkClosed, workflows.RejectStageNotFound:
			s.render(c, http.StatusGone, "message.html", page{Title: "This link no longer works", HelpCenter: hc.Name,
				Message: "This password reset link can't be used any more.", Next: "Ask for a new link from the login page.",
				LinkURL: s.portalPath(hc, "/password/forgot"), LinkText: "Ask for a new link"})
			return
		}
	}
	s.failed(c, hc.Name, "password reset", err, "Your password was not changed.", "reset_id", link.ResetID)
}

const passwordRulesMessage = "The password must be between 10 and 256 characters."

// changePassword lets a logged-in customer choose a new password, with
// the current one. Every session of the account ends, on every device;
// this browser gets a new session (a new ID after a credential change)
// and stays logged in. Wrong current passwords count as failed logins of
// the address, so a stolen session can't be used to guess the password.
func (s *Site) changePassword(c *gin.Context) {
	hc, ok := s.portalForm(c, "Reload the page and try again.")
	if !ok {
		return
	}
	ctx := c.Request.Context()
	u, err := s.sessionUser(c, hc)
	if errors.Is(err, store.ErrNotFound) {
		c.Redirect(http.StatusSeeOther, s.portalPath(hc, "/login"))
		return
	}
	if err != nil {
		s.failed(c, hc.Name, "session lookup", err, "Your password was not changed.")
		return
	}
	fail := func(status int, msg, field string) {
		s.renderHome(c, hc, u, status, homeForm{Problems: []problem{{Field: field, Message: msg}}})
	}
	unavailable := func(what string, err error) {
		s.failed(c, hc.Name, what, err, "Your password was not changed.", "account_id", u.AccountID)
	}
	password := c.PostForm(fieldPassword)
	switch {
	case credentials.CheckPasswordRules(password) != nil:
		fail(http.StatusUnprocessableEntity, "The new password must be between 10 and 256 characters.", fieldNewPassword)
		return
	case password != c.PostForm(fieldPasswordConfirm):
		fail(http.StatusUnprocessableEntity, "The two new passwords do not match.", fieldNewPasswordConfirm)
		return
	}
	key := s.Tokens.AddressKey(hc.AccountScope(), u.Email)
	wait, err := s.Store.LoginLocked(ctx, key)
	if err != nil {
		unavailable("login lock", err)
		return
	}
	if wait > 0 {
		c.Header("Retry-After", retrySeconds(wait))
		fail(http.StatusTooManyRequests, "Too many wrong passwords for this account. Please try again "+portal.RetryWords(wait)+".", fieldCurrentPassword)
		return
	}
	stored, err := s.Store.AccountPassword(ctx, u.AccountID)
	if err != nil {
		unavailable("account password", err)
		return
	}
	match := false
	if stored == nil {
		err = s.Hasher.CheckUnknown(ctx, c.PostForm(fieldCurrentPassword))
	} else {
		match, err = s.Hasher.Check(ctx, *stored, c.PostForm(fieldCurrentPassword))
	}
	if errors.Is(err, credentials.ErrBusy) {
		busy(c)
		fail(http.StatusServiceUnavailable, busyMessage, "")
		return
	}
	if !match {
		if _, err := s.Store.RecordLoginFailure(ctx, key, portal.DefaultLoginLockout); err != nil {
			s.Logger.Warn("record failed password check", "error", err)
		}
		fail(http.StatusUnprocessableEntity, "The current password is not correct.", fieldCurrentPassword)
		return
	}
	hash, err := s.Hasher.Hash(ctx, password)
	if errors.Is(err, credentials.ErrBusy) {
		busy(c)
		fail(http.StatusServiceUnavailable, busyMessage, "")
		return
	}
	if err != nil {
		fail(http.StatusUnprocessableEntity, "This password can't be used.", fieldNewPassword)
		return
	}
	stageID := uuid.NewString()
	if err := s.Store.StageAccountPassword(ctx, stageID, u.AccountID, hash); err != nil {
		unavailable("stage new password", err)
		return
	}
	if err := s.Start.ChangePassword(ctx, hc, u, stageID); err != nil {
		if derr := s.Store.DropCredential(ctx, stageID); derr != nil {
			s.Logger.Warn("drop unused staged password", "error", derr)
		}
		unavailable("change password", err)
		return
	}
	s.Logger.Info("password changed from home", "account_id", u.AccountID, "help_center", hc.Slug)
	s.setNotice(c, hc, noticePasswordChanged, 0)
	s.openSession(c, hc, u.AccountID)
}
