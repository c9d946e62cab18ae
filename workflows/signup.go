package workflows

import (
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
)

// Message names of the sign-up workflow.
const (
	// VerifyUpdate confirms the address from the emailed link.
	VerifyUpdate = "verify"
	// RequestUpdate carries a sign-up form sent for the run's address and
	// help center. The starter sends it with the start: a new run answers
	// for itself, while one already waiting for its link answers with its
	// own sign-up and, at most once per ResendInterval, sends the same
	// link again.
	RequestUpdate = "request"
	// ApproveSignal and RejectSignal carry an admin's decision; they stay
	// for callers of older versions.
	ApproveSignal = "approve"
	RejectSignal  = "reject"
	// ApproveUpdate and RejectUpdate carry an admin's decision as an
	// update naming the sign-up (DecisionRequest), answered once the
	// decision is recorded, or refused with RejectSignupNotWaiting.
	ApproveUpdate = "approve"
	RejectUpdate  = "reject"
)

// DecisionRequest names the sign-up an admin decides on, so a decision
// never reaches a later sign-up of the same contact under the same
// workflow ID.
type DecisionRequest struct {
	SignupID string
	// Actor and RequestID name who decided, for the audit event written
	// with the decision (IDs only).
	Actor     string
	RequestID string
}

// SignupWorkflowID is the ID of a contact's sign-up to a help center: one
// runs at a time, and a repeated sign-up reaches the running one.
func SignupWorkflowID(helpCenterSlug string, contactID int64) string {
	return "signup/" + helpCenterSlug + "/" + strconv.FormatInt(contactID, 10)
}

// Sign-up defaults.
const (
	DefaultSignupLinkLifetime = 7 * 24 * time.Hour
	DefaultApprovalTimeout    = 30 * 24 * time.Hour
	// DefaultSignupResendInterval is how often a repeated sign-up may send
	// the verification link again: enough for someone whose email was
	// slow or lost, too rarely to flood a stranger's mailbox by sending
	// the form with their address over and over.
	DefaultSignupResendInterval = 5 * time.Minute
)

// signupResendOnRequest: a repeated sign-up reaches the running one (the
// request update) and may send its link again, instead of terminating it
// and starting afresh. Runs started before wait for their link as they
// did and send nothing more; a repeat only gets their state.
const signupResendOnRequest = "signup-resend-on-request"

// signupDecisionAudited approves through ApproveSignup, which records who
// approved in the same transaction; runs that got further before it
// activate as they did.
const signupDecisionAudited = "signup-decision-audited"

// signupClosesUndeliverable: a sign-up whose verification email bounced
// for good or drew a complaint (DeliveryFailedSignal), or whose address
// the provider refused, closes as undeliverable and sends nothing more.
// Runs started before wait for their link as they did.
const signupClosesUndeliverable = "signup-closes-undeliverable"

// SignupInput starts a sign-up.
type SignupInput struct {
	SignupID       string
	HelpCenterID   int64
	HelpCenterSlug string
	NeedsApproval  bool
	LinkLifetime   Duration
	// ApprovalTimeout bounds the wait for an admin; an unanswered request
	// expires.
	ApprovalTimeout Duration
	// AccountExists: the address already has an account here, so the
	// person gets a notice instead of a second account.
	AccountExists bool
	MailTaskQueue string
	// ResendInterval is how long after the last verification email a
	// repeated sign-up may send it again. It is an input, not a constant
	// of the code, so changing it never changes what a recorded run did.
	ResendInterval Duration
}

// SignupState is what the status query and the verify and request
// updates answer.
type SignupState struct {
	SignupID  string
	Status    portal.SignupStatus
	ExpiresAt time.Time
	// LastSentAt is when the verification link was last emailed; Resends
	// counts the times a repeated sign-up sent it again.
	LastSentAt time.Time
	Resends    int
	// UndeliverableReason says why an undeliverable sign-up is one.
	UndeliverableReason portal.UndeliverableReason `json:",omitempty"`
}

// SignupRequest names the sign-up that a form submission recorded; a run
// serving another one leaves it unused.
type SignupRequest struct {
	SignupID string
}

// VerifyRequest names the sign-up whose link was opened: the link of an
// earlier sign-up of the contact (a run that ended) fails.
type VerifyRequest struct {
	SignupID string
}

// Reasons a verification is refused.
const (
	RejectSignupExpired = "SignupExpired"
	RejectSignupDone    = "SignupAlreadyVerified"
)

type signup struct {
	in        SignupInput
	state     SignupState
	verifying bool
	verified  bool
	// resends: this run sends the link again on request
	// (signupResendOnRequest); resendWanted: a request asked for it.
	resends, resendWanted bool
	// decisions carries an admin's decision from its update to the wait;
	// deciding: one is on its way; decided: the decision, or the expiry
	// that beat it, is recorded.
	decisions         workflow.Channel
	deciding, decided bool
	// decider is who decided, from the decision's update.
	decider DecisionRequest
	// undeliverable: this run closes when its address takes no mail
	// (signupClosesUndeliverable); failed: the provider's report that an
	// email of this sign-up bounced or was complained of.
	undeliverable bool
	failed        *DeliveryFailed
}

// Signup drives a customer's own sign-up: a verification email, the wait
// for its link, then (where the help center wants it) an admin's
// decision. The account is active only at the end.
func Signup(ctx workflow.Context, in SignupInput) (SignupState, error) {
	if in.LinkLifetime <= 0 {
		in.LinkLifetime = Duration(DefaultSignupLinkLifetime)
	}
	if in.ApprovalTimeout <= 0 {
		in.ApprovalTimeout = Duration(DefaultApprovalTimeout)
	}
	w := &signup{in: in, state: SignupState{SignupID: in.SignupID, Status: portal.SignupVerifying}}
	w.decisions = workflow.NewBufferedChannel(ctx, 1)
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (SignupState, error) { return w.state, nil }); err != nil {
		return w.state, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, VerifyUpdate, w.verify, workflow.UpdateHandlerOptions{Validator: w.validateVerify}); err != nil {
		return w.state, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, RequestUpdate, w.request, workflow.UpdateHandlerOptions{Validator: validateRequest}); err != nil {
		return w.state, err
	}
	// No version gate: a handler writes nothing to history, and a decision
	// by update records what the signal's did.
	for _, name := range []string{ApproveUpdate, RejectUpdate} {
		decide := func(ctx workflow.Context, req DecisionRequest) (SignupState, error) {
			if !w.deciding {
				w.decider = req
			}
			return w.decide(ctx, name)
		}
		if err := workflow.SetUpdateHandlerWithOptions(ctx, name, decide, workflow.UpdateHandlerOptions{Validator: w.validateDecision}); err != nil {
			return w.state, err
		}
	}
	w.resends = workflow.GetVersion(ctx, signupResendOnRequest, workflow.DefaultVersion, 1) == 1 && in.ResendInterval > 0
	if w.undeliverable = workflow.GetVersion(ctx, signupClosesUndeliverable, workflow.DefaultVersion, 1) == 1; w.undeliverable {
		failed := workflow.GetSignalChannel(ctx, DeliveryFailedSignal)
		prefix := "signup/" + in.SignupID + "/"
		workflow.Go(ctx, func(ctx workflow.Context) {
			for {
				var f DeliveryFailed
				failed.Receive(ctx, &f)
				// An email of an earlier sign-up of the address says
				// nothing of this one's.
				if w.failed == nil && strings.HasPrefix(f.EmailKey, prefix) {
					w.failed = &f
				}
			}
		})
	}
	return w.run(withActivityOptions(ctx))
}

// validateDecision refuses a decision on another sign-up, or on one not
// (or no longer) waiting for an admin, before it enters history.
func (w *signup) validateDecision(_ workflow.Context, req DecisionRequest) error {
	if req.SignupID != w.in.SignupID || w.deciding || w.state.Status != portal.SignupPendingApproval {
		return temporal.NewApplicationError("the sign-up is not waiting for a decision", RejectSignupNotWaiting)
	}
	return nil
}

// decide hands the decision to the wait and answers once it is recorded.
// The approval timeout may have expired the request meanwhile.
func (w *signup) decide(ctx workflow.Context, name string) (SignupState, error) {
	if w.deciding || w.state.Status != portal.SignupPendingApproval {
		return w.state, temporal.NewApplicationError("the sign-up is not waiting for a decision", RejectSignupNotWaiting)
	}
	w.deciding = true
	workflow.GetLogger(ctx).Info("admin decision on the sign-up", "decision", name)
	w.decisions.SendAsync(name)
	if err := workflow.Await(ctx, func() bool { return w.decided }); err != nil {
		return w.state, err
	}
	want := portal.SignupActive
	if name == RejectUpdate {
		want = portal.SignupRejected
	}
	if w.state.Status != want {
		return w.state, temporal.NewApplicationError("the sign-up expired before the decision", RejectSignupNotWaiting)
	}
	return w.state, nil
}

func validateRequest(_ workflow.Context, req SignupRequest) error {
	if req.SignupID == "" {
		return temporal.NewApplicationError("the request names no sign-up", "InvalidRequest")
	}
	return nil
}

// request answers a sign-up form sent for this run's address. A repeat
// (another sign-up ID) while the link waits, and long enough after the
// last send, asks the run to send the link again; the run's state is the
// answer either way, and the form's own sign-up stays unused.
func (w *signup) request(ctx workflow.Context, req SignupRequest) (SignupState, error) {
	if req.SignupID != w.in.SignupID && w.resends && w.state.Status == portal.SignupVerifying &&
		!w.verifying && !w.verified && !w.state.LastSentAt.IsZero() &&
		!workflow.Now(ctx).Before(w.state.LastSentAt.Add(w.in.ResendInterval.Std())) {
		w.resendWanted = true
	}
	return w.state, nil
}

func (w *signup) mail(ctx workflow.Context) workflow.Context {
	if w.in.MailTaskQueue == "" {
		return ctx
	}
	return workflow.WithTaskQueue(ctx, w.in.MailTaskQueue)
}

func (w *signup) validateVerify(ctx workflow.Context, req VerifyRequest) error {
	switch {
	case req.SignupID != w.in.SignupID:
		return temporal.NewApplicationError("a newer sign-up replaced this link", RejectSignupExpired)
	case w.verifying || w.verified:
		return temporal.NewApplicationError("the address is already confirmed", RejectSignupDone)
	case w.state.Status != portal.SignupVerifying || w.state.ExpiresAt.IsZero() || !workflow.Now(ctx).Before(w.state.ExpiresAt):
		return temporal.NewApplicationError("the sign-up link expired", RejectSignupExpired)
	}
	return nil
}

// verify confirms the address and, with no approval needed, activates the
// account before answering, so the page can log the customer in.
func (w *signup) verify(ctx workflow.Context, _ VerifyRequest) (SignupState, error) {
	if w.verifying || w.verified {
		return w.state, temporal.NewApplicationError("the address is already confirmed", RejectSignupDone)
	}
	w.verifying = true
	defer func() { w.verifying = false }()
	ctx = withActivityOptions(ctx)
	var a *activities.Activities
	if err := workflow.ExecuteActivity(ctx, a.VerifySignup, activities.VerifySignupInput{
		SignupID: w.in.SignupID, NeedsApproval: w.in.NeedsApproval,
	}).Get(ctx, nil); err != nil {
		return w.state, err
	}
	w.verified = true
	if w.in.NeedsApproval {
		w.state.Status = portal.SignupPendingApproval
		return w.state, nil
	}
	if err := workflow.ExecuteActivity(ctx, a.ActivateSignup, w.in.SignupID).Get(ctx, nil); err != nil {
		return w.state, err
	}
	w.state.Status = portal.SignupActive
	return w.state, nil
}

func (w *signup) run(ctx workflow.Context) (SignupState, error) {
	var a *activities.Activities
	if w.in.AccountExists {
		if err := sendEmail(w.mail(ctx), a.SendSignupEmail, activities.SignupEmailInput{SignupID: w.in.SignupID, Kind: portal.EmailAccountExists}); err != nil {
			return w.state, err
		}
		// The sign-up itself goes no further.
		return w.close(ctx, portal.SignupExpired, "")
	}
	expires := workflow.Now(ctx).Add(w.in.LinkLifetime.Std())
	if err := workflow.ExecuteActivity(ctx, a.IssueSignupToken, activities.SignupTokenInput{SignupID: w.in.SignupID, ExpiresAt: expires}).Get(ctx, nil); err != nil {
		return w.state, err
	}
	w.state.ExpiresAt = expires
	if err := sendEmail(w.mail(ctx), a.SendSignupEmail, activities.SignupEmailInput{SignupID: w.in.SignupID, Kind: portal.EmailSignupVerify}); err != nil {
		if w.undeliverable && isUndeliverable(err) {
			w.failed = &DeliveryFailed{Reason: undeliverableReason(err)}
			return w.closeUndeliverable(ctx)
		}
		return w.state, err
	}
	w.state.LastSentAt = workflow.Now(ctx)

	var ok bool
	var err error
	if w.resends {
		ok, err = w.awaitLink(ctx)
	} else {
		ok, err = workflow.AwaitWithTimeout(ctx, w.in.LinkLifetime.Std(), func() bool { return w.verified || w.failed != nil })
		ok = ok && w.verified
	}
	if err != nil {
		return w.state, err
	}
	// A verify in flight when the link expires decides first.
	if err := workflow.Await(ctx, func() bool { return !w.verifying }); err != nil {
		return w.state, err
	}
	if !ok && !w.verified {
		if w.failed != nil {
			return w.closeUndeliverable(ctx)
		}
		return w.close(ctx, portal.SignupExpired, "")
	}
	if w.in.NeedsApproval {
		if err := w.awaitDecision(ctx); err != nil {
			return w.state, err
		}
	}
	return w.state, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// awaitLink waits for the link to be used until it expires, sending the
// same link again when a repeated sign-up asks for it. It reports whether
// the address was verified before the deadline.
func (w *signup) awaitLink(ctx workflow.Context) (bool, error) {
	var a *activities.Activities
	for {
		left := w.state.ExpiresAt.Sub(workflow.Now(ctx))
		if left <= 0 {
			return w.verified, nil
		}
		woken, err := workflow.AwaitWithTimeout(ctx, left, func() bool { return w.verified || w.resendWanted || w.failed != nil })
		if err != nil || w.verified || !woken || w.failed != nil {
			return w.verified, err
		}
		w.resendWanted = false
		w.state.Resends++
		w.state.LastSentAt = workflow.Now(ctx)
		// The first email went out, so the address takes mail; a failure
		// now is no reason to end the sign-up.
		if err := sendEmail(w.mail(ctx), a.SendSignupEmail, activities.SignupEmailInput{
			SignupID: w.in.SignupID, Kind: portal.EmailSignupVerify, Resend: w.state.Resends,
		}); err != nil {
			workflow.GetLogger(ctx).Warn("verification link not sent again", "resend", w.state.Resends, "error", err)
		}
	}
}

// awaitDecision waits for an admin to approve or reject; no answer within
// the approval timeout expires the request.
func (w *signup) awaitDecision(ctx workflow.Context) error {
	var a *activities.Activities
	approve := workflow.GetSignalChannel(ctx, ApproveSignal)
	reject := workflow.GetSignalChannel(ctx, RejectSignal)
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	decision := ""
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(approve, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); decision = ApproveSignal })
	sel.AddReceive(reject, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); decision = RejectSignal })
	sel.AddReceive(w.decisions, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &decision) })
	sel.AddFuture(workflow.NewTimer(timerCtx, w.in.ApprovalTimeout.Std()), func(workflow.Future) {})
	sel.Select(ctx)
	switch decision {
	case ApproveSignal:
		var approve workflow.Future
		if workflow.GetVersion(ctx, signupDecisionAudited, workflow.DefaultVersion, 1) == 1 {
			approve = workflow.ExecuteActivity(ctx, a.ApproveSignup, activities.DecisionInput{
				SignupID: w.in.SignupID, Actor: w.decider.Actor, RequestID: w.decider.RequestID})
		} else {
			approve = workflow.ExecuteActivity(ctx, a.ActivateSignup, w.in.SignupID)
		}
		if err := approve.Get(ctx, nil); err != nil {
			return err
		}
		w.state.Status, w.decided = portal.SignupActive, true
		return sendEmail(w.mail(ctx), a.SendSignupEmail, activities.SignupEmailInput{SignupID: w.in.SignupID, Kind: portal.EmailSignupApproved})
	case RejectSignal:
		_, err := w.close(ctx, portal.SignupRejected, portal.EmailSignupRejected)
		return err
	}
	_, err := w.close(ctx, portal.SignupExpired, "")
	return err
}

// closeUndeliverable ends a sign-up whose address takes no mail: the
// verification link is not sent again, and the form may be used anew
// once the address is fixed or its suppression lifted.
func (w *signup) closeUndeliverable(ctx workflow.Context) (SignupState, error) {
	workflow.GetLogger(ctx).Info("the sign-up's address takes no mail; closing", "reason", w.failed.Reason)
	w.state.UndeliverableReason = w.failed.Reason
	return w.close(ctx, portal.SignupUndeliverable, "")
}

func (w *signup) close(ctx workflow.Context, status portal.SignupStatus, emailKind portal.EmailKind) (SignupState, error) {
	var a *activities.Activities
	w.state.Status = status
	if err := workflow.ExecuteActivity(ctx, a.CloseSignup, activities.CloseSignupInput{SignupID: w.in.SignupID, Status: status,
		Actor: w.decider.Actor, RequestID: w.decider.RequestID}).Get(ctx, nil); err != nil {
		return w.state, err
	}
	w.decided = true
	if emailKind != "" {
		if err := sendEmail(w.mail(ctx), a.SendSignupEmail, activities.SignupEmailInput{SignupID: w.in.SignupID, Kind: emailKind}); err != nil {
			return w.state, err
		}
	}
	return w.state, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}
