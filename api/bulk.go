package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// maxBulkIDs bounds an explicit selection; larger ones use a filter.
const maxBulkIDs = 50000

type bulkRequest struct {
	ContactIDs []int64              `json:"contact_ids"`
	Filter     *store.ContactFilter `json:"filter"`
	All        bool                 `json:"all"`
	DryRun     bool                 `json:"dry_run"`
}

type bulkView struct {
	ID             string                 `json:"id"`
	WorkflowID     string                 `json:"workflow_id"`
	HelpCenter     string                 `json:"help_center"`
	Status         portal.BulkStatus      `json:"status"`
	DryRun         bool                   `json:"dry_run"`
	Selection      portal.Selection       `json:"selection"`
	Total          int                    `json:"total"`
	Processed      int                    `json:"processed"`
	Invited        int                    `json:"invited"`
	AlreadyInvited int                    `json:"already_invited"`
	Skipped        map[portal.Outcome]int `json:"skipped"`
	Failed         int                    `json:"failed"`
	CreatedAt      time.Time              `json:"created_at"`
	FinishedAt     *time.Time             `json:"finished_at"`
	// Reinvite is a re-invite's selection (selection "invitations").
	Reinvite *reinviteSelection `json:"reinvite,omitempty"`
}

// reinviteSelection selects the contacts whose latest invitation has a
// status; pending ones whose last link went out PendingDays ago or more.
type reinviteSelection struct {
	Status      portal.ReinviteStatus `json:"status"`
	PendingDays *int                  `json:"pending_days"`
}

func viewBulk(j *store.BulkJob, slug string) bulkView {
	skipped := map[portal.Outcome]int{
		portal.ReasonNoEmail: j.SkippedNoEmail, portal.ReasonUnverified: j.SkippedUnverified,
		portal.ReasonAlreadyActive: j.SkippedAlreadyActive, portal.ReasonDeactivated: j.SkippedDeactivated,
		portal.OutcomeNotFound: j.SkippedNotFound, portal.ReasonPendingApproval: j.SkippedPending,
		portal.ReasonRejected: j.SkippedRejected, portal.ReasonDeclined: j.SkippedDeclined,
		portal.ReasonSuppressed: j.SkippedSuppressed,
	}
	processed := j.Invited + j.AlreadyInvited + j.Failed
	for _, n := range skipped {
		processed += n
	}
	v := bulkView{ID: j.ID, WorkflowID: j.WorkflowID, HelpCenter: slug, Status: j.Status, DryRun: j.DryRun,
		Selection: j.Selection, Total: j.Total, Processed: processed, Invited: j.Invited, AlreadyInvited: j.AlreadyInvited,
		Skipped: skipped, Failed: j.Failed, CreatedAt: j.CreatedAt, FinishedAt: j.FinishedAt}
	if j.ReinviteStatus != nil {
		v.Reinvite = &reinviteSelection{Status: *j.ReinviteStatus, PendingDays: j.ReinvitePendingDays}
	}
	return v
}

// createBulkInvitation starts a bulk job. With an Idempotency-Key, a
// repeated request returns the job the first one created.
func (s *Server) createBulkInvitation(c *gin.Context) {
	hc, ok := s.helpCenter(c)
	if !ok {
		return
	}
	var req bulkRequest
	if !decodeJSON(c, &req) {
		return
	}
	key, done := s.bulkByKey(c, hc)
	if done {
		return
	}
	job := &store.BulkJob{ID: uuid.NewString(), HelpCenterID: hc.ID, DryRun: req.DryRun}
	job.WorkflowID = workflows.BulkWorkflowID(job.ID)
	if key != "" {
		job.IdempotencyKey = &key
	}
	chosen := 0
	if req.ContactIDs != nil {
		chosen++
		job.Selection = portal.SelectIDs
		if len(req.ContactIDs) == 0 || len(req.ContactIDs) > maxBulkIDs {
			invalidField(c, "contact_ids", "contact_ids must name between 1 and 50000 contacts; use a filter or all for more")
			return
		}
		for _, id := range req.ContactIDs {
			if id <= 0 {
				invalidField(c, "contact_ids", "contact ids are positive integers")
				return
			}
		}
	}
	if req.Filter != nil {
		chosen++
		job.Selection, job.Filter = portal.SelectFilter, req.Filter
	}
	if req.All {
		chosen++
		job.Selection = portal.SelectAll
	}
	if chosen != 1 {
		abort(c, http.StatusUnprocessableEntity, "invalid_selection", "give exactly one of contact_ids, filter or all: true")
		return
	}
	s.createBulkJob(c, hc, job, req.ContactIDs, key)
}

// bulkByKey reads the request's Idempotency-Key and, when a job was
// already created with it, answers that job (done).
func (s *Server) bulkByKey(c *gin.Context, hc *store.HelpCenter) (key string, done bool) {
	key = strings.TrimSpace(c.GetHeader("Idempotency-Key"))
	if len(key) > 200 {
		abort(c, http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key must be at most 200 characters")
		return "", true
	}
	if key == "" {
		return "", false
	}
	job, err := s.Store.BulkJobByKey(c.Request.Context(), hc.ID, key)
	switch {
	case err == nil:
		s.bulkAccepted(c, hc, job)
		return key, true
	case !errors.Is(err, store.ErrNotFound):
		s.internal(c, err)
		return key, true
	}
	return key, false
}

// createBulkJob stores a job with its audit event and starts its
// workflow, answering 202 with it.
func (s *Server) createBulkJob(c *gin.Context, hc *store.HelpCenter, job *store.BulkJob, ids []int64, key string) {
	ctx := c.Request.Context()
	job.CreatedBy, job.RequestID = actor(c), requestID(c)
	details := map[string]any{"selection": job.Selection, "dry_run": job.DryRun}
	if job.ReinviteStatus != nil {
		details["status"] = *job.ReinviteStatus
		details["pending_days"] = job.ReinvitePendingDays
	}
	if err := s.Store.CreateBulkJob(ctx, job, ids, event(c, portal.AuditBulkStarted, "", &hc.ID, details)); err != nil {
		if errors.Is(err, store.ErrConflict) && key != "" {
			// A concurrent request with the same key won the race.
			if existing, ferr := s.Store.BulkJobByKey(ctx, hc.ID, key); ferr == nil {
				s.bulkAccepted(c, hc, existing)
				return
			}
		}
		s.internal(c, err)
		return
	}
	if err := s.Start.Bulk(ctx, hc, job); err != nil {
		// The job is on record, so it is accepted: the sweeper starts its
		// workflow once Temporal answers again.
		s.Logger.Warn("bulk job stored; its workflow starts later", "job_id", job.ID, "error", err)
	}
	c.JSON(http.StatusAccepted, viewBulk(job, hc.Slug))
}

// bulkAccepted answers a repeated request; it starts the job's workflow
// if the first request stopped before it could.
func (s *Server) bulkAccepted(c *gin.Context, hc *store.HelpCenter, job *store.BulkJob) {
	if job.Status == portal.BulkRunning {
		if err := s.Start.Bulk(c.Request.Context(), hc, job); err != nil {
			s.temporalError(c, err)
			return
		}
	}
	c.JSON(http.StatusAccepted, viewBulk(job, hc.Slug))
}

// bulkJob loads the job named by :id, or answers 404.
func (s *Server) bulkJob(c *gin.Context) (*store.BulkJob, *store.HelpCenter, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		abort(c, http.StatusNotFound, "bulk_invitation_not_found", "bulk invitation not found")
		return nil, nil, false
	}
	job, err := s.Store.BulkJobByID(c.Request.Context(), id.String())
	if err != nil {
		s.storeError(c, err, "bulk_invitation")
		return nil, nil, false
	}
	if !canSee(c, job.HelpCenterID, "bulk_invitation") {
		return nil, nil, false
	}
	hc, err := s.Store.HelpCenterByID(c.Request.Context(), job.HelpCenterID)
	if err != nil {
		s.internal(c, err)
		return nil, nil, false
	}
	return job, hc, true
}

func (s *Server) getBulkInvitation(c *gin.Context) {
	if job, hc, ok := s.bulkJob(c); ok {
		c.JSON(http.StatusOK, viewBulk(job, hc.Slug))
	}
}

// cancelBulkInvitation stops a running job from inviting more contacts
// and answers the job as it ended; invitations it started go on.
func (s *Server) cancelBulkInvitation(c *gin.Context) {
	job, hc, ok := s.bulkJob(c)
	if !ok {
		return
	}
	if job.Status != portal.BulkRunning {
		abort(c, http.StatusConflict, "not_running", "the bulk invitation is "+string(job.Status))
		return
	}
	// A job is cancelled at most once, so every cancel of it is the same
	// command. Its workflow ID is its own (a job ID is never reused).
	id, ok := updateID(c, "cancel/"+job.ID)
	if !ok {
		return
	}
	err := s.command(c.Request.Context(), client.UpdateWorkflowOptions{
		WorkflowID: job.WorkflowID, UpdateID: id, UpdateName: workflows.BulkCancelUpdate,
		Args: []any{commandBy(c)},
	}, nil)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		// Nothing runs (the sweeper has yet to start it, or an operator
		// ended it): the record ends here.
		err = s.Store.FinishBulkJob(c.Request.Context(), job.ID, portal.BulkCancelled, event(c, portal.AuditBulkCancelled, "", nil, nil))
	}
	if err != nil {
		s.temporalError(c, err)
		return
	}
	fresh, err := s.Store.BulkJobByID(c.Request.Context(), job.ID)
	if err != nil {
		s.internal(c, err)
		return
	}
	if fresh.Status != portal.BulkCancelled {
		abort(c, http.StatusConflict, "not_running", "the bulk invitation ended as "+string(fresh.Status)+" before the cancel")
		return
	}
	c.JSON(http.StatusOK, viewBulk(fresh, hc.Slug))
}

func (s *Server) bulkResultsCSV(c *gin.Context) {
	job, _, ok := s.bulkJob(c)
	if !ok {
		return
	}
	w := s.startCSV(c, "bulk-invitation-"+job.ID+".csv", "contact_id", "email", "name", "outcome", "detail")
	err := s.Store.EachBulkResult(c.Request.Context(), job.ID, func(r store.BulkResult) error {
		return w.row(itoa(r.ContactID), r.Email, r.Name, string(r.Outcome), r.Detail)
	})
	w.finish(err)
}
