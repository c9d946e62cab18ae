package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/metrics"
	"github.com/portalaccess/portal/store"
)

// BulkPageInput asks for the next page of a bulk job's selection.
type BulkPageInput struct {
	JobID string
	After int64
	Limit int
}

// BulkPageResult is the part of a page the workflow acts on. Contacts that
// can't be invited are recorded here, with their reason, and only the
// eligible ones travel back through workflow history.
type BulkPageResult struct {
	Eligible []int64
	// Resend: contacts of a re-invite whose invitation is pending; each
	// gets a new link to it instead of a new invitation.
	Resend   []int64 `json:",omitempty"`
	Examined int
	Next     int64
	Done     bool
}

// BulkPage reads the next page of the selection and sorts it: ineligible
// contacts are recorded as skipped (in a dry run, every contact is
// recorded with what would happen to it).
func (a *Activities) BulkPage(ctx context.Context, in BulkPageInput) (BulkPageResult, error) {
	job, err := a.Store.BulkJobByID(ctx, in.JobID)
	if errors.Is(err, store.ErrNotFound) {
		return BulkPageResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, nil)
	}
	if err != nil {
		return BulkPageResult{}, err
	}
	if job.Status != portal.BulkRunning {
		// Cancelled (or ended) while this run waited: invite no one more.
		return BulkPageResult{Next: in.After, Done: true}, nil
	}
	hc, err := a.Store.HelpCenterByID(ctx, job.HelpCenterID)
	if err != nil {
		return BulkPageResult{}, err
	}
	cands, err := a.Store.BulkPage(ctx, job, hc, in.After, in.Limit)
	if err != nil {
		return BulkPageResult{}, err
	}
	if in.After == 0 {
		metrics.BulkJobs.WithLabelValues("started").Inc() // its first page
	}
	res := BulkPageResult{Examined: len(cands), Next: in.After, Done: len(cands) < in.Limit}
	ids := make([]int64, 0, len(cands))
	emails := make([]string, 0, len(cands))
	for _, c := range cands {
		ids = append(ids, c.ContactID)
		if c.Email != nil {
			emails = append(emails, *c.Email)
		}
	}
	declined, err := a.Store.DeclinedAmong(ctx, hc.ID, ids)
	if err != nil {
		return BulkPageResult{}, err
	}
	suppressed, err := a.Store.SuppressedAmong(ctx, emails)
	if err != nil {
		return BulkPageResult{}, err
	}
	reinvite := job.Selection == portal.SelectInvitations
	resendPending := reinvite && job.ReinviteStatus != nil && *job.ReinviteStatus == portal.ReinvitePending
	var outcomes []store.BulkOutcome
	for _, c := range cands {
		res.Next = c.ContactID
		var access portal.AccessStatus
		if c.Access != nil {
			access = *c.Access
		}
		outcome := portal.Ineligible(c.Email, c.Verified, access)
		switch {
		case !c.Found:
			outcome = portal.OutcomeNotFound
		case outcome != "":
		case suppressed[portal.EmailKey(*c.Email)]:
			outcome = portal.ReasonSuppressed
		case declined[c.ContactID]:
			outcome = portal.ReasonDeclined
		case !job.DryRun && resendPending && c.Pending:
			res.Resend = append(res.Resend, c.ContactID)
			continue
		case !job.DryRun:
			// A re-invite's expired or undeliverable invitation (or a
			// pending one that closed meanwhile) is followed by a new
			// invitation, as a single resend of a closed one is.
			res.Eligible = append(res.Eligible, c.ContactID)
			continue
		case c.Pending && !resendPending:
			outcome = portal.OutcomeAlreadyInvited
		default:
			outcome = portal.OutcomeInvited
		}
		outcomes = append(outcomes, store.BulkOutcome{ContactID: c.ContactID, Outcome: outcome})
	}
	if err := a.Store.RecordBulkOutcomes(ctx, job.ID, outcomes); err != nil {
		return res, err
	}
	countOutcomes(outcomes)
	return res, nil
}

// countOutcomes adds recorded outcomes to the bulk progress counter.
func countOutcomes(outcomes []store.BulkOutcome) {
	for _, o := range outcomes {
		metrics.BulkContacts.WithLabelValues(string(o.Outcome)).Inc()
	}
}

// BulkOutcome is what happened to one contact of a job.
type BulkOutcome struct {
	ContactID int64
	Outcome   portal.Outcome
	Detail    string `json:",omitempty"`
}

// BulkOutcomesInput carries the outcomes of started invitations.
type BulkOutcomesInput struct {
	JobID    string
	Outcomes []BulkOutcome
}

// RecordBulkOutcomes stores outcomes; recording them twice counts once.
func (a *Activities) RecordBulkOutcomes(ctx context.Context, in BulkOutcomesInput) error {
	outcomes := make([]store.BulkOutcome, len(in.Outcomes))
	for i, o := range in.Outcomes {
		outcomes[i] = store.BulkOutcome(o)
	}
	if err := a.Store.RecordBulkOutcomes(ctx, in.JobID, outcomes); err != nil {
		return err
	}
	countOutcomes(outcomes)
	return nil
}

// FinishBulkInput closes a job.
type FinishBulkInput struct {
	JobID  string
	Status portal.BulkStatus
	// Actor and RequestID name who cancelled it, for the bulk.cancelled
	// event written with the end (an unknown actor when empty: a cancel
	// by the older signal).
	Actor     string `json:",omitempty"`
	RequestID string `json:",omitempty"`
}

// FinishBulkJob records how a job ended.
func (a *Activities) FinishBulkJob(ctx context.Context, in FinishBulkInput) error {
	err := a.Store.FinishBulkJob(ctx, in.JobID, in.Status, store.AuditEvent{Actor: in.Actor, RequestID: in.RequestID})
	if err == nil {
		metrics.BulkJobs.WithLabelValues(string(in.Status)).Inc()
	}
	return err
}

// BulkChildFailure reports an invitation of a bulk job that ended in
// failure after it started.
type BulkChildFailure struct {
	JobID     string
	ContactID int64
	Reason    string
}

// RecordBulkChildFailure counts a started invitation as failed, with its
// reason, in place of invited; reporting it twice counts once.
func (a *Activities) RecordBulkChildFailure(ctx context.Context, in BulkChildFailure) error {
	return a.Store.RecordBulkChildFailure(ctx, in.JobID, in.ContactID, in.Reason)
}
