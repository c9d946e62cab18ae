package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
)

// Policy is the schedule an invitation follows, taken from its help center
// when it starts.
type Policy struct {
	// Reminders are offsets after each send at which the same link is sent
	// again, while it is still valid.
	Reminders     []Duration
	LinkLifetime  Duration
	AutoReinvites int
}

// PolicyFrom converts a help center's stored policy.
func PolicyFrom(p portal.InvitePolicy) Policy {
	out := Policy{LinkLifetime: Duration(time.Duration(p.LinkLifetimeHours) * time.Hour), AutoReinvites: p.AutoReinvites}
	for _, d := range p.ReminderDays {
		out.Reminders = append(out.Reminders, Duration(time.Duration(d)*24*time.Hour))
	}
	return out
}

// InvitationInput starts an invitation.
type InvitationInput struct {
	HelpCenterID   int64
	HelpCenterSlug string
	ContactID      int64
	Policy         Policy
	// MailTaskQueue is the rate-limited queue that email activities run
	// on; empty means the workflow's own queue.
	MailTaskQueue string `json:",omitempty"`
	// BulkJobID names the bulk job that started this invitation, which
	// counts it as failed if it ends in failure.
	BulkJobID string `json:",omitempty"`
	// Actor and RequestID name who invited (the API key, the key that
	// started the bulk job; empty for system, an auto-invite), for the
	// invitation.created event written with the record. IDs only.
	Actor     string `json:",omitempty"`
	RequestID string `json:",omitempty"`
	// Resume carries the state across continue-as-new.
	Resume *InvitationState `json:",omitempty"`
}

// InvitationState is what the status query and the describe update answer.
type InvitationState struct {
	InvitationID  string
	WorkflowID    string
	Status        portal.InvitationStatus
	HelpCenter    string
	ContactID     int64
	Recorded      bool
	Generation    int
	SendCount     int
	RemindersSent int
	ReinvitesUsed int
	CreatedAt     time.Time
	LastSentAt    time.Time
	ExpiresAt     time.Time
	AcceptedAt    time.Time
	// Blocked: recorded as revoked because an admin's decision (a
	// deactivation, a rejection, a sign-up awaiting approval) came first.
	Blocked bool `json:",omitempty"`
	// UndeliverableReason says why an undeliverable invitation is one:
	// rejected when sent, bounced or complained of later.
	UndeliverableReason portal.UndeliverableReason `json:",omitempty"`
}

// AcceptRequest accepts the invitation with the link of Generation and the
// password staged as StageID. It carries neither the token nor the password.
type AcceptRequest struct {
	Generation int
	StageID    string
	// RequestID names the customer's request, for the audit event.
	RequestID string `json:",omitempty"`
}

type invitation struct {
	in InvitationInput
	// lean: the run started under actionsChange, which stands for the
	// changes before it and skips upserts that change nothing.
	lean bool
	// quick: the run started under version 2 of actionsChange: the
	// first link is issued by the step that records the invitation, and
	// an accept runs as a local activity, each in the workflow task that
	// asks for it.
	quick bool
	// localMail: the run started under version 3 of actionsChange: it
	// sends its emails in the workflow task that asks for them while the
	// mail rate has room (sendEmailInTask).
	localMail bool
	// callerWaits: the caller of an update (an invite waiting for the
	// record, a customer's accept) waits for the answer that leaves with
	// this workflow task; the next email goes from the mail task queue,
	// so the answer never waits for the mail provider.
	callerWaits bool
	// localSetup runs the database steps (record, issue a link) as local
	// activities, in the workflow task that asks for them.
	localSetup bool
	state      InvitationState
	accepting  bool
	accepted   workflow.Settable
	acceptedF  workflow.Future
	// busy: a step that replaces the link or closes the invitation is
	// under way, the wait loop's own or an admin's update; the others
	// wait their turn, so two never rotate or close at once.
	busy bool
	// poked wakes the wait loop after an admin's update moved the
	// deadline or closed the invitation; moved: one did since the loop
	// last set its timer.
	poked workflow.Channel
	moved bool
}

// Invitation drives one invitation from the first email to an active
// account, an expiry or a revocation.
func Invitation(ctx workflow.Context, in InvitationInput) (InvitationState, error) {
	w := &invitation{in: in}
	v := workflow.GetVersion(ctx, actionsChange, workflow.DefaultVersion, actionsLocalMail)
	w.lean, w.quick, w.localMail = v >= 1, v >= actionsQuickSetup, v >= actionsLocalMail
	info := workflow.GetInfo(ctx)
	if in.Resume != nil {
		w.state = *in.Resume
	} else {
		w.state = InvitationState{
			InvitationID: info.FirstRunID, WorkflowID: info.WorkflowExecution.ID,
			Status: portal.InvitationPending, HelpCenter: in.HelpCenterSlug, ContactID: in.ContactID,
			CreatedAt: workflow.Now(ctx),
		}
	}
	w.acceptedF, w.accepted = workflow.NewFuture(ctx)
	w.poked = workflow.NewBufferedChannel(ctx, 1)
	if err := w.register(ctx); err != nil {
		return w.state, err
	}
	st, err := w.run(ctx)
	if err != nil && in.BulkJobID != "" && !isContinueAsNew(err) {
		w.reportToBulkJob(ctx, err)
	}
	return st, err
}

// reportToBulkJob moves this invitation from invited to failed in its
// bulk job's counts and results, with the reason. Only a business error
// gets here: outages are retried.
func (w *invitation) reportToBulkJob(ctx workflow.Context, cause error) {
	var a *activities.Activities
	dctx, _ := workflow.NewDisconnectedContext(withActivityOptions(ctx))
	err := workflow.ExecuteActivity(dctx, a.RecordBulkChildFailure, activities.BulkChildFailure{
		JobID: w.in.BulkJobID, ContactID: w.in.ContactID, Reason: cause.Error(),
	}).Get(dctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("bulk job not told of the failed invitation", "bulk_job", w.in.BulkJobID, "error", err)
	}
}

func isContinueAsNew(err error) bool {
	var can *workflow.ContinueAsNewError
	return errors.As(err, &can)
}

func (w *invitation) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (InvitationState, error) { return w.state, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, DescribeUpdate, func(ctx workflow.Context) (InvitationState, error) {
		recorded := func() bool { return w.state.Recorded || w.state.Status != portal.InvitationPending }
		if !recorded() {
			w.callerWaits = true
		}
		err := workflow.Await(ctx, recorded)
		return w.state, err
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, AcceptUpdate, w.accept, workflow.UpdateHandlerOptions{Validator: w.validateAccept}); err != nil {
		return err
	}
	// The admin's updates need no version gate: registering a handler
	// writes nothing to history, and what they do (a new link, a close)
	// is what the signals did, recorded only by runs that receive one.
	// Their argument (CommandRequest, who asked) reaches only activity
	// inputs, which replay does not compare; an older caller's update
	// without one decodes empty.
	if err := workflow.SetUpdateHandlerWithOptions(ctx, ResendUpdate, w.resend, workflow.UpdateHandlerOptions{Validator: w.validateCommand}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, RevokeUpdate, w.revoke, workflow.UpdateHandlerOptions{Validator: w.validateCommand})
}

// validateCommand refuses an admin's resend or revoke of an invitation
// that no longer waits, before it enters history.
func (w *invitation) validateCommand(workflow.Context, CommandRequest) error {
	return w.refusal()
}

// refusal says why an invitation takes no more commands; nil while it
// is pending with a link out.
func (w *invitation) refusal() error {
	switch {
	case w.accepting || w.state.Status == portal.InvitationAccepted:
		return temporal.NewApplicationError("the invitation was already accepted", RejectAlreadyAccepted)
	case w.state.Status == portal.InvitationRevoked:
		return temporal.NewApplicationError("the invitation was revoked", RejectRevoked)
	case w.state.Status == portal.InvitationExpired:
		return temporal.NewApplicationError("the invitation expired", RejectExpired)
	case w.state.Status == portal.InvitationUndeliverable:
		return temporal.NewApplicationError("the invitation could not be delivered", RejectUndeliverable)
	case w.state.Status == portal.InvitationDeclined:
		return temporal.NewApplicationError("the contact declined the invitation", RejectDeclined)
	case w.state.Generation == 0:
		return temporal.NewApplicationError("the invitation has not been sent yet", RejectNotReady)
	}
	return nil
}

// resend replaces the link, emails it and extends the deadline, then
// answers the new state.
func (w *invitation) resend(ctx workflow.Context, req CommandRequest) (InvitationState, error) {
	return w.command(ctx, func(ctx workflow.Context) error {
		workflow.GetLogger(ctx).Info("resending invitation", "generation", w.state.Generation+1)
		if err := w.issue(ctx, &req); err != nil {
			return err
		}
		if w.state.Status == portal.InvitationUndeliverable {
			// The provider refused the address: nothing was resent.
			return w.refusal()
		}
		return nil
	})
}

// revoke withdraws the invitation; its link dies with the record.
func (w *invitation) revoke(ctx workflow.Context, req CommandRequest) (InvitationState, error) {
	return w.command(ctx, func(ctx workflow.Context) error {
		workflow.GetLogger(ctx).Info("revoking invitation")
		return w.close(ctx, portal.InvitationRevoked, &req)
	})
}

// command runs an admin's update once no other step is under way, and
// wakes the wait loop to re-read the deadline or see the invitation
// closed. An accept, a timer or another command that went first can
// still refuse it here.
func (w *invitation) command(ctx workflow.Context, do func(workflow.Context) error) (InvitationState, error) {
	if err := workflow.Await(ctx, func() bool { return !w.busy && !w.accepting }); err != nil {
		return w.state, err
	}
	if err := w.refusal(); err != nil {
		return w.state, err
	}
	w.busy = true
	err := do(withActivityOptions(ctx))
	w.busy, w.moved = false, true
	w.poked.SendAsync(nil)
	return w.state, err
}

// validateAccept refuses an accept before it enters history, so the
// customer's page learns at once why a link no longer works.
func (w *invitation) validateAccept(ctx workflow.Context, req AcceptRequest) error {
	if err := w.refusal(); err != nil {
		return err
	}
	switch {
	case req.Generation != w.state.Generation:
		return temporal.NewApplicationError("a newer invitation replaced this link", RejectSuperseded)
	case !workflow.Now(ctx).Before(w.state.ExpiresAt):
		return temporal.NewApplicationError("the invitation link expired", RejectExpired)
	case req.StageID == "":
		return temporal.NewApplicationError("no password staged", "BadRequest")
	}
	return nil
}

func (w *invitation) accept(ctx workflow.Context, req AcceptRequest) (InvitationState, error) {
	// Two accepts delivered together both pass the validator before either
	// handler runs; the second must not activate again.
	if w.accepting || w.state.Status == portal.InvitationAccepted {
		return w.state, temporal.NewApplicationError("the invitation was already accepted", RejectAlreadyAccepted)
	}
	w.accepting = true
	defer func() { w.accepting = false }()
	var a *activities.Activities
	in := activities.AcceptInput{InvitationID: w.state.InvitationID, StageID: req.StageID, RequestID: req.RequestID}
	var err error
	if w.quick {
		err = executeLocal(withActivityOptions(ctx), a.AcceptInvitation, in, nil)
	} else {
		err = workflow.ExecuteActivity(withActivityOptions(ctx), a.AcceptInvitation, in).Get(ctx, nil)
	}
	if err != nil {
		return w.state, err
	}
	w.state.Status = portal.InvitationAccepted
	w.state.AcceptedAt = workflow.Now(ctx)
	// The customer's page waits for this answer; the welcome follows it.
	w.callerWaits = true
	w.accepted.SetValue(nil)
	return w.state, nil
}

// actionsChange cuts the actions an invitation bills. Each change below
// wrote its own version marker and, with it, an upsert of the
// TemporalChangeVersion search attribute: up to five upserts a run that
// decide nothing, since every new run takes version 1 of each. A run
// started under actionsChange records this one marker instead and takes
// version 1 of the others without asking. It also skips a publish that
// would set the search attributes to what they already hold (the pending
// status the starter set, or the previous run carried over).
const actionsChange = "fewer-actions"

// actionsQuickSetup, version 2 of actionsChange, saves a workflow task,
// an activity task and a marker on the way to the first email and to an
// accept: a run started under it records the invitation and issues its
// first link in one local activity, and accepts in a local activity
// (falling back to a regular one, as every local step does). Same
// marker, so it costs no new action.
const actionsQuickSetup workflow.Version = 2

// actionsLocalMail, version 3 of actionsChange, sends each email of a run
// started under it as a local activity while the mail rate has room,
// and from the mail task queue otherwise (sendEmailInTask), unless a
// caller waits behind it (invitation.email): a bulk invitation's first
// email, a reminder or a re-invite then costs no activity task and no
// workflow task of its own. Same marker.
const actionsLocalMail workflow.Version = 3

// version answers the version of changeID: 1 in a run started under
// actionsChange, else what the history recorded (or 1, with a marker).
func (w *invitation) version(ctx workflow.Context, changeID string) workflow.Version {
	if w.lean {
		return 1
	}
	return workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, 1)
}

// declineChange closes an invitation as declined when its contact uses
// the decline link; the marker it writes is where histories without
// declines part from those with one.
const declineChange = "decline"

// mailQueueChange routes email activities to the mail task queue.
// Invitations started before it send mail from the workflow's own queue.
const mailQueueChange = "mail-task-queue"

// mailContext is where email activities run; sendEmail sends from there.
func (w *invitation) mailContext(ctx workflow.Context) workflow.Context {
	if w.in.MailTaskQueue == "" || w.version(ctx, mailQueueChange) == workflow.DefaultVersion {
		return ctx
	}
	return workflow.WithTaskQueue(ctx, w.in.MailTaskQueue)
}

// email sends one of the invitation's emails: in the workflow task when
// the run started under actionsLocalMail and no caller waits for the
// task's answer, else from the mail task queue (an activity ends the task
// at once, and costs one action where a timer to end it and a task of
// local activities would cost two).
func (w *invitation) email(ctx workflow.Context, fn, arg any) error {
	if !w.localMail || w.callerWaits {
		// A local activity would hold the task, and the caller's answer
		// with it, until the provider answered.
		w.callerWaits = false
		return sendEmail(w.mailContext(ctx), fn, arg)
	}
	return sendEmailInTask(w.mailContext(ctx), fn, arg)
}

// grantChange lets an invitation to an account that already has a
// password (a common user base) grant access at once, with a notice
// instead of a link.
const grantChange = "grant-existing-account"

// grant activates access for an account that already logs in elsewhere
// and tells the customer; no link, no new password.
func (w *invitation) grant(ctx workflow.Context) (InvitationState, error) {
	var a *activities.Activities
	err := workflow.ExecuteActivity(ctx, a.GrantAccess, w.state.InvitationID).Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeNotPending {
		// Deactivated meanwhile: the record is already withdrawn.
		w.state.Status = portal.InvitationRevoked
		w.publish(ctx)
		return w.state, nil
	}
	if err != nil {
		return w.state, err
	}
	w.state.Status = portal.InvitationAccepted
	w.state.AcceptedAt = workflow.Now(ctx)
	w.publish(ctx)
	if err := w.email(ctx, a.SendAccessGranted, w.state.InvitationID); err != nil {
		workflow.GetLogger(ctx).Warn("access notice not sent", "error", err)
	}
	return w.state, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// localSetupChange makes recording an invitation and issuing its links
// local activities: two short database writes that needn't each cost a
// round trip through the server. Older invitations keep regular ones.
const localSetupChange = "local-setup"

// setup runs a database step as a local activity (falling back to a
// regular one when it can't finish in a workflow task) or, for
// invitations started before localSetupChange, as a regular one.
func (w *invitation) setup(ctx workflow.Context, fn, arg, result any) error {
	if w.localSetup {
		return executeLocal(ctx, fn, arg, result)
	}
	return workflow.ExecuteActivity(ctx, fn, arg).Get(ctx, result)
}

// run is the invitation's life in four steps: record it (once per chain
// of runs), send the first link, wait for the customer, an admin or a
// timer until it closes, then finish.
func (w *invitation) run(ctx workflow.Context) (InvitationState, error) {
	ctx = withActivityOptions(ctx)
	w.publish(ctx)
	w.localSetup = w.version(ctx, localSetupChange) == 1

	if !w.state.Recorded {
		var first *activities.IssueInput
		now := workflow.Now(ctx)
		if w.quick {
			link := w.nextLink(now)
			first = &link
		}
		rec, err := w.record(ctx, first)
		if err != nil {
			return w.state, err
		}
		switch {
		case rec.Blocked:
			// Recorded as revoked: an admin's decision came in first.
			w.state.Status, w.state.Blocked = portal.InvitationRevoked, true
			w.publish(ctx)
			return w.state, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
		case rec.HasPassword:
			return w.grant(ctx)
		}
		w.busy = true
		if first != nil {
			// Issued with the record.
			err = w.send(ctx, *first, now)
		} else {
			err = w.issue(ctx, nil)
		}
		w.busy = false
		if err != nil {
			return w.finish(ctx, err)
		}
	}

	if again, err := w.wait(ctx); err != nil || again {
		if again {
			return w.continueAsNew(ctx)
		}
		return w.state, err
	}
	return w.finish(ctx, nil)
}

// record stores the invitation and reports what it found about the
// account; given the first link, it issues it too unless the account
// needs none.
func (w *invitation) record(ctx workflow.Context, first *activities.IssueInput) (activities.RecordResult, error) {
	var a *activities.Activities
	// Invitations started before grantChange ignore the account's
	// password: they always send a link.
	grant := w.version(ctx, grantChange) == 1
	var rec activities.RecordResult
	var recPtr any
	if grant {
		recPtr = &rec
	}
	if err := w.setup(ctx, a.RecordInvitation, activities.RecordInput{
		InvitationID: w.state.InvitationID, WorkflowID: w.state.WorkflowID,
		HelpCenterID: w.in.HelpCenterID, ContactID: w.in.ContactID, CreatedAt: w.state.CreatedAt,
		Actor: w.in.Actor, RequestID: w.in.RequestID, BulkJobID: w.in.BulkJobID, FirstLink: first,
	}, recPtr); err != nil {
		return rec, err
	}
	w.state.Recorded = true
	return rec, nil
}

// wakeup is what ended one wait of a pending invitation.
type wakeup struct {
	resend, revoke, decline bool
	// revokedBy names who revoked, when the signal said (a deactivation).
	revokedBy CommandRequest
	// failed: the provider reported an email of this invitation bounced
	// or complained of.
	failed *DeliveryFailed
	// fired: the timer for a reminder (reminderDue) or the expiry.
	fired, reminderDue bool
}

// wait acts on every wakeup until the invitation is no longer pending. It
// answers again=true when the history has grown enough to continue as
// new.
func (w *invitation) wait(ctx workflow.Context) (again bool, err error) {
	resendCh := workflow.GetSignalChannel(ctx, ResendSignal)
	revokeCh := workflow.GetSignalChannel(ctx, RevokeSignal)
	failedCh := workflow.GetSignalChannel(ctx, DeliveryFailedSignal)
	declineCh := workflow.GetSignalChannel(ctx, DeclineSignal)
	for w.state.Status == portal.InvitationPending {
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() && !w.accepting && !w.busy && resendCh.Len() == 0 && revokeCh.Len() == 0 && failedCh.Len() == 0 && declineCh.Len() == 0 {
			return true, nil
		}
		wake := w.next(ctx, resendCh, revokeCh, failedCh, declineCh)
		// An accept or an admin's update in flight decides first: if it
		// closes the invitation, the resend, revoke or expiry that raced
		// it no longer applies.
		if err := workflow.Await(ctx, func() bool { return !w.accepting && !w.busy }); err != nil {
			return false, err
		}
		if w.state.Status != portal.InvitationPending {
			return false, nil
		}
		w.busy = true
		err := w.act(ctx, wake)
		w.busy = false
		if err != nil {
			return false, err
		}
	}
	return false, nil
}

// next waits for a resend, a revoke, an accept or the next timer.
func (w *invitation) next(ctx workflow.Context, resendCh, revokeCh, failedCh, declineCh workflow.ReceiveChannel) wakeup {
	at, reminderDue := w.nextWake()
	w.showWaiting(ctx, at, reminderDue)
	wake := wakeup{reminderDue: reminderDue}
	w.moved = false
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimer(timerCtx, max(at.Sub(workflow.Now(ctx)), 0))
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(timer, func(workflow.Future) { wake.fired = true })
	sel.AddReceive(resendCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); wake.resend = true })
	sel.AddReceive(revokeCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &wake.revokedBy); wake.revoke = true })
	sel.AddReceive(failedCh, func(c workflow.ReceiveChannel, _ bool) {
		var f DeliveryFailed
		c.Receive(ctx, &f)
		wake.failed = &f
	})
	// A run that never gets the signal records nothing for it, so
	// listening for it leaves older histories as they were.
	sel.AddReceive(declineCh, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); wake.decline = true })
	sel.AddFuture(w.acceptedF, func(workflow.Future) {})
	sel.AddReceive(w.poked, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	sel.Select(ctx)
	return wake
}

// act does what a wakeup asks of a pending invitation; a revoke wins over
// a resend that arrived with it.
func (w *invitation) act(ctx workflow.Context, wake wakeup) error {
	var a *activities.Activities
	logger := workflow.GetLogger(ctx)
	if wake.fired && w.moved {
		// An admin's resend while the timer fired moved the deadline: the
		// timer is stale, and the loop sets the next one.
		if at, _ := w.nextWake(); workflow.Now(ctx).Before(at) {
			return nil
		}
	}
	switch {
	case wake.decline && w.version(ctx, declineChange) == 1:
		logger.Info("the contact declined the invitation")
		return w.close(ctx, portal.InvitationDeclined, nil)
	case wake.revoke:
		return w.close(ctx, portal.InvitationRevoked, &wake.revokedBy)
	case wake.failed != nil:
		return w.deliveryFailed(ctx, *wake.failed)
	case wake.resend:
		// The older resend signal names nobody: an unknown actor.
		logger.Info("resending invitation")
		return w.issue(ctx, &CommandRequest{})
	case wake.fired && wake.reminderDue:
		w.state.RemindersSent++
		err := w.email(ctx, a.SendInvitation, activities.SendInput{
			InvitationID: w.state.InvitationID, Generation: w.state.Generation, Reminder: w.state.RemindersSent,
		})
		if isUndeliverable(err) {
			return w.closeUndeliverable(ctx, undeliverableReason(err))
		}
		return err
	case wake.fired && w.state.ReinvitesUsed < w.in.Policy.AutoReinvites:
		w.state.ReinvitesUsed++
		logger.Info("link expired; re-inviting", "reinvite", w.state.ReinvitesUsed)
		return w.issue(ctx, nil)
	case wake.fired:
		return w.close(ctx, portal.InvitationExpired, nil)
	}
	return nil
}

// nextWake returns when the workflow must next act on its own: the next
// reminder that falls before the link expires, or the expiry.
func (w *invitation) nextWake() (time.Time, bool) {
	if n := w.state.RemindersSent; n < len(w.in.Policy.Reminders) {
		at := w.state.LastSentAt.Add(w.in.Policy.Reminders[n].Std())
		if at.Before(w.state.ExpiresAt) {
			return at, true
		}
	}
	return w.state.ExpiresAt, false
}

// issue replaces the link with a new generation, extends the deadline and
// emails it. The previous link dies with the rotation. resentBy names who
// asked for a resend; nil for the first link and an automatic re-invite.
func (w *invitation) issue(ctx workflow.Context, resentBy *CommandRequest) error {
	var a *activities.Activities
	now := workflow.Now(ctx)
	in := w.nextLink(now)
	if resentBy != nil {
		in.Resend, in.Actor, in.RequestID = true, resentBy.Actor, resentBy.RequestID
	}
	if err := w.setup(ctx, a.IssueToken, in, nil); err != nil {
		return err
	}
	return w.send(ctx, in, now)
}

// nextLink is the link that replaces the current one at now.
func (w *invitation) nextLink(now time.Time) activities.IssueInput {
	return activities.IssueInput{InvitationID: w.state.InvitationID, Generation: w.state.Generation + 1,
		ExpiresAt: now.Add(w.in.Policy.LinkLifetime.Std())}
}

// send makes the issued link current in the workflow's state and emails
// it.
func (w *invitation) send(ctx workflow.Context, link activities.IssueInput, now time.Time) error {
	var a *activities.Activities
	w.state.Generation, w.state.ExpiresAt, w.state.LastSentAt, w.state.RemindersSent = link.Generation, link.ExpiresAt, now, 0
	err := w.email(ctx, a.SendInvitation, activities.SendInput{
		InvitationID: w.state.InvitationID, Generation: link.Generation,
	})
	if isUndeliverable(err) {
		return w.closeUndeliverable(ctx, undeliverableReason(err))
	}
	if err != nil {
		return err
	}
	w.state.SendCount++
	return nil
}

// close ends the invitation. The state changes before the record does, so
// an accept arriving meanwhile is already refused. by names who revoked
// it, for the audit event written with the record.
func (w *invitation) close(ctx workflow.Context, status portal.InvitationStatus, by *CommandRequest) error {
	var a *activities.Activities
	w.state.Status = status
	w.publish(ctx)
	in := activities.CloseInput{InvitationID: w.state.InvitationID, Status: status}
	if by != nil {
		in.Actor, in.RequestID = by.Actor, by.RequestID
	}
	if status == portal.InvitationUndeliverable {
		in.Reason = w.state.UndeliverableReason
	}
	return workflow.ExecuteActivity(ctx, a.CloseInvitation, in).Get(ctx, nil)
}

// closeUndeliverable ends the invitation because its address can't get
// email, saying why.
func (w *invitation) closeUndeliverable(ctx workflow.Context, reason portal.UndeliverableReason) error {
	w.state.UndeliverableReason = reason
	return w.close(ctx, portal.InvitationUndeliverable, nil)
}

// deliveryEventsChange lets the provider's later events (a bounce, a
// complaint) close a pending invitation. The signal is new: no history
// recorded before this change holds one, and a run that receives one
// after it records this version first.
const deliveryEventsChange = "delivery-events"

// deliveryFailed closes the invitation as undeliverable when the provider
// reported one of its emails bounced for good or complained of: no more
// reminders or re-invites go to that address. An event about another
// invitation of the same contact (an older run chain) is ignored.
func (w *invitation) deliveryFailed(ctx workflow.Context, f DeliveryFailed) error {
	logger := workflow.GetLogger(ctx)
	if w.version(ctx, deliveryEventsChange) == workflow.DefaultVersion {
		return nil
	}
	if f.InvitationID != "" && f.InvitationID != w.state.InvitationID {
		logger.Info("delivery event of another invitation ignored", "invitation", f.InvitationID, "email", f.EmailKey)
		return nil
	}
	reason := f.Reason
	if reason != portal.UndeliverableComplained {
		reason = portal.UndeliverableBounced
	}
	logger.Info("email undeliverable; closing the invitation", "email", f.EmailKey, "reason", reason)
	return w.closeUndeliverable(ctx, reason)
}

// finish sends the welcome email after an accept and waits for update
// handlers to return, so no caller is left without an answer.
func (w *invitation) finish(ctx workflow.Context, err error) (InvitationState, error) {
	if err != nil {
		return w.state, err
	}
	if w.state.Status == portal.InvitationAccepted {
		w.publish(ctx)
		var a *activities.Activities
		if err := w.email(ctx, a.SendWelcome, w.state.InvitationID); err != nil {
			// The account is active either way; a lost welcome email must
			// not fail the invitation.
			workflow.GetLogger(ctx).Warn("welcome email not sent", "error", err)
		}
	}
	return w.state, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

func (w *invitation) continueAsNew(ctx workflow.Context) (InvitationState, error) {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return w.state, err
	}
	next := w.in
	state := w.state
	next.Resume = &state
	return w.state, workflow.NewContinueAsNewError(ctx, Invitation, next)
}

func (w *invitation) publish(ctx workflow.Context) {
	if w.lean {
		sa := workflow.GetTypedSearchAttributes(ctx)
		status, _ := sa.GetKeyword(InvitationStatusKey)
		hc, _ := sa.GetKeyword(HelpCenterKey)
		if status == string(w.state.Status) && hc == w.state.HelpCenter {
			return
		}
	}
	err := workflow.UpsertTypedSearchAttributes(ctx,
		InvitationStatusKey.ValueSet(string(w.state.Status)), HelpCenterKey.ValueSet(w.state.HelpCenter))
	if err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "error", err)
	}
}

// undeliverableReason reads the reason an Undeliverable error carries;
// errors from before reasons were kept say nothing, which was a refusal.
func undeliverableReason(err error) portal.UndeliverableReason {
	var appErr *temporal.ApplicationError
	var reason portal.UndeliverableReason
	if errors.As(err, &appErr) && appErr.HasDetails() && appErr.Details(&reason) == nil && reason != "" {
		return reason
	}
	return portal.UndeliverableRejected
}

func isUndeliverable(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeUndeliverable
}
