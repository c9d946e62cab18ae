package starter

import (
	"context"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// Bulk starts a stored bulk job's workflow and marks the job started;
// starting it again is harmless.
func (s *Starter) Bulk(ctx context.Context, hc *store.HelpCenter, job *store.BulkJob) error {
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       job.WorkflowID,
		TaskQueue:                s.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.HelpCenterKey.ValueSet(hc.Slug), workflows.BulkJobKey.ValueSet(job.ID)),
	}, workflows.BulkInvite, workflows.BulkInput{
		JobID: job.ID, HelpCenterID: hc.ID, HelpCenterSlug: hc.Slug, Policy: workflows.PolicyFrom(hc.InvitePolicy),
		MailTaskQueue: s.MailTaskQueue, DryRun: job.DryRun,
	})
	if err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return err
	}
	return s.Store.MarkBulkStarted(ctx, job.ID)
}
