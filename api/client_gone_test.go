package api

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestARequestWhoseClientWentAwayIsA499AtInfo: a store or Temporal call
// that fails because the client went away is the client's doing, so it is
// answered and logged as 499 at info level, never as a 500 at error
// level that an alert on 5xx would wake someone for.
func TestARequestWhoseClientWentAwayIsA499AtInfo(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c.Request = httptest.NewRequestWithContext(ctx, "GET", "/api/v1/contacts", nil)
	s.internal(c, fmt.Errorf("list contacts: %w", context.Canceled))
	if w.Code != StatusClientClosedRequest {
		t.Fatalf("status %d, want 499", w.Code)
	}
	if got := logs.String(); !strings.Contains(got, "level=INFO") || !strings.Contains(got, "client closed request") || strings.Contains(got, "level=ERROR") {
		t.Fatalf("log: %s", got)
	}

	// The same failure while the client still waits is ours: 500, error.
	logs.Reset()
	w = httptest.NewRecorder()
	c, _ = gin.CreateTestContext(w)
	c.Request = httptest.NewRequestWithContext(context.Background(), "GET", "/api/v1/contacts", nil)
	s.internal(c, fmt.Errorf("list contacts: %w", context.Canceled))
	if w.Code != 500 || !strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("status %d, log %s", w.Code, logs.String())
	}
}
