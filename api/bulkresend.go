package api

import (
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// maxPendingDays bounds a re-invite's age of pending invitations.
const maxPendingDays = 365

type bulkResendRequest struct {
	Status      string `json:"status"`
	PendingDays *int   `json:"pending_days"`
	DryRun      bool   `json:"dry_run"`
}

// createBulkResend starts a bulk re-invite: a bulk job whose selection is
// the contacts whose latest invitation to the help center has a status.
// An expired or undeliverable invitation is followed by a new one (the
// address must no longer be suppressed), a pending one gets a new link;
// either way the contact keeps one pending invitation and one live link.
// Progress, results, cancel and the Idempotency-Key are a bulk job's.
func (s *Server) createBulkResend(c *gin.Context) {
	hc, ok := s.helpCenter(c)
	if !ok {
		return
	}
	var req bulkResendRequest
	if !decodeJSON(c, &req) {
		return
	}
	status, ok := portal.ParseReinviteStatus(req.Status)
	if !ok {
		invalidField(c, "status", "status must be expired, pending or undeliverable")
		return
	}
	switch {
	case status == portal.ReinvitePending && req.PendingDays == nil:
		invalidField(c, "pending_days", "pending_days is required with status pending: the days since the last link went out")
		return
	case status != portal.ReinvitePending && req.PendingDays != nil:
		invalidField(c, "pending_days", "pending_days goes only with status pending")
		return
	case req.PendingDays != nil && (*req.PendingDays < 1 || *req.PendingDays > maxPendingDays):
		invalidField(c, "pending_days", "pending_days is between 1 and 365")
		return
	}
	key, done := s.bulkByKey(c, hc)
	if done {
		return
	}
	job := &store.BulkJob{ID: uuid.NewString(), HelpCenterID: hc.ID, DryRun: req.DryRun, Selection: portal.SelectInvitations,
		ReinviteStatus: &status, ReinvitePendingDays: req.PendingDays,
		// The pending selection counts its days back from here, on every
		// page alike.
		CreatedAt: time.Now().UTC()}
	job.WorkflowID = workflows.BulkWorkflowID(job.ID)
	if key != "" {
		job.IdempotencyKey = &key
	}
	s.createBulkJob(c, hc, job, nil, key)
}
