package starter

import (
	"context"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// ChangeEmail applies a recorded change of a contact's address through
// its workflow and returns once the change is in the database: by then
// the account's sessions have ended and its pending links are dead. The
// revocation of pending invitations and the notice to the old address
// follow durably. A change that can no longer apply comes back as an
// error of type workflows.RejectEmailChangeRefused.
func (s *Starter) ChangeEmail(ctx context.Context, ch *store.EmailChange) (workflows.EmailChangeState, error) {
	id := workflows.EmailChangeWorkflowID(ch.ContactID, ch.ID)
	summary, details := emailChangeSummary(ch)
	start := s.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID: id, TaskQueue: s.TaskQueue, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary: summary, StaticDetails: details,
	}, workflows.ChangeEmail, workflows.EmailChangeInput{ChangeID: ch.ID, ContactID: ch.ContactID, MailTaskQueue: s.MailTaskQueue})
	handle, err := s.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.AppliedUpdate,
			WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	var st workflows.EmailChangeState
	if err != nil {
		return st, err
	}
	err = handle.Get(ctx, &st)
	return st, err
}
