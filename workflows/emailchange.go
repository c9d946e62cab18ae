package workflows

import (
	"errors"
	"strconv"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
)

// EmailChangeWorkflowID names one change of a contact's address.
func EmailChangeWorkflowID(contactID int64, changeID string) string {
	return "email-change/" + strconv.FormatInt(contactID, 10) + "/" + changeID
}

// RejectEmailChangeRefused is the type of the applied update's error when
// the change can no longer apply; its details name the reason.
const RejectEmailChangeRefused = activities.ErrTypeEmailChangeRefused

// emailChangeRevokeBySystem: the revoke an address change sends a pending
// invitation names system as its actor.
const emailChangeRevokeBySystem = "email-change-revoke-by-system"

// EmailChangeInput names a recorded change of a contact's address. The
// addresses stay in Postgres (email_changes), out of history.
type EmailChangeInput struct {
	ChangeID      string
	ContactID     int64
	MailTaskQueue string
}

// EmailChangeState is what the status query and the applied update
// answer.
type EmailChangeState struct {
	// Applied: the address changed, the sessions ended and the pending
	// links died, in one transaction.
	Applied bool
	// Refused names why the change did not apply, when it did not.
	Refused string
	activities.EmailChangeApplied
	// Revoked counts the invitations told to withdraw; NoticeSent says
	// the old address was told.
	Revoked    int
	NoticeSent bool
}

// ChangeEmail applies an admin's change of the address of a contact who
// has a portal account, durably: the change itself (which ends the
// account's sessions and kills its pending links) answers the applied
// update, so the API replies once it is in force; then the pending
// invitations of accounts without a password are revoked, and the old
// address is told, so nobody can carry someone else's invitation or
// account to their own mailbox unnoticed.
func ChangeEmail(ctx workflow.Context, in EmailChangeInput) (EmailChangeState, error) {
	var st EmailChangeState
	var refusal error
	decided := false
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (EmailChangeState, error) { return st, nil }); err != nil {
		return st, err
	}
	if err := workflow.SetUpdateHandler(ctx, AppliedUpdate, func(ctx workflow.Context) (EmailChangeState, error) {
		err := workflow.Await(ctx, func() bool { return decided })
		if err == nil {
			err = refusal
		}
		return st, err
	}); err != nil {
		return st, err
	}
	ctx = withActivityOptions(ctx)
	var a *activities.Activities

	// 1. Apply.
	err := executeLocal(ctx, a.ApplyEmailChange, in.ChangeID, &st.EmailChangeApplied)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeEmailChangeRefused {
		st.Refused, decided = appErr.Message(), true
		refusal = temporal.NewApplicationError("the email change was refused: "+st.Refused, RejectEmailChangeRefused, st.Refused)
		return st, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	}
	if err != nil {
		refusal, decided = err, true
		return st, err
	}
	st.Applied, decided = true, true

	// 2. Revoke the invitations whose links went to the old address. The
	// revocations follow from the change (whose contact.updated event
	// names the admin): they are system's, where changes that signalled
	// before this version name nobody.
	var by any
	if len(st.Invitations) > 0 && workflow.GetVersion(ctx, emailChangeRevokeBySystem, workflow.DefaultVersion, 1) == 1 {
		by = CommandRequest{Actor: portal.ActorSystem}
	}
	for _, id := range st.Invitations {
		// Nothing to revoke if it has just finished; that is fine.
		_ = workflow.SignalExternalWorkflow(ctx, id, "", RevokeSignal, by).Get(ctx, nil)
		st.Revoked++
	}

	// 3. Tell the old address.
	if st.HadEmail {
		mctx := ctx
		if in.MailTaskQueue != "" {
			mctx = workflow.WithTaskQueue(ctx, in.MailTaskQueue)
		}
		if err := sendEmail(mctx, a.SendEmailChangedNotice, in.ChangeID); err != nil {
			return st, err
		}
		st.NoticeSent = true
	}
	return st, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}
