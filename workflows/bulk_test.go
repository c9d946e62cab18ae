package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
)

// bulkHarness runs the bulk workflow with its activities mocked and real
// invitation children (whose own activities are mocked too).
type bulkHarness struct {
	env      *testsuite.TestWorkflowEnvironment
	pages    [][]int64 // eligible contacts per page; the last page ends the selection
	pageFn   func(context.Context, activities.BulkPageInput) (activities.BulkPageResult, error)
	recorded []activities.BulkOutcome
	finished []portal.BulkStatus
	cursors  []int64
	// recordFn is the children's RecordInvitation; childFailures what
	// they reported to the job when they failed.
	recordFn      func(context.Context, activities.RecordInput) (activities.RecordResult, error)
	childFailures []activities.BulkChildFailure
}

func newBulkHarness(t *testing.T, pages ...[]int64) *bulkHarness {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	h := &bulkHarness{env: env, pages: pages}
	var a *activities.Activities
	env.RegisterActivity(a)
	env.RegisterWorkflow(Invitation)
	h.pageFn = h.page
	env.OnActivity(a.BulkPage, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.BulkPageInput) (activities.BulkPageResult, error) {
		return h.pageFn(ctx, in)
	})
	env.OnActivity(a.RecordBulkOutcomes, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.BulkOutcomesInput) error {
		h.recorded = append(h.recorded, in.Outcomes...)
		return nil
	})
	env.OnActivity(a.FinishBulkJob, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishBulkInput) error {
		h.finished = append(h.finished, in.Status)
		return nil
	})
	// The children's own activities: they record, send, then wait days.
	h.recordFn = func(context.Context, activities.RecordInput) (activities.RecordResult, error) {
		return activities.RecordResult{}, nil
	}
	env.OnActivity(a.RecordInvitation, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.RecordInput) (activities.RecordResult, error) {
		return h.recordFn(ctx, in)
	})
	env.OnActivity(a.IssueToken, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.RecordBulkChildFailure, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.BulkChildFailure) error {
		h.childFailures = append(h.childFailures, in)
		return nil
	})
	env.OnActivity(a.SendInvitation, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.CloseInvitation, mock.Anything, mock.Anything).Return(nil)
	return h
}

// page serves the harness's pages by cursor: page i starts after contact
// (i*1000) and its IDs are what the test gave.
func (h *bulkHarness) page(_ context.Context, in activities.BulkPageInput) (activities.BulkPageResult, error) {
	h.cursors = append(h.cursors, in.After)
	i := int(in.After / 1000)
	if i >= len(h.pages) {
		return activities.BulkPageResult{Next: in.After, Done: true}, nil
	}
	return activities.BulkPageResult{Eligible: h.pages[i], Examined: len(h.pages[i]), Next: int64(i+1) * 1000, Done: i == len(h.pages)-1}, nil
}

func ids(from, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(from + i)
	}
	return out
}

func bulkInput() BulkInput {
	return BulkInput{JobID: "job-1", HelpCenterID: 1, HelpCenterSlug: "acme", Policy: PolicyFrom(portal.DefaultInvitePolicy()),
		PageSize: 100, Window: 10, ChildrenPerRun: 150}
}

func count(outcomes []activities.BulkOutcome, kind portal.Outcome) int {
	n := 0
	for _, o := range outcomes {
		if o.Outcome == kind {
			n++
		}
	}
	return n
}

func TestBulkContinuesAsNewCarryingCursorAndCounts(t *testing.T) {
	h := newBulkHarness(t, ids(1, 100), ids(101, 100), ids(201, 50))
	h.env.ExecuteWorkflow(BulkInvite, bulkInput())

	// 200 started in the first run: past ChildrenPerRun, so it continues
	// as new after the second page with the cursor and counts.
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(h.env.GetWorkflowError(), &can), "want continue-as-new, got %v", h.env.GetWorkflowError())
	var next BulkInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, int64(2000), next.Cursor)
	require.Equal(t, 200, next.Progress.Invited)
	require.Equal(t, 2, next.Progress.Pages)
	require.Equal(t, []int64{0, 1000}, h.cursors)
	require.Empty(t, h.finished, "the job is not finished by a continue-as-new")
	require.Equal(t, 200, count(h.recorded, portal.OutcomeInvited))

	// The next run picks up where the first stopped.
	h2 := newBulkHarness(t, ids(1, 100), ids(101, 100), ids(201, 50))
	h2.env.ExecuteWorkflow(BulkInvite, next)
	require.NoError(t, h2.env.GetWorkflowError())
	var p BulkProgress
	require.NoError(t, h2.env.GetWorkflowResult(&p))
	require.Equal(t, []int64{2000}, h2.cursors)
	require.Equal(t, 250, p.Invited)
	require.Equal(t, 2, p.Runs)
	require.Equal(t, []portal.BulkStatus{portal.BulkCompleted}, h2.finished)
}

func TestBulkCountsARunningInvitationAsAlreadyInvited(t *testing.T) {
	// Contact 5 is on two pages: its invitation from the first page is
	// still running (waiting for the customer) when the second page comes.
	h := newBulkHarness(t, []int64{4, 5}, []int64{5, 6})
	h.env.ExecuteWorkflow(BulkInvite, bulkInput())
	require.NoError(t, h.env.GetWorkflowError())
	var p BulkProgress
	require.NoError(t, h.env.GetWorkflowResult(&p))
	require.Equal(t, 3, p.Invited)
	require.Equal(t, 1, p.AlreadyInvited)
	require.Zero(t, p.Failed)
	require.Contains(t, h.recorded, activities.BulkOutcome{ContactID: 5, Outcome: portal.OutcomeAlreadyInvited})
}

func TestBulkCancelStopsFurtherInvitations(t *testing.T) {
	h := newBulkHarness(t, ids(1, 20), ids(101, 20), ids(201, 20))
	calls := 0
	h.pageFn = func(ctx context.Context, in activities.BulkPageInput) (activities.BulkPageResult, error) {
		calls++
		if calls == 2 {
			// The second page read fails once; the cancel arrives during
			// the retry's backoff.
			return activities.BulkPageResult{}, errors.New("database briefly unavailable")
		}
		return h.page(ctx, in)
	}
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(BulkCancelSignal, nil) }, 500*time.Millisecond)
	h.env.ExecuteWorkflow(BulkInvite, bulkInput())
	require.NoError(t, h.env.GetWorkflowError())
	var p BulkProgress
	require.NoError(t, h.env.GetWorkflowResult(&p))
	require.True(t, p.Cancelled)
	require.Equal(t, 20, p.Invited, "only the first page was invited")
	require.Equal(t, []portal.BulkStatus{portal.BulkCancelled}, h.finished)
}

func TestBulkDryRunStartsNoInvitation(t *testing.T) {
	// In a dry run the page activity records what would happen and hands
	// back no contact to invite.
	h := newBulkHarness(t, nil, nil)
	in := bulkInput()
	in.DryRun = true
	h.env.ExecuteWorkflow(BulkInvite, in)
	require.NoError(t, h.env.GetWorkflowError())
	var p BulkProgress
	require.NoError(t, h.env.GetWorkflowResult(&p))
	require.Zero(t, p.Invited)
	require.Equal(t, 2, p.Pages)
	require.Equal(t, []portal.BulkStatus{portal.BulkCompleted}, h.finished)
}

func TestBulkThatCannotReadItsSelectionIsMarkedFailed(t *testing.T) {
	h := newBulkHarness(t, ids(1, 5))
	h.pageFn = func(context.Context, activities.BulkPageInput) (activities.BulkPageResult, error) {
		return activities.BulkPageResult{}, errNonRetryable
	}
	h.env.ExecuteWorkflow(BulkInvite, bulkInput())
	require.Error(t, h.env.GetWorkflowError())
	require.Equal(t, []portal.BulkStatus{portal.BulkFailed}, h.finished)
}

var errNonRetryable = temporal.NewNonRetryableApplicationError("selection is gone", "Gone", nil)

func TestBulkResendSignalsEachPendingInvitationOnceAndCountsOneThatClosedAsFailed(t *testing.T) {
	h := newBulkHarness(t)
	h.pageFn = func(_ context.Context, in activities.BulkPageInput) (activities.BulkPageResult, error) {
		return activities.BulkPageResult{Resend: []int64{1, 2, 3}, Examined: 3, Next: 3, Done: true}, nil
	}
	// The test environment runs each mocked signal on its own goroutine.
	var mu sync.Mutex
	signalled := map[string]int{}
	for _, id := range []int64{1, 2, 3} {
		wfID := InvitationWorkflowID("acme", id)
		var err error
		if id == 2 {
			err = errors.New("the invitation closed")
		}
		h.env.OnSignalExternalWorkflow(mock.Anything, wfID, "", ResendSignal, mock.Anything).Return(func(_, workflowID, _, _ string, _ any) error {
			mu.Lock()
			defer mu.Unlock()
			signalled[workflowID]++
			return err
		})
	}
	h.env.ExecuteWorkflow(BulkInvite, bulkInput())
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, map[string]int{"invitation/acme/1": 1, "invitation/acme/2": 1, "invitation/acme/3": 1}, signalled)
	require.Equal(t, 2, count(h.recorded, portal.OutcomeInvited))
	require.Equal(t, 1, count(h.recorded, portal.OutcomeFailed))
	require.Equal(t, []portal.BulkStatus{portal.BulkCompleted}, h.finished)
}
