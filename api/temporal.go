package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
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
