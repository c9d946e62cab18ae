package starter

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// passwordReset is how an account's password reset workflow starts: named
// by the account's scope and address, joining the one already running.
func (s *Starter) passwordReset(hc *store.HelpCenter, email string) (client.StartWorkflowOptions, workflows.PasswordResetInput) {
	scope := hc.AccountScope()
	id := workflows.PasswordResetWorkflowID(scope, s.Tokens.AddressKey(scope, email))
	summary, details := resetSummary(hc)
	opts := client.StartWorkflowOptions{
		ID: id, TaskQueue: s.TaskQueue, StaticSummary: summary, StaticDetails: details,
		// Asking again reaches the running reset, which replaces its link:
		// never a second reset, never one terminated mid-step.
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
	in := workflows.PasswordResetInput{
		Scope: scope, LinkLifetime: workflows.Duration(s.ResetLinkLifetime), EmailInterval: workflows.Duration(s.ResetEmailInterval), MailTaskQueue: s.MailTaskQueue,
	}
	return opts, in
}

// RequestPasswordReset passes a forgot-password request for email at hc
// to the reset workflow of the account the address would name there. It
// does the same for every address, with an account or without: one
// insert of the request (the address stays in Postgres; the signal
// carries the request's ID) and one signal-with-start, no lookup. The
// workflow's activity decides whether a link goes out, so neither the
// answer nor its timing tells who has an account.
func (s *Starter) RequestPasswordReset(ctx context.Context, hc *store.HelpCenter, email string) error {
	opts, in := s.passwordReset(hc, email)
	requestID := uuid.NewString()
	if err := s.Store.AddResetRequest(ctx, requestID, hc.ID, strings.ToLower(email)); err != nil {
		return err
	}
	_, err := s.Temporal.SignalWithStartWorkflow(ctx, opts.ID, workflows.ResetRequestSignal,
		workflows.ResetRequest{HelpCenterID: hc.ID, RequestID: requestID}, opts, workflows.PasswordReset, in)
	return err
}

// ChangePassword changes the logged-in customer's password to the one
// staged as stageID, through the account's reset workflow (started if
// none runs), and returns once the password is set and every session of
// the account has ended. The "password changed" notice follows durably.
func (s *Starter) ChangePassword(ctx context.Context, hc *store.HelpCenter, u *store.SessionUser, stageID string) error {
	opts, in := s.passwordReset(hc, u.Email)
	req := workflows.ChangePasswordRequest{AccountID: u.AccountID, HelpCenterID: hc.ID, StageID: stageID}
	var err error
	// A reset that ends just as the update reaches it never takes it; the
	// next attempt starts a new one.
	for range 3 {
		var handle client.WorkflowUpdateHandle
		handle, err = s.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: s.Temporal.NewWithStartWorkflowOperation(opts, workflows.PasswordReset, in),
			UpdateOptions: client.UpdateWorkflowOptions{WorkflowID: opts.ID, UpdateName: workflows.ChangePasswordUpdate,
				Args: []any{req}, WaitForStage: client.WorkflowUpdateStageCompleted},
		})
		if err == nil {
			err = handle.Get(ctx, nil)
		}
		var gone *serviceerror.NotFound
		if !errors.As(err, &gone) {
			return err
		}
	}
	return err
}
