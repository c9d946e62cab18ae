package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal/workflows"
)

// temporalError answers an error from Temporal; this is the one place its
// errors become HTTP meanings.
func (s *Server) temporalError(c *gin.Context, err error) {
	var notFound *serviceerror.NotFound
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	var unavailable *serviceerror.Unavailable
	var updateTimeout *client.WorkflowUpdateServiceTimeoutOrCanceledError
	switch {
	case refused(c, err):
	case errors.As(err, &notFound):
		abort(c, http.StatusNotFound, "workflow_not_found", "the invitation's workflow is no longer running")
	case errors.As(err, &started):
		abort(c, http.StatusConflict, "already_started", "the workflow is already running")
	case errors.As(err, &unavailable), errors.As(err, &updateTimeout), errors.Is(err, context.DeadlineExceeded):
		abort(c, http.StatusServiceUnavailable, "temporal_unavailable", "the workflow service is unavailable; try again")
	default:
		s.internal(c, err)
	}
}

// refusal is the 409 that answers a command a workflow refused.
type refusal struct{ code, message string }

// refusals maps the reasons workflows give for refusing an admin's
// command to the codes the API documents.
var refusals = map[string]refusal{
	workflows.RejectAlreadyAccepted:  {"already_accepted", "the invitation was accepted; the contact is a portal user"},
	workflows.RejectRevoked:          {"revoked", "the invitation was revoked"},
	workflows.RejectExpired:          {"expired", "the invitation expired"},
	workflows.RejectUndeliverable:    {"undeliverable", "the invitation could not be delivered to the contact's address"},
	workflows.RejectNotReady:         {"not_ready", "the invitation's first email is still being sent; try again in a moment"},
	workflows.RejectSignupNotWaiting: {"not_waiting", "the sign-up is no longer waiting for a decision"},
	workflows.RejectBulkNotRunning:   {"not_running", "the bulk invitation is no longer running"},
}

// refused answers 409 with its code when a workflow refused the command,
// and reports whether it did.
func refused(c *gin.Context, err error) bool {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return false
	}
	r, ok := refusals[appErr.Type()]
	if ok {
		abort(c, http.StatusConflict, r.code, r.message)
	}
	return ok
}

// refusalCode is the 409 code a workflow's refusal maps to, "" for any
// other error.
func refusalCode(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return refusals[appErr.Type()].code
	}
	return ""
}

// commandTimeout bounds how long a handler waits for a workflow to
// carry out an admin's command; a retry with the same update ID then
// picks up the same command.
const commandTimeout = 30 * time.Second

// updateID names an admin's command as a Temporal update ID, so a retried
// HTTP call is the same update and the workflow runs it once. With an
// Idempotency-Key the caller decides what "the same call" is; without
// one, command names it (each handler says what it chose and why). An
// over-long key answers 400.
func updateID(c *gin.Context, command string) (string, bool) {
	key := strings.TrimSpace(c.GetHeader("Idempotency-Key"))
	if len(key) > 200 {
		abort(c, http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key must be at most 200 characters")
		return "", false
	}
	if key == "" {
		return command, true
	}
	// The command's first word keeps a key reused for another command
	// from answering with the first command's outcome.
	verb, _, _ := strings.Cut(command, "/")
	return verb + "/key/" + key, true
}

// command sends an admin's command as an update to the workflow and
// waits, within commandTimeout, for its outcome into out.
func (s *Server) command(ctx context.Context, opts client.UpdateWorkflowOptions, out any) error {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	opts.WaitForStage = client.WorkflowUpdateStageCompleted
	h, err := s.Temporal.UpdateWorkflow(ctx, opts)
	if err != nil {
		return err
	}
	return h.Get(ctx, out)
}

// earlierOutcome fetches the outcome of an update the workflow already
// received (into out, or the refusal as err), for a retried call whose
// workflow may have moved on or closed since; found is false when there
// is none to give.
func (s *Server) earlierOutcome(ctx context.Context, workflowID, updateID string, out any) (found bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	h := s.Temporal.GetWorkflowUpdateHandle(client.GetWorkflowUpdateHandleOptions{WorkflowID: workflowID, UpdateID: updateID})
	err = h.Get(ctx, out)
	var appErr *temporal.ApplicationError
	if err != nil && !errors.As(err, &appErr) {
		// Unknown update, closed run or Temporal away: nothing to reuse.
		return false, nil
	}
	return true, err
}
