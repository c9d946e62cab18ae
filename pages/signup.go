package pages

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

func (s *Site) signupClosed(c *gin.Context, hc *store.HelpCenter) bool {
	if hc.SelfSignup {
		return false
	}
	s.message(c, http.StatusForbidden, hc.Name, "Sign-up is closed",
		"This help center gives accounts by invitation only.", "Ask the support team to invite you.")
	return true
}

// signupForm shows the sign-up form with what the person typed
// (passwords aside) and the problems, each tied to its field.
func (s *Site) signupForm(c *gin.Context, status int, hc *store.HelpCenter, name, email string, problems []problem) {
	s.render(c, status, "signup.html", page{Title: "Sign up", HelpCenter: hc.Name, Action: s.portalPath(hc, "/signup"),
		CSRF: s.csrfToken(c), Name: name, Email: email, Problems: problems, MinLength: credentials.MinPasswordLength,
		Description: "Create an account in the " + hc.Name + " help center to send requests and follow them."})
}

func (s *Site) signupPage(c *gin.Context) {
	hc, ok := s.portalHelpCenter(c)
	if !ok || s.signupClosed(c, hc) {
		return
	}
	s.signupForm(c, http.StatusOK, hc, "", "", nil)
}

// signupSubmit starts a sign-up. Every address gets the same answer, so
// the page never tells whether an account exists; an address that already
// has one gets an email saying so instead of a second account.
func (s *Site) signupSubmit(c *gin.Context) {
	hc, ok := s.portalForm(c, "Reload the page and try again.")
	if !ok {
		return
	}
	if s.signupClosed(c, hc) {
		return
	}
	// The name goes into the verification email sent to whatever address
	// is typed here: the portal's rule for names keeps links and control
	// characters out of it.
	name, nameErr := portal.CleanPersonName(c.PostForm("name"))
	rawEmail := strings.TrimSpace(c.PostForm("email"))
	password := c.PostForm("password")
	email, ok := portal.NormalizeEmail(rawEmail)
	invalid := func(field, problem string) {
		s.signupForm(c, http.StatusUnprocessableEntity, hc, name, rawEmail, fieldProblem(field, problem))
	}
	switch {
	case nameErr != nil:
		invalid(fieldName, nameProblem(nameErr))
		return
	case !ok:
		invalid(fieldEmail, "Enter a valid email address, such as ada@example.com.")
		return
	case credentials.CheckPasswordRules(password) != nil:
		invalid(fieldPassword, passwordRulesMessage)
		return
	case password != c.PostForm("password_confirm"):
		invalid(fieldPasswordConfirm, "The two passwords do not match.")
		return
	}
	// Hash first, whatever happens next, so every branch costs the same.
	hash, err := s.Hasher.Hash(c.Request.Context(), password)
	if errors.Is(err, credentials.ErrBusy) {
		busy(c)
		s.signupForm(c, http.StatusServiceUnavailable, hc, name, email, formProblem(busyMessage))
		return
	}
	if err == nil {
		err = s.Start.Signup(c.Request.Context(), hc, email, name, hash)
	}
	if err != nil {
		s.failed(c, hc.Name, "sign-up", err, "Your sign-up was not received.")
		return
	}
	s.message(c, http.StatusOK, hc.Name, "Check your email",
		"We sent a message to "+email+". Open the link in it to finish signing up.",
		"The link is valid for "+mail.FormatLifetime(time.Duration(hc.InvitePolicy.LinkLifetimeHours)*time.Hour)+".")
}

// nameProblem says, as a sentence for the form, why a name was refused.
func nameProblem(err error) string {
	switch {
	case errors.Is(err, portal.ErrNameMissing):
		return "Please give your name."
	case errors.Is(err, portal.ErrNameTooLong):
		return "Please give your name in at most 200 characters."
	case errors.Is(err, portal.ErrNameLink):
		return "Please give your name without a web address."
	default:
		return "Please give your name without line breaks or control characters."
	}
}

// signupForToken finds a verification link's sign-up, or renders why the
// link is no good.
func (s *Site) signupForToken(c *gin.Context, hc *store.HelpCenter, token string) (*store.Signup, bool) {
	if token == "" || len(token) > 128 {
		s.message(c, http.StatusBadRequest, hc.Name, "Link incomplete", "This link is incomplete.", "Copy the whole link from the email into your browser.")
		return nil, false
	}
	su, err := s.Store.SignupByToken(c.Request.Context(), credentials.Hash(token))
	if err != nil || su.HelpCenterID != hc.ID {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.Logger.Error("sign-up by token", "error", err)
		}
		s.message(c, http.StatusNotFound, hc.Name, "Link not valid", "This sign-up link is not valid.", "Check that you copied the whole link from the email.")
		return nil, false
	}
	if s.signupDone(c, hc, su) {
		return nil, false
	}
	return su, true
}

// signupDone renders the page for a sign-up that is past verification,
// and reports whether it did.
func (s *Site) signupDone(c *gin.Context, hc *store.HelpCenter, su *store.Signup) bool {
	switch {
	case su.Status == portal.SignupActive:
		s.render(c, http.StatusConflict, "message.html", page{Title: "Your account is active", HelpCenter: hc.Name,
			Message: "This address is already confirmed.", LinkURL: s.portalPath(hc, "/login"), LinkText: "Go to the login page"})
	case su.Status == portal.SignupPendingApproval:
		s.message(c, http.StatusOK, hc.Name, "Waiting for approval", "Your email address is confirmed. The help center reviews new accounts; you will get an email when yours is approved.", "")
	case su.Status == portal.SignupVerifying && su.ExpiresAt != nil && time.Now().Before(*su.ExpiresAt):
		return false
	default:
		s.message(c, http.StatusGone, hc.Name, "Link expired", "This sign-up link has expired or was replaced by a newer one.", "Sign up again to get a new link.")
	}
	return true
}

// verifyPage asks the customer to confirm; opening the link changes
// nothing, since mail scanners open links too.
func (s *Site) verifyPage(c *gin.Context) {
	hc, ok := s.portalHelpCenter(c)
	if !ok {
		return
	}
	token := c.Query("token")
	su, ok := s.signupForToken(c, hc, token)
	if !ok {
		return
	}
	s.verifyForm(c, http.StatusOK, hc, su, token, nil)
}

func (s *Site) verifyForm(c *gin.Context, status int, hc *store.HelpCenter, su *store.Signup, token string, problems []problem) {
	p := page{Title: "Confirm your email", HelpCenter: hc.Name, Action: s.portalPath(hc, "/signup/verify"),
		CSRF: s.csrfToken(c), Token: token, Problems: problems}
	if ct, err := s.Store.ContactByID(c.Request.Context(), su.ContactID); err == nil {
		p.Email = ct.EmailAddress()
	}
	s.render(c, status, "verify.html", p)
}

func (s *Site) verifySubmit(c *gin.Context) {
	hc, ok := s.portalForm(c, "Open the link from your email again.")
	if !ok {
		return
	}
	token := c.PostForm("token")
	su, ok := s.signupForToken(c, hc, token)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	// Owning the mailbox is not enough: the person confirming must know
	// the password chosen at sign-up. Otherwise anyone could sign up with
	// someone else's address and wait for them to click, holding the
	// password to their account.
	staged, err := s.Store.SignupPassword(ctx, su.ID)
	if err != nil {
		s.failed(c, hc.Name, "staged sign-up password", err, "Your address was not confirmed.")
		return
	}
	ok, err = s.Hasher.Check(ctx, staged, c.PostForm("password"))
	if errors.Is(err, credentials.ErrBusy) {
		busy(c)
		s.verifyForm(c, http.StatusServiceUnavailable, hc, su, token, formProblem(busyMessage))
		return
	}
	if !ok {
		s.verifyForm(c, http.StatusUnauthorized, hc, su, token, fieldProblem(fieldPassword, "That is not the password chosen when signing up."))
		return
	}
	handle, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: su.WorkflowID, UpdateName: workflows.VerifyUpdate, Args: []any{workflows.VerifyRequest{SignupID: su.ID}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var st workflows.SignupState
	if err == nil {
		err = handle.Get(ctx, &st)
	}
	if err != nil {
		if fresh, ferr := s.Store.SignupByID(ctx, su.ID); ferr == nil && fresh.Status != portal.SignupVerifying {
			s.signupDone(c, hc, fresh)
			return
		}
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			s.message(c, http.StatusGone, hc.Name, "Link expired", "This sign-up link has expired or was replaced by a newer one.", "Sign up again to get a new link.")
			return
		}
		s.failed(c, hc.Name, "verify sign-up", err, "Your address was not confirmed.")
		return
	}
	if st.Status == portal.SignupActive {
		s.startSession(c, hc, su.ContactID)
		return
	}
	s.message(c, http.StatusOK, hc.Name, "Waiting for approval", "Your email address is confirmed. The help center reviews new accounts; you will get an email when yours is approved.", "")
}
