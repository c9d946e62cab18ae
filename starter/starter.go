// Package starter starts the portal's workflows on behalf of its callers:
// the JSON API, the customer's pages and the sweeper. It holds how each
// workflow is started (IDs, task queues, conflict policies, search
// attributes), so a start means the same thing wherever it comes from.
// Signals and updates to running workflows stay with their callers.
package starter

import (
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/store"
)

// Starter holds what starting a workflow needs.
type Starter struct {
	Store    *store.Store
	Temporal client.Client
	// TaskQueue is where the workflows run.
	TaskQueue string
	// MailTaskQueue is where the workflows send their email.
	MailTaskQueue string
	Logger        *slog.Logger
	// Tokens keys the IDs of password reset workflows, which name an
	// account by its address without showing it.
	Tokens *credentials.Tokens
	// ResetLinkLifetime and ResetEmailInterval are the password reset
	// settings (PASSWORD_RESET_LINK_LIFETIME, PASSWORD_RESET_EMAIL_INTERVAL).
	ResetLinkLifetime  time.Duration
	ResetEmailInterval time.Duration
	// BulkSettings size bulk jobs; zero values take the defaults.
	BulkSettings BulkSettings
}
