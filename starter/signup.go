package starter

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// Signup records a self sign-up to hc and hands it to the address's
// sign-up workflow, which sends the verification link. There is one
// sign-up per address and help center: a repeat while one waits for its
// link reaches the waiting one, which sends the same link again at most
// once per workflows.DefaultSignupResendInterval, and the repeat's own
// record and password are dropped. An address whose access is waiting,
// kept out by an admin or already invited gets nothing more; one with an
// active account gets an email saying so instead of a second account.
// passwordHash is staged only for a new account. The caller answers the
// same in every case.
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
	exists := access == portal.AccessActive
	su := &store.Signup{ID: uuid.NewString(), HelpCenterID: hc.ID, ContactID: ct.ID,
		WorkflowID: workflows.SignupWorkflowID(hc.Slug, ct.ID)}
	staged := passwordHash
	if exists {
		staged = ""
	}
	if err := s.Store.CreateSignup(ctx, su, uuid.NewString(), staged); err != nil {
		return err
	}
	in := workflows.SignupInput{
		SignupID: su.ID, HelpCenterID: hc.ID, HelpCenterSlug: hc.Slug, NeedsApproval: hc.SignupRequiresApproval,
		LinkLifetime: workflows.Duration(time.Duration(hc.InvitePolicy.LinkLifetimeHours) * time.Hour), AccountExists: exists,
		MailTaskQueue: s.MailTaskQueue, ResendInterval: workflows.Duration(workflows.DefaultSignupResendInterval),
	}
	// A run that is closing (its link just expired, or it is being
	// cancelled below) can't take the sign-up; once it has ended, a new
	// run starts. A few short waits, about three seconds in all, cover
	// that.
	for wait := 100 * time.Millisecond; wait < 4*time.Second; wait *= 2 {
		st, runID, err := s.requestSignup(ctx, su.WorkflowID, in)
		switch {
		case err == nil && st.SignupID == su.ID:
			return nil
		case err == nil && st.Status != portal.SignupExpired && st.Status != portal.SignupRejected && st.Status != portal.SignupUndeliverable:
			closed, cerr := s.closedInStore(ctx, st)
			if cerr != nil {
				return cerr
			}
			if !closed {
				// Another sign-up of this address is under way and has
				// answered; this one is not needed.
				s.Logger.Info("repeated sign-up reached the running one", "workflow_id", su.WorkflowID, "resends", st.Resends)
				return s.Store.DropSignup(ctx, su.ID)
			}
			// The running sign-up's link was killed under it (its
			// contact's address changed): end that run, and only that
			// run, so this sign-up takes its place.
			if err := s.Temporal.CancelWorkflow(ctx, su.WorkflowID, runID); err != nil && !isCompleted(err) {
				return err
			}
		case err != nil && !isCompleted(err):
			// The record stays: the workflow may have started. One that
			// never gets a link is purged with its password.
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return errors.New("sign-up: the address's earlier sign-up is still closing")
}

// closedInStore reports whether a sign-up the workflow still waits on was
// closed in Postgres meanwhile (an admin changed the contact's address,
// which kills its link).
func (s *Starter) closedInStore(ctx context.Context, st workflows.SignupState) (bool, error) {
	if st.Status != portal.SignupVerifying {
		return false, nil
	}
	su, err := s.Store.SignupByID(ctx, st.SignupID)
	if err != nil {
		return false, err
	}
	return su.Status != portal.SignupVerifying, nil
}

// requestSignup starts the address's sign-up workflow with in, or finds
// the one running, and returns the state and the run of the one that
// answers.
func (s *Starter) requestSignup(ctx context.Context, id string, in workflows.SignupInput) (workflows.SignupState, string, error) {
	summary, details := signupSummary(in.HelpCenterSlug, in.SignupID)
	start := s.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID: id, TaskQueue: s.TaskQueue, StaticSummary: summary, StaticDetails: details,
		// A repeat never kills or restarts the running sign-up mid-step.
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.HelpCenterKey.ValueSet(in.HelpCenterSlug)),
	}, workflows.Signup, in)
	handle, err := s.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.RequestUpdate,
			Args: []any{workflows.SignupRequest{SignupID: in.SignupID}}, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	var st workflows.SignupState
	if err != nil {
		return st, "", err
	}
	err = handle.Get(ctx, &st)
	return st, handle.RunID(), err
}

// isCompleted reports an update that reached a run as it completed: the
// server answers "workflow execution already completed" as NotFound.
func isCompleted(err error) bool {
	var notFound *serviceerror.NotFound
	return errors.As(err, &notFound)
}
