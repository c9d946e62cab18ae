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
	set := s.BulkSettings.Resolve()
	summary, details := bulkSummary(hc, job)
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       job.WorkflowID,
		StaticSummary:            summary,
		StaticDetails:            details,
		TaskQueue:                s.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.HelpCenterKey.ValueSet(hc.Slug), workflows.BulkJobKey.ValueSet(job.ID)),
	}, workflows.BulkInvite, workflows.BulkInput{
		JobID: job.ID, HelpCenterID: hc.ID, HelpCenterSlug: hc.Slug, Policy: workflows.PolicyFrom(hc.InvitePolicy),
		MailTaskQueue: s.MailTaskQueue, DryRun: job.DryRun,
		PageSize: set.PageSize, Window: set.Window, ChildrenPerRun: set.ChildrenPerRun,
		Actor: job.CreatedBy, RequestID: job.RequestID,
	})
	if err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return err
	}
	return s.Store.MarkBulkStarted(ctx, job.ID)
}

// BulkSettings size a bulk job's work (BULK_PAGE_SIZE, BULK_WINDOW,
// BULK_CHILDREN_PER_RUN). They travel in the workflow's input, so a
// deploy that changes them changes new jobs only, never a running one.
type BulkSettings struct {
	// PageSize: contacts read per page.
	PageSize int
	// Window: invitation starts in flight at once.
	Window int
	// ChildrenPerRun: invitations started before the job continues as new,
	// which bounds each run's history.
	ChildrenPerRun int
}

// Bounds of the bulk settings: below them a job crawls, above them one
// run's history or one page's activity result grows past what Temporal
// handles well (a child costs about five history events).
var (
	DefaultBulkSettings = BulkSettings{PageSize: 100, Window: 25, ChildrenPerRun: 500}
	MinBulkSettings     = BulkSettings{PageSize: 10, Window: 1, ChildrenPerRun: 50}
	MaxBulkSettings     = BulkSettings{PageSize: 1000, Window: 200, ChildrenPerRun: 2000}
)

// Resolve fills unset values with the defaults and clamps the rest to
// their bounds.
func (b BulkSettings) Resolve() BulkSettings {
	pick := func(v, def, lo, hi int) int {
		if v <= 0 {
			v = def
		}
		return min(max(v, lo), hi)
	}
	d, lo, hi := DefaultBulkSettings, MinBulkSettings, MaxBulkSettings
	return BulkSettings{
		PageSize:       pick(b.PageSize, d.PageSize, lo.PageSize, hi.PageSize),
		Window:         pick(b.Window, d.Window, lo.Window, hi.Window),
		ChildrenPerRun: pick(b.ChildrenPerRun, d.ChildrenPerRun, lo.ChildrenPerRun, hi.ChildrenPerRun),
	}
}
