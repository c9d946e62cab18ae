package starter

import (
	"context"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// AccessChange runs a deactivation or reactivation as a workflow and
// returns once the status change is in the database: by then the person's
// sessions have ended. The email and the revocation of a pending
// invitation follow durably. actor and requestID go to the audit event
// written with the change.
func (s *Starter) AccessChange(ctx context.Context, hc *store.HelpCenter, accountID int64, action portal.AccessAction, actor, requestID string) (activities.AccessChange, error) {
	id := workflows.AccessWorkflowID(hc.Slug, accountID, action, uuid.NewString())
	summary, details := accessSummary(hc, accountID, action)
	start := s.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID: id, TaskQueue: s.TaskQueue, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary: summary, StaticDetails: details,
	}, workflows.ChangeAccess, workflows.AccessChangeInput{
		HelpCenterID: hc.ID, AccountID: accountID, Action: action, MailTaskQueue: s.MailTaskQueue,
		Actor: actor, RequestID: requestID,
	})
	handle, err := s.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.AppliedUpdate,
			WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	var change activities.AccessChange
	if err != nil {
		return change, err
	}
	err = handle.Get(ctx, &change)
	return change, err
}
