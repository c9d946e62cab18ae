package workflows

import (
	"errors"
	"strconv"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
)

// AppliedUpdate answers once an access change is in the database, so the
// caller knows the person's sessions have ended before it replies.
const AppliedUpdate = "applied"

// AccessWorkflowID is the ID of one access change; key makes each request
// its own.
func AccessWorkflowID(helpCenterSlug string, accountID int64, action portal.AccessAction, key string) string {
	return "access/" + helpCenterSlug + "/" + strconv.FormatInt(accountID, 10) + "/" + string(action) + "/" + key
}

// noticeOnlyForAccounts stops the deactivation email to people who never
// had an active account.
const noticeOnlyForAccounts = "deactivation-notice-only-for-accounts"

// revokeNamesActor: the revoke a deactivation sends its pending
// invitation carries the deactivation's actor and request ID.
const revokeNamesActor = "revoke-names-actor"

// AccessChangeInput deactivates or reactivates one account's access.
type AccessChangeInput struct {
	HelpCenterID  int64
	AccountID     int64
	Action        portal.AccessAction
	MailTaskQueue string
	// Actor and RequestID name who asked, for the audit event the change
	// writes; IDs only, never a person's name or address. Executions
	// started before they existed decode them empty.
	Actor     string
	RequestID string
}

// ChangeAccess applies a deactivation or reactivation durably: the status
// change (which ends sessions), the revocation of a pending invitation,
// and the email saying so. A repeat changes nothing and sends nothing.
func ChangeAccess(ctx workflow.Context, in AccessChangeInput) (activities.AccessChange, error) {
	var change activities.AccessChange
	applied := false
	if err := workflow.SetUpdateHandler(ctx, AppliedUpdate, func(ctx workflow.Context) (activities.AccessChange, error) {
		err := workflow.Await(ctx, func() bool { return applied })
		return change, err
	}); err != nil {
		return change, err
	}
	ctx = withActivityOptions(ctx)
	var a *activities.Activities
	err := executeLocal(ctx, a.SetAccess, activities.AccessInput{HelpCenterID: in.HelpCenterID, AccountID: in.AccountID, Action: in.Action,
		RequestKey: workflow.GetInfo(ctx).WorkflowExecution.ID, Actor: in.Actor, RequestID: in.RequestID}, &change)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeNotFound {
		// The record went away meanwhile: nothing changed.
		change, err = activities.AccessChange{}, nil
	}
	if err != nil {
		return change, err
	}
	applied = true
	if change.PendingInvitation != "" {
		// The revoke names who deactivated, so the invitation.revoked
		// event is theirs; changes that signalled before say nobody.
		var by any
		if workflow.GetVersion(ctx, revokeNamesActor, workflow.DefaultVersion, 1) == 1 {
			by = CommandRequest{Actor: in.Actor, RequestID: in.RequestID}
		}
		// Nothing to revoke if it has just finished; that is fine.
		_ = workflow.SignalExternalWorkflow(ctx, change.PendingInvitation, "", RevokeSignal, by).Get(ctx, nil)
	}
	// Someone who was only invited never had an account to lose: no
	// "account deactivated" email for them.
	onlyAccounts := workflow.GetVersion(ctx, noticeOnlyForAccounts, workflow.DefaultVersion, 1) == 1
	var kind portal.EmailKind
	switch {
	case change.Changed && change.Status == portal.AccessDeactivated && onlyAccounts && change.Previous != "" && change.Previous != portal.AccessActive:
	case change.Changed && change.Status == portal.AccessDeactivated:
		kind = portal.EmailDeactivated
	case change.Changed && change.Status == portal.AccessActive:
		kind = portal.EmailReactivated
	}
	if kind != "" {
		mctx := ctx
		if in.MailTaskQueue != "" {
			mctx = workflow.WithTaskQueue(ctx, in.MailTaskQueue)
		}
		if err := sendEmail(mctx, a.SendAccessEmail, activities.AccessEmailInput{
			HelpCenterID: in.HelpCenterID, ContactID: change.ContactID, Kind: kind, Key: strconv.Itoa(change.Seq),
		}); err != nil {
			return change, err
		}
	}
	return change, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}
