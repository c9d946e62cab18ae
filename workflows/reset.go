package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
)

// Message names of the password reset workflow.
const (
	// ResetRequestSignal asks for a reset link from a forgot-password
	// form. It is sent with start: it reaches the account's running reset,
	// or starts one.
	ResetRequestSignal = "request-reset"
	// ResetPasswordUpdate sets a new password through a reset link.
	ResetPasswordUpdate = "reset-password"
	// ChangePasswordUpdate changes the password from the home page; it is
	// sent with start, like a request.
	ChangePasswordUpdate = "change-password"
)

// PasswordResetWorkflowID is the ID of the password reset of the account
// that an address names in an account scope ("common", or a unique help
// center's own); addressKey is credentials.Tokens.AddressKey of the two,
// so the ID doesn't show the address. One reset runs per account: asking
// again reaches the running one.
func PasswordResetWorkflowID(scope, addressKey string) string {
	return "password-reset/" + scope + "/" + addressKey
}

// Password reset defaults.
const (
	DefaultResetLinkLifetime  = time.Hour
	DefaultResetEmailInterval = time.Minute
)

// resetStopsWhenUndeliverable: a reset told that one of its emails
// bounced for good or drew a complaint (DeliveryFailedSignal) sends no
// more links. Runs started before go on as they did.
const resetStopsWhenUndeliverable = "reset-stops-when-undeliverable"

// PasswordResetInput starts an account's password reset.
type PasswordResetInput struct {
	// Scope is the account scope the workflow ID names.
	Scope        string
	LinkLifetime Duration
	// EmailInterval is the least time between two reset emails; requests
	// in between send nothing, so the form can't flood a mailbox. The
	// workflow also ends only once nothing has happened for this long.
	EmailInterval Duration
	MailTaskQueue string `json:",omitempty"`
	// Resume carries the state across continue-as-new.
	Resume *PasswordResetState `json:",omitempty"`
}

// ResetRequest is one use of the forgot-password form of the help center
// HelpCenterID: RequestID names the stored request that holds the address
// as typed (store.AddResetRequest), so the address never enters history
// and erasing a person leaves none behind. Email is the address itself
// in requests sent before that; a run that still holds one passes it on.
type ResetRequest struct {
	HelpCenterID int64
	RequestID    string `json:",omitempty"`
	Email        string `json:",omitempty"`
}

// ResetPasswordRequest sets the password staged as StageID through the
// link of Generation of the reset ResetID. It carries neither the token
// nor the password.
type ResetPasswordRequest struct {
	ResetID    string
	Generation int
	StageID    string
}

// ChangePasswordRequest changes the password of AccountID, logged in to
// HelpCenterID, to the one staged as StageID.
type ChangePasswordRequest struct {
	AccountID    int64
	HelpCenterID int64
	StageID      string
}

// PasswordResetState is what the status query and the updates answer.
type PasswordResetState struct {
	// ResetID is the first run's ID; with a generation it derives a link's
	// token.
	ResetID    string
	WorkflowID string
	Status     portal.ResetStatus
	// AccountID and HelpCenterID: the account and the help center of the
	// current link.
	AccountID    int64 `json:",omitempty"`
	HelpCenterID int64 `json:",omitempty"`
	Generation   int
	ExpiresAt    time.Time
	// LinkClosed: the current link was used, or the password changed.
	LinkClosed bool
	LastSentAt time.Time
	// LastActivityAt is the last request that ran, or password change.
	LastActivityAt time.Time
	Requests       int
	EmailsSent     int
	// Throttled counts requests within EmailInterval of the last email:
	// they sent nothing.
	Throttled int
	// NoLink counts requests that named no account that may reset here.
	NoLink int
	// UndeliverableReason: the provider reported an email of this reset
	// bounced or complained of; Undelivered counts the requests that
	// sent nothing since.
	UndeliverableReason portal.UndeliverableReason `json:",omitempty"`
	Undelivered         int                        `json:",omitempty"`
	Changes             int
	ChangedAt           time.Time
	// Notices are "password changed" emails still to send.
	Notices []activities.PasswordChangedInput `json:",omitempty"`
}

// Reasons a password reset or change is refused; the page explains each.
const (
	RejectResetLinkExpired  = "ResetLinkExpired"
	RejectResetLinkReplaced = "ResetLinkReplaced"
	// RejectResetLinkClosed: used, the password changed since, or the
	// account is no longer active.
	RejectResetLinkClosed = "ResetLinkClosed"
	RejectPasswordBusy    = "PasswordChangeInProgress"
	RejectStageNotFound   = "StagedPasswordNotFound"
)

type passwordReset struct {
	in    PasswordResetInput
	state PasswordResetState
	// changing: an update is applying a password.
	changing bool
	// stops: this run heeds DeliveryFailedSignal
	// (resetStopsWhenUndeliverable).
	stops bool
}

// PasswordReset drives an account's password resets and changes: it
// emails a reset link for each request (at most one per EmailInterval;
// each new link replaces the last and extends the deadline), applies a
// new password from the link or from the home page, then sends the
// "password changed" notice. It ends when no link works and nothing has
// happened for EmailInterval.
func PasswordReset(ctx workflow.Context, in PasswordResetInput) (PasswordResetState, error) {
	if in.LinkLifetime <= 0 {
		in.LinkLifetime = Duration(DefaultResetLinkLifetime)
	}
	if in.EmailInterval <= 0 {
		in.EmailInterval = Duration(DefaultResetEmailInterval)
	}
	w := &passwordReset{in: in}
	if in.Resume != nil {
		w.state = *in.Resume
	} else {
		info := workflow.GetInfo(ctx)
		w.state = PasswordResetState{ResetID: info.FirstRunID, WorkflowID: info.WorkflowExecution.ID,
			Status: portal.ResetIdle, LastActivityAt: workflow.Now(ctx)}
	}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (PasswordResetState, error) { return w.state, nil }); err != nil {
		return w.state, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, ResetPasswordUpdate, w.reset,
		workflow.UpdateHandlerOptions{Validator: w.validateReset}); err != nil {
		return w.state, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, ChangePasswordUpdate, w.change,
		workflow.UpdateHandlerOptions{Validator: w.validateChange}); err != nil {
		return w.state, err
	}
	return w.run(withActivityOptions(ctx))
}

// run acts on every request and owed notice until no link works and all
// is quiet: notices first, then requests (never while a password is
// being applied), then a wait for the next message or the quiet end.
func (w *passwordReset) run(ctx workflow.Context) (PasswordResetState, error) {
	requests := workflow.GetSignalChannel(ctx, ResetRequestSignal)
	failed := workflow.GetSignalChannel(ctx, DeliveryFailedSignal)
	w.stops = workflow.GetVersion(ctx, resetStopsWhenUndeliverable, workflow.DefaultVersion, 1) == 1
	wakes := func() bool {
		return len(w.state.Notices) > 0 || (!w.changing && requests.Len() > 0) || (w.stops && failed.Len() > 0)
	}
	for {
		var f DeliveryFailed
		if w.stops && failed.ReceiveAsync(&f) {
			if w.state.UndeliverableReason == "" {
				w.state.UndeliverableReason = f.Reason
				workflow.GetLogger(ctx).Info("the reset's address takes no mail; no more links are sent", "reason", f.Reason)
			}
			continue
		}
		if len(w.state.Notices) > 0 {
			w.notify(ctx)
			continue
		}
		var req ResetRequest
		if !w.changing && requests.ReceiveAsync(&req) {
			if err := w.request(ctx, req); err != nil {
				return w.state, err
			}
			continue
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() && workflow.AllHandlersFinished(ctx) {
			return w.state, workflow.NewContinueAsNewError(ctx, PasswordReset, w.next())
		}
		wait := w.quietUntil().Sub(workflow.Now(ctx))
		if wait <= 0 {
			// Nothing waits and no message came since the checks above
			// (nothing yielded): end here. A request arriving now makes the
			// server refuse the completion and replay with it.
			if workflow.AllHandlersFinished(ctx) {
				break
			}
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) || wakes() }); err != nil {
				return w.state, err
			}
			continue
		}
		if _, err := workflow.AwaitWithTimeout(ctx, wait, wakes); err != nil {
			return w.state, err
		}
	}
	if w.state.Status == portal.ResetWaiting {
		w.state.Status = portal.ResetExpired
	}
	return w.state, nil
}

// quietUntil is when the workflow may end: once the current link expired
// and EmailInterval passed since the last thing it did.
func (w *passwordReset) quietUntil() time.Time {
	t := w.state.LastActivityAt.Add(w.in.EmailInterval.Std())
	if w.state.Generation > 0 && !w.state.LinkClosed && w.state.ExpiresAt.After(t) {
		t = w.state.ExpiresAt
	}
	return t
}

func (w *passwordReset) mail(ctx workflow.Context) workflow.Context {
	if w.in.MailTaskQueue == "" {
		return ctx
	}
	return workflow.WithTaskQueue(ctx, w.in.MailTaskQueue)
}

// request issues and emails a new link, replacing the last one and
// extending the deadline, unless an email went out less than
// EmailInterval ago. An address with no account that may reset here gets
// nothing.
func (w *passwordReset) request(ctx workflow.Context, req ResetRequest) error {
	logger := workflow.GetLogger(ctx)
	now := workflow.Now(ctx)
	w.state.Requests++
	if w.state.UndeliverableReason != "" {
		w.state.Undelivered++
		logger.Info("reset link asked for an address that takes no mail; nothing sent", "reason", w.state.UndeliverableReason)
		return nil
	}
	if !w.state.LastSentAt.IsZero() && now.Before(w.state.LastSentAt.Add(w.in.EmailInterval.Std())) {
		w.state.Throttled++
		logger.Info("reset link asked for again within the email interval; nothing sent", "last_sent_at", w.state.LastSentAt)
		return nil
	}
	w.state.LastActivityAt = now
	gen := w.state.Generation + 1
	expires := now.Add(w.in.LinkLifetime.Std())
	var a *activities.Activities
	var got activities.ResetIssued
	if err := workflow.ExecuteActivity(ctx, a.IssuePasswordReset, activities.IssueResetInput{
		ResetID: w.state.ResetID, WorkflowID: w.state.WorkflowID, Scope: w.in.Scope,
		HelpCenterID: req.HelpCenterID, RequestID: req.RequestID, Email: req.Email, Generation: gen, ExpiresAt: expires,
	}).Get(ctx, &got); err != nil {
		return err
	}
	if !got.Issued {
		w.state.NoLink++
		return nil
	}
	w.state.Generation, w.state.ExpiresAt, w.state.LinkClosed = gen, expires, false
	w.state.AccountID, w.state.HelpCenterID, w.state.Status = got.AccountID, req.HelpCenterID, portal.ResetWaiting
	w.state.LastSentAt = now
	err := sendEmail(w.mail(ctx), a.SendPasswordReset, activities.ResetEmailInput{
		ResetID: w.state.ResetID, Generation: gen, LinkLifetime: w.in.LinkLifetime.Std(),
	})
	if isUndeliverable(err) {
		logger.Warn("reset email undeliverable", "generation", gen, "error", err)
		return nil
	}
	if err != nil {
		return err
	}
	w.state.EmailsSent++
	logger.Info("reset link sent", "generation", gen, "expires_at", expires)
	return nil
}

// validateReset refuses a reset before it enters history, so the page
// learns at once why a link no longer works.
func (w *passwordReset) validateReset(ctx workflow.Context, req ResetPasswordRequest) error {
	switch {
	case req.StageID == "":
		return temporal.NewApplicationError("no password staged", "BadRequest")
	case w.changing:
		return temporal.NewApplicationError("a password change is in progress", RejectPasswordBusy)
	case req.ResetID != w.state.ResetID || req.Generation <= 0 || req.Generation != w.state.Generation:
		return temporal.NewApplicationError("a newer link replaced this one", RejectResetLinkReplaced)
	case w.state.LinkClosed:
		return temporal.NewApplicationError("the link was used, or the password changed since", RejectResetLinkClosed)
	case !workflow.Now(ctx).Before(w.state.ExpiresAt):
		return temporal.NewApplicationError("the reset link expired", RejectResetLinkExpired)
	}
	return nil
}

// reset sets the new password from the link: one transaction ends every
// session and closes every link. The notice follows from the main loop.
func (w *passwordReset) reset(ctx workflow.Context, req ResetPasswordRequest) (PasswordResetState, error) {
	// Two updates delivered together both pass the validator before
	// either handler runs; the second waits its turn and is judged again.
	if err := workflow.Await(ctx, func() bool { return !w.changing }); err != nil {
		return w.state, err
	}
	if err := w.validateReset(ctx, req); err != nil {
		return w.state, err
	}
	w.changing = true
	defer func() { w.changing = false }()
	var a *activities.Activities
	err := workflow.ExecuteActivity(withActivityOptions(ctx), a.ApplyPasswordReset, activities.ApplyResetInput{
		ResetID: req.ResetID, Generation: req.Generation, StageID: req.StageID,
	}).Get(ctx, nil)
	if err := refusal(err); err != nil {
		return w.state, err
	}
	w.changed(ctx, w.state.AccountID, w.state.HelpCenterID)
	return w.state, nil
}

func (w *passwordReset) validateChange(_ workflow.Context, req ChangePasswordRequest) error {
	if req.StageID == "" || req.AccountID <= 0 || req.HelpCenterID <= 0 {
		return temporal.NewApplicationError("a change needs an account, a help center and a staged password", "BadRequest")
	}
	return nil
}

// change sets a new password chosen on the home page; like a reset, it
// ends every session and closes every link.
func (w *passwordReset) change(ctx workflow.Context, req ChangePasswordRequest) (PasswordResetState, error) {
	if err := workflow.Await(ctx, func() bool { return !w.changing }); err != nil {
		return w.state, err
	}
	w.changing = true
	defer func() { w.changing = false }()
	var a *activities.Activities
	err := workflow.ExecuteActivity(withActivityOptions(ctx), a.ChangePassword, activities.ChangePasswordInput{
		AccountID: req.AccountID, StageID: req.StageID,
	}).Get(ctx, nil)
	if err := refusal(err); err != nil {
		return w.state, err
	}
	w.changed(ctx, req.AccountID, req.HelpCenterID)
	return w.state, nil
}

// refusal turns an activity's lasting refusal into the update's answer.
func refusal(err error) error {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return err
	}
	switch appErr.Type() {
	case activities.ErrTypeNotPending:
		return temporal.NewApplicationError("the link no longer works", RejectResetLinkClosed)
	case activities.ErrTypeNotFound:
		return temporal.NewApplicationError("the staged password is gone", RejectStageNotFound)
	}
	return err
}

// changed records a new password; every link is dead, and a notice is
// owed naming the help center where it changed.
func (w *passwordReset) changed(ctx workflow.Context, accountID, helpCenterID int64) {
	now := workflow.Now(ctx)
	w.state.LinkClosed, w.state.Status = true, portal.ResetChanged
	w.state.Changes++
	w.state.ChangedAt, w.state.LastActivityAt = now, now
	w.state.Notices = append(w.state.Notices, activities.PasswordChangedInput{
		ResetID: w.state.ResetID, Seq: w.state.Changes, AccountID: accountID, HelpCenterID: helpCenterID,
	})
	workflow.GetLogger(ctx).Info("password changed", "account_id", accountID, "help_center_id", helpCenterID)
}

// notify sends the oldest owed notice. It is at most once: a notice that
// can't be sent is logged and dropped, and the change stands.
func (w *passwordReset) notify(ctx workflow.Context) {
	var a *activities.Activities
	n := w.state.Notices[0]
	if err := sendEmail(w.mail(ctx), a.SendPasswordChanged, n); err != nil {
		workflow.GetLogger(ctx).Warn("password changed notice not sent", "seq", n.Seq, "error", err)
	}
	w.state.Notices = w.state.Notices[1:]
}

func (w *passwordReset) next() PasswordResetInput {
	next := w.in
	state := w.state
	next.Resume = &state
	return next
}
