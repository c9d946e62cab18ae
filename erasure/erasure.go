// Package erasure closes what erasing a contact leaves in Temporal. The
// database part of an erasure is one transaction (store.EraseContact); it
// records the contact's workflows, which Finish then ends: a cancel
// request first, which each workflow handles by ending where it is, and
// a termination for one still running when the erasure is forced (the
// sweeper forces it once the request that erased has had its chance).
// Every step is safe to repeat.
package erasure

import (
	"context"
	"errors"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal/store"
)

// Reason is what the Temporal UI shows for a workflow ended by an
// erasure.
const Reason = "contact erased"

// Finish asks each of the erasure's workflows to end and removes any
// email a send already under way wrote after the erasure. With force, a
// workflow still running is terminated. Once none runs, the erasure is
// recorded as closed. It answers how many still run.
func Finish(ctx context.Context, st *store.Store, tc client.Client, e *store.Erasure, force bool) (running int, err error) {
	for _, id := range e.WorkflowIDs {
		open, err := isRunning(ctx, tc, id)
		if err != nil {
			return 0, err
		}
		if !open {
			continue
		}
		if force {
			err = tc.TerminateWorkflow(ctx, id, "", Reason)
		} else {
			err = tc.CancelWorkflow(ctx, id, "")
		}
		if err != nil && !gone(err) {
			return 0, err
		}
		running++
	}
	if err := st.ScrubErasure(ctx, e); err != nil {
		return running, err
	}
	if running == 0 {
		return 0, st.CloseErasure(ctx, e.ContactID)
	}
	return running, nil
}

func isRunning(ctx context.Context, tc client.Client, id string) (bool, error) {
	desc, err := tc.DescribeWorkflow(ctx, id, "")
	if gone(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return desc.RawResponse.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}

// gone: no such workflow, or it closed meanwhile.
func gone(err error) bool {
	var notFound *serviceerror.NotFound
	return errors.As(err, &notFound)
}
