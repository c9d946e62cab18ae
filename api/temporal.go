package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// temporalError answers an error from Temporal; this is the one place its
// errors become HTTP meanings.
func (s *Server) temporalError(c *gin.Context, err error) {
	var notFound *serviceerror.NotFound
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	var unavailable *serviceerror.Unavailable
	switch {
	case errors.As(err, &notFound):
		abort(c, http.StatusNotFound, "workflow_not_found", "the invitation's workflow is no longer running")
	case errors.As(err, &started):
		abort(c, http.StatusConflict, "already_started", "the workflow is already running")
	case errors.As(err, &unavailable), errors.Is(err, context.DeadlineExceeded):
		abort(c, http.StatusServiceUnavailable, "temporal_unavailable", "the workflow service is unavailable; try again")
	default:
		s.internal(c, err)
	}
}

// startInvitation starts the contact's invitation workflow, or finds the
// one already running, and returns its state once the invitation is on
// record. Update-with-start makes this one round trip and idempotent: a
// second invite while one is pending returns the pending one.
func (s *Server) startInvitation(ctx context.Context, hc *store.HelpCenter, contactID int64) (workflows.InvitationState, error) {
	id := workflows.InvitationWorkflowID(hc.Slug, contactID)
	var st workflows.InvitationState
	for attempt := 0; ; attempt++ {
		start := s.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
			ID:                       id,
			TaskQueue:                s.TaskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.InvitationStatusKey.ValueSet(string(portal.InvitationPending)),
				workflows.HelpCenterKey.ValueSet(hc.Slug)),
		}, workflows.Invitation, workflows.InvitationInput{
			HelpCenterID: hc.ID, HelpCenterSlug: hc.Slug, ContactID: contactID,
			Policy: workflows.PolicyFrom(hc.InvitePolicy), MailTaskQueue: s.MailTaskQueue,
		})
		handle, err := s.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: start,
			UpdateOptions: client.UpdateWorkflowOptions{
				WorkflowID: id, UpdateName: workflows.DescribeUpdate, WaitForStage: client.WorkflowUpdateStageCompleted,
			},
		})
		if err != nil {
			return st, err
		}
		if err := handle.Get(ctx, &st); err != nil {
			return st, err
		}
		if st.Status == portal.InvitationPending || st.Blocked || attempt == 2 {
			return st, nil
		}
		// The run found has just closed its invitation (revoked, expired)
		// and is finishing; once it completes, the next start is a new
		// invitation.
		_ = s.Temporal.GetWorkflow(ctx, id, handle.RunID()).Get(ctx, nil)
	}
}
