package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// CheckConsistency reports every inconsistency between the records and
// between the records and Temporal, one finding at a time: Postgres's own
// checks first, then pending invitations whose run is gone.
func (s *Service) CheckConsistency(ctx context.Context, grace time.Duration, emit func(store.Finding) error) error {
	if err := s.Store.CheckConsistency(ctx, grace, emit); err != nil {
		return err
	}
	return PendingRunsClosed(ctx, s.Temporal, s.Store, emit)
}

// PendingRunsClosed finds invitations pending in Postgres whose workflow
// run (the invitation's ID is its run ID) Temporal reports closed or does
// not know: nothing will ever send, expire or accept them. A run closing
// while the check looks records its outcome first, so an invitation is
// read again before it is reported.
func PendingRunsClosed(ctx context.Context, tc client.Client, st *store.Store, emit func(store.Finding) error) error {
	after := ""
	for {
		page, err := st.PendingRuns(ctx, after, 200)
		if err != nil {
			return err
		}
		for _, p := range page {
			state, err := runState(ctx, tc, p.WorkflowID, p.ID)
			if err != nil {
				return err
			}
			if state == "" {
				continue
			}
			inv, err := st.InvitationByID(ctx, p.ID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err != nil || inv.Status != portal.InvitationPending {
				continue
			}
			f := store.Finding{Kind: store.FindingPendingRunClosed, HelpCenterID: p.HelpCenterID, IDs: []string{p.ID, p.WorkflowID},
				Detail: fmt.Sprintf("invitation of contact %d is pending but its run is %s", p.ContactID, state)}
			if err := emit(f); err != nil {
				return err
			}
		}
		if len(page) < 200 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// runState is "" while the invitation's chain of runs goes on, else what
// became of it. An invitation workflow continues as new, so its ID names
// the first run of a chain: the workflow's current run is asked first,
// and it speaks for the invitation when its chain began with it. Else
// the chain ended, or the workflow ID was taken by a later invitation,
// and the first run's own state is told (unknown to Temporal: never
// started, or closed longer ago than the namespace's retention).
func runState(ctx context.Context, tc client.Client, workflowID, runID string) (string, error) {
	current, err := describe(ctx, tc, workflowID, "")
	if err != nil {
		return "", err
	}
	if info := current.GetWorkflowExecutionInfo(); info.GetFirstRunId() == runID || info.GetExecution().GetRunId() == runID {
		return closedAs(info.GetStatus()), nil
	}
	first, err := describe(ctx, tc, workflowID, runID)
	if err != nil {
		return "", err
	}
	if first == nil {
		return "unknown to Temporal", nil
	}
	status := first.GetWorkflowExecutionInfo().GetStatus()
	if status == enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW || status == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		// Its chain is no longer the workflow's current one.
		return "replaced by a later run of " + workflowID, nil
	}
	return closedAs(status), nil
}

// describe answers nil for a run Temporal does not know.
func describe(ctx context.Context, tc client.Client, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	d, err := tc.DescribeWorkflow(ctx, workflowID, runID)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("describe %s run %q: %w", workflowID, runID, err)
	}
	return d.RawResponse, nil
}

func closedAs(status enums.WorkflowExecutionStatus) string {
	if status == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return ""
	}
	return "closed as " + status.String()
}
