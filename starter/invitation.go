package starter

import (
	"context"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// Invitation starts the contact's invitation workflow, or finds the one
// already running, and returns its state once the invitation is on
// record. Update-with-start makes this one round trip and idempotent: a
// second invite while one is pending returns the pending one. actor is
// who invites (portal.KeyActor, or portal.ActorSystem for an automatic
// invitation); with the request ID in ctx, it is recorded in the
// invitation.created event the workflow writes with the record.
func (s *Starter) Invitation(ctx context.Context, hc *store.HelpCenter, contactID int64, actor string) (workflows.InvitationState, error) {
	id := workflows.InvitationWorkflowID(hc.Slug, contactID)
	var st workflows.InvitationState
	summary, details := invitationSummary(hc, contactID)
	for attempt := 0; ; attempt++ {
		start := s.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
			ID:                       id,
			StaticSummary:            summary,
			StaticDetails:            details,
			TaskQueue:                s.TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.InvitationStatusKey.ValueSet(string(portal.InvitationPending)),
				workflows.HelpCenterKey.ValueSet(hc.Slug)),
		}, workflows.Invitation, workflows.InvitationInput{
			HelpCenterID: hc.ID, HelpCenterSlug: hc.Slug, ContactID: contactID,
			Policy: workflows.PolicyFrom(hc.InvitePolicy), MailTaskQueue: s.MailTaskQueue,
			Actor: actor, RequestID: portal.RequestID(ctx),
		})
		handle, err := s.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: start,
			UpdateOptions: client.UpdateWorkflowOptions{
				WorkflowID: id, UpdateName: workflows.DescribeUpdate, WaitForStage: client.WorkflowUpdateStageCompleted,
			},
		})
		if err != nil {
			return st, err
		}
		if err := handle.Get(ctx, &st); err != nil {
			return st, err
		}
		if st.Status == portal.InvitationPending || st.Blocked || attempt == 2 {
			return st, nil
		}
		// The run found has just closed its invitation (revoked, expired)
		// and is finishing; once it completes, the next start is a new
		// invitation.
		_ = s.Temporal.GetWorkflow(ctx, id, handle.RunID()).Get(ctx, nil)
	}
}

// Ineligible returns why a contact can't be invited to hc, or "".
func (s *Starter) Ineligible(ctx context.Context, ct *store.Contact, hc *store.HelpCenter) (portal.Outcome, error) {
	if reason := portal.Ineligible(ct.Email, ct.Verified, ""); reason != "" {
		return reason, nil
	}
	st, err := s.Store.StandingOf(ctx, ct, hc)
	if err != nil {
		return "", err
	}
	// Suppressed before declined: a decline an admin may override, a
	// suppression only an admin's lift ends.
	switch reason := portal.Ineligible(ct.Email, ct.Verified, st.Access); {
	case reason != "":
		return reason, nil
	case st.Suppressed:
		return portal.ReasonSuppressed, nil
	case st.Declined:
		return portal.ReasonDeclined, nil
	}
	return "", nil
}

// AutoInvite starts a pending auto-invite and records the outcome. A
// contact that can't be invited is skipped with the reason; a failure to
// reach Temporal leaves it pending for the sweeper.
func (s *Starter) AutoInvite(ctx context.Context, p store.PendingAutoInvite) (portal.AutoInviteStatus, portal.Outcome) {
	hc, err := s.Store.HelpCenterByID(ctx, p.HelpCenterID)
	if err != nil {
		s.Logger.Warn("auto-invite: help center", "ticket_id", p.TicketID, "error", err)
		return portal.AutoInvitePending, ""
	}
	ct, err := s.Store.ContactByID(ctx, p.ContactID)
	if err != nil {
		s.Logger.Warn("auto-invite: contact", "ticket_id", p.TicketID, "error", err)
		return portal.AutoInvitePending, ""
	}
	reason, err := s.Ineligible(ctx, ct, hc)
	if err != nil {
		return portal.AutoInvitePending, ""
	}
	status := portal.AutoInviteSkipped
	if reason == "" {
		st, err := s.Invitation(ctx, hc, ct.ID, portal.ActorSystem)
		if err != nil {
			s.Logger.Warn("auto-invite: start invitation; the sweeper will retry", "ticket_id", p.TicketID, "error", err)
			return portal.AutoInvitePending, ""
		}
		status = portal.AutoInviteStarted
		if st.Blocked {
			status, reason = portal.AutoInviteSkipped, "access_blocked"
		}
	}
	if err := s.Store.FinishAutoInvite(ctx, p.TicketID, status, reason); err != nil {
		s.Logger.Warn("auto-invite: record outcome", "ticket_id", p.TicketID, "error", err)
	}
	return status, reason
}
