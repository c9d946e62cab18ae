package workflows

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
)

// Message names of the bulk invitation workflow.
const (
	// BulkProgressQuery answers the job's progress as the workflow sees it.
	BulkProgressQuery = "progress"
	// BulkCancelSignal stops further invitations; started ones go on.
	// It stays for callers of older versions.
	BulkCancelSignal = "cancel"
	// BulkCancelUpdate stops further invitations and answers once the job
	// is recorded as cancelled, or refuses with RejectBulkNotRunning.
	BulkCancelUpdate = "cancel"
)

// BulkJobKey names the bulk job on the invitations it starts, so an
// operator can list them in the Temporal UI.
var BulkJobKey = temporal.NewSearchAttributeKeyKeyword("BulkJob")

// BulkWorkflowID is the ID of a bulk job's workflow.
func BulkWorkflowID(jobID string) string { return "bulk-invitation/" + jobID }

// The settings of bulk jobs started before the API resolved them and
// passed them in the input (contacts per page, invitation starts in
// flight at once, invitations per run before continuing as new). A
// running job's history depends on them: never change these; change the
// configuration (BULK_PAGE_SIZE, BULK_WINDOW, BULK_CHILDREN_PER_RUN).
const (
	legacyBulkPageSize       = 100
	legacyBulkWindow         = 25
	legacyBulkChildrenPerRun = 500
)

// BulkInput starts (or continues) a bulk job.
type BulkInput struct {
	JobID          string
	HelpCenterID   int64
	HelpCenterSlug string
	Policy         Policy
	MailTaskQueue  string
	DryRun         bool
	// PageSize, Window and ChildrenPerRun are the job's settings, resolved
	// and clamped by the starter; zero (jobs started before) means the
	// legacy values.
	PageSize       int
	Window         int
	ChildrenPerRun int
	// Actor and RequestID name who started the job; its invitations are
	// recorded as created by them (invitation.created, with the job's ID
	// in the details). IDs only; empty in jobs started before: system.
	Actor     string `json:",omitempty"`
	RequestID string `json:",omitempty"`

	// Carried across continue-as-new.
	Cursor   int64
	Progress BulkProgress
}

// BulkProgress is what the progress query answers.
type BulkProgress struct {
	Invited        int
	AlreadyInvited int
	Failed         int
	Pages          int
	Runs           int
	Cancelled      bool
}

type bulk struct {
	in       BulkInput
	progress BulkProgress
	cancelCh workflow.ReceiveChannel
	// finished: the job's end is recorded, so a cancel can answer.
	finished bool
	// cancelledBy names who cancelled, from the cancel update.
	cancelledBy CommandRequest
}

// BulkInvite pages through a job's selection and starts an invitation
// workflow for each eligible contact, as an abandoned child: the
// invitations outlive this workflow and its continue-as-new. It waits only
// for each child to start, a bounded number at a time, and continues as
// new every ChildrenPerRun invitations so no run's history grows with the
// size of the job.
func BulkInvite(ctx workflow.Context, in BulkInput) (BulkProgress, error) {
	if in.PageSize <= 0 {
		in.PageSize = legacyBulkPageSize
	}
	if in.Window <= 0 {
		in.Window = legacyBulkWindow
	}
	if in.ChildrenPerRun <= 0 {
		in.ChildrenPerRun = legacyBulkChildrenPerRun
	}
	b := &bulk{in: in, progress: in.Progress, cancelCh: workflow.GetSignalChannel(ctx, BulkCancelSignal)}
	b.progress.Runs++
	if err := workflow.SetQueryHandler(ctx, BulkProgressQuery, func() (BulkProgress, error) { return b.progress, nil }); err != nil {
		return b.progress, err
	}
	// No version gate: a handler writes nothing to history, and a cancel
	// by update ends the job as the signal did. Its argument (who asked)
	// reaches only an activity's input, which replay does not compare.
	if err := workflow.SetUpdateHandlerWithOptions(ctx, BulkCancelUpdate, b.cancel, workflow.UpdateHandlerOptions{Validator: b.validateCancel}); err != nil {
		return b.progress, err
	}
	return b.run(withActivityOptions(ctx))
}

// cancelled drains the cancel signal; once seen, it stays seen.
func (b *bulk) cancelled() bool {
	for b.cancelCh.ReceiveAsync(nil) {
		b.progress.Cancelled = true
	}
	return b.progress.Cancelled
}

// validateCancel refuses a cancel of a job already cancelled or ending.
func (b *bulk) validateCancel(workflow.Context, CommandRequest) error {
	if b.cancelled() || b.finished {
		return temporal.NewApplicationError("the bulk job is no longer running", RejectBulkNotRunning)
	}
	return nil
}

// cancel stops the job from starting more invitations and answers once
// its end is recorded; the invitations it started go on.
func (b *bulk) cancel(ctx workflow.Context, req CommandRequest) (BulkProgress, error) {
	workflow.GetLogger(ctx).Info("bulk job cancelled by an admin", "invited", b.progress.Invited)
	b.progress.Cancelled, b.cancelledBy = true, req
	err := workflow.Await(ctx, func() bool { return b.finished })
	return b.progress, err
}

func (b *bulk) run(ctx workflow.Context) (BulkProgress, error) {
	var a *activities.Activities
	startedThisRun := 0
	for !b.cancelled() {
		var page activities.BulkPageResult
		if err := workflow.ExecuteActivity(ctx, a.BulkPage, activities.BulkPageInput{
			JobID: b.in.JobID, After: b.in.Cursor, Limit: b.in.PageSize,
		}).Get(ctx, &page); err != nil {
			return b.fail(ctx, err)
		}
		b.progress.Pages++
		outcomes := b.startChildren(ctx, page.Eligible)
		// Only a re-invite's pages name pending invitations to resend, so
		// every history recorded before bulkResendChange replays without
		// reaching this marker.
		if len(page.Resend) > 0 && workflow.GetVersion(ctx, bulkResendChange, workflow.DefaultVersion, 1) == 1 {
			outcomes = append(outcomes, b.resendPending(ctx, page.Resend)...)
		}
		if err := workflow.ExecuteActivity(ctx, a.RecordBulkOutcomes, activities.BulkOutcomesInput{
			JobID: b.in.JobID, Outcomes: outcomes,
		}).Get(ctx, nil); err != nil {
			return b.fail(ctx, err)
		}
		// Contacts of a page that a cancel cut short were never started;
		// the cursor passes them all the same, since the job is ending.
		b.in.Cursor = page.Next
		startedThisRun += len(outcomes)
		if page.Done {
			break
		}
		if !b.cancelled() && (startedThisRun >= b.in.ChildrenPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested()) {
			next := b.in
			next.Progress = b.progress
			return b.progress, workflow.NewContinueAsNewError(ctx, BulkInvite, next)
		}
	}
	status := portal.BulkCompleted
	if b.progress.Cancelled {
		status = portal.BulkCancelled
	}
	if err := workflow.ExecuteActivity(ctx, a.FinishBulkJob, activities.FinishBulkInput{JobID: b.in.JobID, Status: status,
		Actor: b.cancelledBy.Actor, RequestID: b.cancelledBy.RequestID}).Get(ctx, nil); err != nil {
		return b.progress, err
	}
	b.finished = true
	return b.progress, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

func (b *bulk) fail(ctx workflow.Context, cause error) (BulkProgress, error) {
	var a *activities.Activities
	// Record the failure with a fresh context so it is written even when
	// the cause was a cancellation of the workflow itself.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	_ = workflow.ExecuteActivity(dctx, a.FinishBulkJob, activities.FinishBulkInput{JobID: b.in.JobID, Status: portal.BulkFailed}).Get(dctx, nil)
	b.finished = true
	return b.progress, cause
}

type childStart struct {
	contactID int64
	started   workflow.Future
}

// startChildren starts an invitation per contact, at most Window waiting
// to start at once, and returns each contact's outcome. A contact whose
// invitation already runs counts as already invited: it gets no second
// workflow and no second email. A started invitation counts as invited;
// if it later ends in failure, it moves itself to failed in the job's
// results (Invitation's reportToBulkJob), so the counts in Postgres, not
// the progress query, are the job's final word.
func (b *bulk) startChildren(ctx workflow.Context, ids []int64) []activities.BulkOutcome {
	outcomes := make([]activities.BulkOutcome, 0, len(ids))
	inflight := make([]childStart, 0, b.in.Window)
	settle := func(c childStart) {
		err := c.started.Get(ctx, nil)
		switch {
		case err == nil:
			b.progress.Invited++
			outcomes = append(outcomes, activities.BulkOutcome{ContactID: c.contactID, Outcome: portal.OutcomeInvited})
		case temporal.IsWorkflowExecutionAlreadyStartedError(err):
			b.progress.AlreadyInvited++
			outcomes = append(outcomes, activities.BulkOutcome{ContactID: c.contactID, Outcome: portal.OutcomeAlreadyInvited})
		default:
			b.progress.Failed++
			outcomes = append(outcomes, activities.BulkOutcome{ContactID: c.contactID, Outcome: portal.OutcomeFailed, Detail: err.Error()})
		}
	}
	for _, id := range ids {
		if b.cancelled() {
			break
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: InvitationWorkflowID(b.in.HelpCenterSlug, id),
			// Metadata, not part of the command replay compares.
			StaticSummary:         fmt.Sprintf("Invitation of contact %d to %s (bulk job %s)", id, b.in.HelpCenterSlug, b.in.JobID),
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				InvitationStatusKey.ValueSet(string(portal.InvitationPending)),
				HelpCenterKey.ValueSet(b.in.HelpCenterSlug),
				BulkJobKey.ValueSet(b.in.JobID)),
		})
		f := workflow.ExecuteChildWorkflow(cctx, Invitation, InvitationInput{
			HelpCenterID: b.in.HelpCenterID, HelpCenterSlug: b.in.HelpCenterSlug, ContactID: id,
			Policy: b.in.Policy, MailTaskQueue: b.in.MailTaskQueue, BulkJobID: b.in.JobID,
			Actor: b.in.Actor, RequestID: b.in.RequestID,
		})
		inflight = append(inflight, childStart{contactID: id, started: f.GetChildWorkflowExecution()})
		if len(inflight) >= b.in.Window {
			settle(inflight[0])
			inflight = inflight[1:]
		}
	}
	for _, c := range inflight {
		settle(c)
	}
	return outcomes
}

// bulkResendChange lets a bulk re-invite give pending invitations a new
// link (the resend signal) instead of starting new ones.
const bulkResendChange = "bulk-resend-pending"

// resendPending signals each contact's pending invitation to replace its
// link and send it again, at most Window signals in flight at once. The
// signal is a command of this workflow's history, so a replay or a retry
// never sends a second one; an invitation that closed before it arrived
// counts as failed, with the reason.
func (b *bulk) resendPending(ctx workflow.Context, ids []int64) []activities.BulkOutcome {
	outcomes := make([]activities.BulkOutcome, 0, len(ids))
	inflight := make([]childStart, 0, b.in.Window)
	settle := func(c childStart) {
		if err := c.started.Get(ctx, nil); err != nil {
			b.progress.Failed++
			outcomes = append(outcomes, activities.BulkOutcome{ContactID: c.contactID, Outcome: portal.OutcomeFailed, Detail: err.Error()})
			return
		}
		b.progress.Invited++
		outcomes = append(outcomes, activities.BulkOutcome{ContactID: c.contactID, Outcome: portal.OutcomeInvited, Detail: "new link to the pending invitation"})
	}
	for _, id := range ids {
		if b.cancelled() {
			break
		}
		f := workflow.SignalExternalWorkflow(ctx, InvitationWorkflowID(b.in.HelpCenterSlug, id), "", ResendSignal, nil)
		inflight = append(inflight, childStart{contactID: id, started: f})
		if len(inflight) >= b.in.Window {
			settle(inflight[0])
			inflight = inflight[1:]
		}
	}
	for _, c := range inflight {
		settle(c)
	}
	return outcomes
}
