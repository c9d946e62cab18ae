package starter

import (
	"context"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// Signup records a self sign-up to hc and starts its workflow, which
// sends the verification link. An address whose access is waiting, kept
// out by an admin or already invited gets nothing more; one with an
// active account gets an email saying so instead of a second account.
// passwordHash is staged only for a new account.
func (s *Starter) Signup(ctx context.Context, hc *store.HelpCenter, email, name, passwordHash string) error {
	ct, err := s.Store.SignupContact(ctx, email, name)
	if err != nil {
		return err
	}
	access, err := s.Store.AccessStatus(ctx, ct.ID, hc)
	if err != nil {
		return err
	}
	switch access {
	case portal.AccessPendingApproval, portal.AccessDeactivated, portal.AccessRejected, portal.AccessInvited:
		// Waiting, kept out by an admin, or holding an invitation to use:
		// nothing more to do, and nothing to tell an anonymous visitor.
		return nil
	}
	su := &store.Signup{ID: uuid.NewString(), HelpCenterID: hc.ID, ContactID: ct.ID,
		WorkflowID: workflows.SignupWorkflowID(hc.Slug, ct.ID)}
	if err := s.Store.CreateSignup(ctx, su); err != nil {
		return err
	}
	exists := access == portal.AccessActive
	if !exists {
		if err := s.Store.StageSignupCredential(ctx, uuid.NewString(), su.ID, passwordHash); err != nil {
			return err
		}
	}
	_, err = s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: su.WorkflowID, TaskQueue: s.TaskQueue,
		// A new sign-up replaces one still waiting for its link; the old
		// link then says it was replaced.
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.HelpCenterKey.ValueSet(hc.Slug)),
	}, workflows.Signup, workflows.SignupInput{
		SignupID: su.ID, HelpCenterID: hc.ID, HelpCenterSlug: hc.Slug, NeedsApproval: hc.SignupRequiresApproval,
		LinkLifetime: time.Duration(hc.InvitePolicy.LinkLifetimeHours) * time.Hour, AccountExists: exists,
		MailTaskQueue: s.MailTaskQueue,
	})
	return err
}
