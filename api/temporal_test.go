package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal/workflows"
)

// TestTemporalErrorsBecomeTheDocumentedAnswers is the table of what each
// answer from Temporal means over HTTP, refusals of admin commands
// included.
func TestTemporalErrorsBecomeTheDocumentedAnswers(t *testing.T) {
	refusal := func(reason string) error {
		// As the client hands back a validator's refusal: wrapped.
		return fmt.Errorf("update: %w", temporal.NewApplicationError("refused", reason))
	}
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{refusal(workflows.RejectAlreadyAccepted), 409, "already_accepted"},
		{refusal(workflows.RejectRevoked), 409, "revoked"},
		{refusal(workflows.RejectExpired), 409, "expired"},
		{refusal(workflows.RejectUndeliverable), 409, "undeliverable"},
		{refusal(workflows.RejectNotReady), 409, "not_ready"},
		{refusal(workflows.RejectSignupNotWaiting), 409, "not_waiting"},
		{refusal(workflows.RejectBulkNotRunning), 409, "not_running"},
		{serviceerror.NewNotFound("workflow execution already completed"), 404, "workflow_not_found"},
		{serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", ""), 409, "already_started"},
		{serviceerror.NewUnavailable("connection refused"), 503, "temporal_unavailable"},
		{client.NewWorkflowUpdateServiceTimeoutOrCanceledError(context.DeadlineExceeded), 503, "temporal_unavailable"},
		{fmt.Errorf("poll: %w", context.DeadlineExceeded), 503, "temporal_unavailable"},
		{temporal.NewApplicationError("an activity failed", "SomethingElse"), 500, "internal"},
		{errors.New("unexpected"), 500, "internal"},
	} {
		w := httptest.NewRecorder()
		ctx, _ := gin.CreateTestContext(w)
		ctx.Request = httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", nil)
		(&Server{Logger: slog.New(slog.DiscardHandler)}).temporalError(ctx, c.err)
		var body errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("%v: body %s", c.err, w.Body)
		}
		if w.Code != c.status || body.Error.Code != c.code || body.Error.Message == "" {
			t.Errorf("%v: %d %s, want %d %s", c.err, w.Code, w.Body, c.status, c.code)
		}
	}
}

func TestUpdateIDIsTheIdempotencyKeyScopedToItsCommand(t *testing.T) {
	for _, c := range []struct {
		key, command, want string
		ok                 bool
	}{
		{"", "resend/inv/3", "resend/inv/3", true},
		{"  k-1 ", "resend/inv/3", "resend/key/k-1", true},
		// The same key on another command is another update.
		{"k-1", "revoke/inv", "revoke/key/k-1", true},
		{string(make([]byte, 201)), "revoke/inv", "", false},
	} {
		w := httptest.NewRecorder()
		ctx, _ := gin.CreateTestContext(w)
		ctx.Request = httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", nil)
		if c.key != "" {
			ctx.Request.Header.Set("Idempotency-Key", c.key)
		}
		got, ok := updateID(ctx, c.command)
		if got != c.want || ok != c.ok {
			t.Errorf("key %q, command %s: %q %v, want %q %v", c.key, c.command, got, ok, c.want, c.ok)
		}
		if !ok && w.Code != http.StatusBadRequest {
			t.Errorf("over-long key answered %d, want 400", w.Code)
		}
	}
}
