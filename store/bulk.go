package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/portalaccess/portal"
)

// BulkJob is one bulk invitation: its selection and running counts.
type BulkJob struct {
	bun.BaseModel `bun:"table:bulk_jobs"`

	ID                   string            `bun:"id,pk"`
	HelpCenterID         int64             `bun:"help_center_id"`
	IdempotencyKey       *string           `bun:"idempotency_key"`
	Selection            portal.Selection  `bun:"selection"`
	Filter               *ContactFilter    `bun:"filter,type:jsonb"`
	DryRun               bool              `bun:"dry_run"`
	Status               portal.BulkStatus `bun:"status"`
	Total                int               `bun:"total"`
	Invited              int               `bun:"invited"`
	AlreadyInvited       int               `bun:"already_invited"`
	Failed               int               `bun:"failed"`
	SkippedNoEmail       int               `bun:"skipped_no_email"`
	SkippedUnverified    int               `bun:"skipped_unverified"`
	SkippedAlreadyActive int               `bun:"skipped_already_active"`
	SkippedDeactivated   int               `bun:"skipped_deactivated"`
	SkippedNotFound      int               `bun:"skipped_not_found"`
	SkippedPending       int               `bun:"skipped_pending_approval"`
	SkippedRejected      int               `bun:"skipped_rejected"`
	SkippedDeclined      int               `bun:"skipped_declined"`
	SkippedSuppressed    int               `bun:"skipped_suppressed"`
	// ReinviteStatus and ReinvitePendingDays are a re-invite's selection
	// (SelectInvitations): the contacts whose latest invitation has the
	// status; for pending, whose last link went out at least that many
	// days before the job.
	ReinviteStatus      *portal.ReinviteStatus `bun:"reinvite_status"`
	ReinvitePendingDays *int                   `bun:"reinvite_pending_days"`
	WorkflowID          string                 `bun:"workflow_id"`
	CreatedAt           time.Time              `bun:"created_at,nullzero,default:now()"`
	FinishedAt          *time.Time             `bun:"finished_at"`
	StartedAt           *time.Time             `bun:"started_at"`
	// CreatedBy and RequestID name who started the job and the request
	// that did (IDs only), for the audit events of its invitations.
	CreatedBy string `bun:"created_by,nullzero"`
	RequestID string `bun:"request_id,nullzero"`
}

// counterColumn is the bulk_jobs column an outcome counts in.
var counterColumn = map[portal.Outcome]string{
	portal.OutcomeInvited:        "invited",
	portal.OutcomeAlreadyInvited: "already_invited",
	portal.OutcomeFailed:         "failed",
	portal.ReasonNoEmail:         "skipped_no_email",
	portal.ReasonUnverified:      "skipped_unverified",
	portal.ReasonAlreadyActive:   "skipped_already_active",
	portal.ReasonDeactivated:     "skipped_deactivated",
	portal.OutcomeNotFound:       "skipped_not_found",
	portal.ReasonPendingApproval: "skipped_pending_approval",
	portal.ReasonRejected:        "skipped_rejected",
	portal.ReasonDeclined:        "skipped_declined",
	portal.ReasonSuppressed:      "skipped_suppressed",
}

// CreateBulkJob stores a job and its explicit selection (ids), and sets
// its total: the number of contacts the selection names. The bulk.started
// event, by the actor of events[0], is written with it.
func (s *Store) CreateBulkJob(ctx context.Context, job *BulkJob, ids []int64, events ...AuditEvent) error {
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		job.Status = portal.BulkRunning
		if _, err := tx.NewInsert().Model(job).Exec(ctx); err != nil {
			return translate(err, "create bulk job")
		}
		const batch = 10000
		for start := 0; start < len(ids); start += batch {
			chunk := ids[start:min(start+batch, len(ids))]
			if _, err := tx.NewRaw(`INSERT INTO bulk_job_contacts (job_id, contact_id)
				SELECT ?, unnest(?::bigint[]) ON CONFLICT DO NOTHING`, job.ID, pgdialect.Array(chunk)).Exec(ctx); err != nil {
				return translate(err, "store bulk selection")
			}
		}
		var total int
		var err error
		switch job.Selection {
		case portal.SelectIDs:
			err = tx.NewRaw(`SELECT count(*) FROM bulk_job_contacts WHERE job_id = ?`, job.ID).Scan(ctx, &total)
		case portal.SelectInvitations:
			err = tx.NewSelect().TableExpr("(?) AS s", reinviteSelection(tx, job)).ColumnExpr("count(*)").Scan(ctx, &total)
		default:
			q := tx.NewSelect().TableExpr("contacts").ColumnExpr("count(*)")
			if job.Filter != nil {
				q = job.Filter.apply(q)
			}
			err = q.Scan(ctx, &total)
		}
		if err != nil {
			return translate(err, "count bulk selection")
		}
		job.Total = total
		if _, err = tx.NewUpdate().Model(job).Column("total").WherePK().Exec(ctx); err != nil {
			return translate(err, "set bulk total")
		}
		if len(events) == 0 {
			return nil
		}
		ev := events[0]
		ev.Action, ev.Target, ev.HelpCenterID = portal.AuditBulkStarted, portal.BulkJobTarget(job.ID), &job.HelpCenterID
		if ev.Details == nil {
			ev.Details = map[string]any{"selection": job.Selection, "dry_run": job.DryRun}
		}
		ev.Details["total"] = total
		return RecordAudit(ctx, tx, ev)
	})
}

// reinviteSelection is the contact IDs a re-invite job selects: those
// whose latest invitation to the help center has the job's status (a
// contact has at most one pending invitation, the latest by definition)
// and, for pending ones, whose last link went out at least the job's
// days before it was created.
func reinviteSelection(db bun.IDB, job *BulkJob) *bun.SelectQuery {
	status := portal.ReinviteExpired
	if job.ReinviteStatus != nil {
		status = *job.ReinviteStatus
	}
	q := db.NewSelect().TableExpr("invitations AS i").ColumnExpr("DISTINCT i.contact_id").
		Where("i.help_center_id = ? AND i.status = ?", job.HelpCenterID, status)
	if status == portal.ReinvitePending {
		days := 0
		if job.ReinvitePendingDays != nil {
			days = *job.ReinvitePendingDays
		}
		return q.Where("coalesce(i.last_sent_at, i.created_at) <= ?", job.CreatedAt.Add(-time.Duration(days)*24*time.Hour))
	}
	return q.Where(`NOT EXISTS (SELECT 1 FROM invitations AS n
		WHERE n.help_center_id = i.help_center_id AND n.contact_id = i.contact_id AND n.created_at > i.created_at)`)
}

// MarkBulkStarted records that a job's workflow started.
func (s *Store) MarkBulkStarted(ctx context.Context, id string) error {
	_, err := s.DB.NewRaw(`UPDATE bulk_jobs SET started_at = now() WHERE id = ? AND started_at IS NULL`, id).Exec(ctx)
	return translate(err, "mark bulk job started")
}

// UnstartedBulkJobs returns running jobs whose workflow never started,
// after grace, for the sweeper to start.
func (s *Store) UnstartedBulkJobs(ctx context.Context, grace time.Duration, limit int) ([]BulkJob, error) {
	var jobs []BulkJob
	err := s.DB.NewSelect().Model(&jobs).Where("status = ? AND started_at IS NULL AND created_at < now() - ?::interval", portal.BulkRunning, grace.String()).
		Order("created_at").Limit(int64(limit)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return jobs, translate(err, "running bulk jobs")
}

// BulkJobByID finds a job.
func (s *Store) BulkJobByID(ctx context.Context, id string) (*BulkJob, error) {
	j := new(BulkJob)
	err := s.DB.NewSelect().Model(j).Where("id = ?", id).Scan(ctx)
	return j, translate(err, "bulk job "+id)
}

// BulkJobByKey finds the job created with an idempotency key.
func (s *Store) BulkJobByKey(ctx context.Context, helpCenterID int64, key string) (*BulkJob, error) {
	j := new(BulkJob)
	err := s.DB.NewSelect().Model(j).Where("help_center_id = ? AND idempotency_key = ?", helpCenterID, key).Scan(ctx)
	return j, translate(err, "bulk job by key")
}

// BulkCandidate is a contact of a bulk selection with what decides its
// eligibility.
type BulkCandidate struct {
	ContactID int64                `bun:"contact_id"`
	Email     *string              `bun:"email"`
	Verified  bool                 `bun:"verified"`
	Found     bool                 `bun:"found"`
	Access    *portal.AccessStatus `bun:"access"`
	Pending   bool                 `bun:"pending"`
}

// BulkPage returns the next contacts of a job's selection after the
// contact ID after, in ID order (keyset pagination: every page costs the
// same however deep into the selection it is).
func (s *Store) BulkPage(ctx context.Context, job *BulkJob, hc *HelpCenter, after int64, limit int) ([]BulkCandidate, error) {
	var out []BulkCandidate
	access := `(SELECT pa.status FROM portal_access pa JOIN portal_accounts a ON a.id = pa.account_id
		WHERE a.contact_id = c.id AND a.scope = ? AND pa.help_center_id = ?) AS access`
	// A scalar subquery, unlike EXISTS, is never turned into a hash of
	// every pending invitation of the help center: it probes
	// invitations_one_pending once per contact of the page.
	pending := `coalesce((SELECT true FROM invitations i
		WHERE i.contact_id = c.id AND i.help_center_id = ? AND i.status = 'pending' LIMIT 1), false) AS pending`
	var q *bun.SelectQuery
	switch job.Selection {
	case portal.SelectInvitations:
		sel := reinviteSelection(s.DB, job).Where("i.contact_id > ?", after).OrderExpr("i.contact_id").Limit(int64(limit))
		q = s.DB.NewSelect().TableExpr("(?) AS s", sel).
			Join("LEFT JOIN contacts AS c ON c.id = s.contact_id").
			ColumnExpr("s.contact_id, c.email, coalesce(c.verified, false) AS verified, c.id IS NOT NULL AS found").
			OrderExpr("s.contact_id")
	case portal.SelectIDs:
		q = s.DB.NewSelect().TableExpr("bulk_job_contacts AS s").
			// Bounded by the cursor, so the join never reads the
			// contacts before the page.
			Join("LEFT JOIN contacts AS c ON c.id = s.contact_id AND c.id > ?", after).
			ColumnExpr("s.contact_id, c.email, coalesce(c.verified, false) AS verified, c.id IS NOT NULL AS found").
			Where("s.job_id = ? AND s.contact_id > ?", job.ID, after).
			OrderExpr("s.contact_id")
	default:
		q = s.DB.NewSelect().TableExpr("contacts AS c").
			ColumnExpr("c.id AS contact_id, c.email, c.verified, true AS found").
			Where("c.id > ?", after).OrderExpr("c.id")
		if job.Filter != nil {
			q = job.Filter.apply(q)
		}
	}
	q = q.ColumnExpr(access, hc.AccountScope(), hc.ID).ColumnExpr(pending, hc.ID).Limit(int64(limit))
	if err := q.Scan(ctx, &out); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, translate(err, "bulk page")
	}
	return out, nil
}

// BulkOutcome is what happened to one contact of a job.
type BulkOutcome struct {
	ContactID int64
	Outcome   portal.Outcome
	Detail    string `json:",omitempty"`
}

// RecordBulkOutcomes stores outcomes and moves the job's counters by the
// rows actually inserted, so recording the same outcomes twice (an
// activity retry) counts them once.
func (s *Store) RecordBulkOutcomes(ctx context.Context, jobID string, outcomes []BulkOutcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	ids := make([]int64, len(outcomes))
	kinds := make([]string, len(outcomes))
	details := make([]string, len(outcomes))
	for i, o := range outcomes {
		ids[i], kinds[i], details[i] = o.ContactID, string(o.Outcome), o.Detail
	}
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var inserted []portal.Outcome
		err := tx.NewRaw(`INSERT INTO bulk_job_results (job_id, contact_id, outcome, detail)
			SELECT ?, u.contact_id, u.outcome, u.detail
			FROM unnest(?::bigint[], ?::text[], ?::text[]) AS u (contact_id, outcome, detail)
			ON CONFLICT DO NOTHING RETURNING outcome`, jobID, pgdialect.Array(ids), pgdialect.Array(kinds), pgdialect.Array(details)).Scan(ctx, &inserted)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "record bulk outcomes")
		}
		counts := map[string]int{}
		for _, o := range inserted {
			counts[counterColumn[o]]++
		}
		if len(counts) == 0 {
			return nil
		}
		q := tx.NewUpdate().Model((*BulkJob)(nil)).Where("id = ?", jobID)
		for col, n := range counts {
			if col == "" {
				continue
			}
			q = q.Set("? = ? + ?", bun.Ident(col), bun.Ident(col), n)
		}
		_, err = q.Exec(ctx)
		return translate(err, "count bulk outcomes")
	})
}

// RecordBulkChildFailure records that a contact's invitation failed after
// the job started it: its result becomes failed with the reason, and the
// job's counters move from the outcome it had (invited, usually) to
// failed. A failure that comes before the job records the start is kept:
// recording outcomes never overwrites a row. Twice counts once.
func (s *Store) RecordBulkChildFailure(ctx context.Context, jobID string, contactID int64, reason string) error {
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var before []portal.Outcome
		err := tx.NewRaw(`SELECT outcome FROM bulk_job_results WHERE job_id = ? AND contact_id = ? FOR UPDATE`,
			jobID, contactID).Scan(ctx, &before)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "read bulk result")
		}
		switch {
		case len(before) > 0 && before[0] == portal.OutcomeFailed:
			return nil
		case len(before) > 0:
			_, err = tx.NewRaw(`UPDATE bulk_job_results SET outcome = ?, detail = ? WHERE job_id = ? AND contact_id = ?`,
				portal.OutcomeFailed, reason, jobID, contactID).Exec(ctx)
		default:
			_, err = tx.NewRaw(`INSERT INTO bulk_job_results (job_id, contact_id, outcome, detail) VALUES (?, ?, ?, ?)`,
				jobID, contactID, portal.OutcomeFailed, reason).Exec(ctx)
		}
		if err != nil {
			return translate(err, "record bulk child failure")
		}
		q := tx.NewUpdate().Model((*BulkJob)(nil)).Where("id = ?", jobID).Set("failed = failed + 1")
		if len(before) > 0 && counterColumn[before[0]] != "" {
			q = q.Set("? = ? - 1", bun.Ident(counterColumn[before[0]]), bun.Ident(counterColumn[before[0]]))
		}
		_, err = q.Exec(ctx)
		return translate(err, "count bulk child failure")
	})
}

// FinishBulkJob records a job's final state; it changes only a running job.
// A cancellation is recorded in the audit trail with it (bulk.cancelled,
// by the actor of events[0]), once: a repeat changes nothing.
func (s *Store) FinishBulkJob(ctx context.Context, id string, status portal.BulkStatus, events ...AuditEvent) error {
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var finished []int64
		err := tx.NewUpdate().Model((*BulkJob)(nil)).Set("status = ?", status).Set("finished_at = now()").
			Where("id = ? AND status = ?", id, portal.BulkRunning).Returning("help_center_id").Scan(ctx, &finished)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "finish bulk job")
		}
		if status != portal.BulkCancelled || len(finished) == 0 {
			return nil
		}
		ev := by(events, portal.ActorUnknown)
		ev.Action, ev.Target, ev.HelpCenterID = portal.AuditBulkCancelled, portal.BulkJobTarget(id), &finished[0]
		return RecordAudit(ctx, tx, ev)
	})
}

// BulkResult is a row of a job's results file.
type BulkResult struct {
	ContactID int64          `bun:"contact_id"`
	Email     string         `bun:"email"`
	Name      string         `bun:"name"`
	Outcome   portal.Outcome `bun:"outcome"`
	Detail    string         `bun:"detail"`
}

// EachBulkResult calls fn for every result of a job in contact order,
// reading them in pages so a large job never sits in memory.
func (s *Store) EachBulkResult(ctx context.Context, jobID string, fn func(BulkResult) error) error {
	var after int64
	for {
		// A client that went away cancels ctx: stop before the next query.
		if err := ctx.Err(); err != nil {
			return err
		}
		var page []BulkResult
		// The page of results first, then each one's contact by one
		// probe of its key (LATERAL): a join the planner may run as a
		// scan of contacts, from the first or by hashing the rest, made
		// each page cost more than the last. The LIMIT keeps it a probe:
		// without it the planner flattens the LATERAL back into that
		// join.
		//
		// Sorting is ruled out for the page: a job's results are
		// exported just after they are written, before (auto)analyze
		// has counted them, so the planner guesses a few hundred rows
		// and reads every result after the cursor to sort them, each
		// page; at a million results the CSV took minutes. The results'
		// key gives them in order without a sort.
		err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "SET LOCAL enable_sort = off"); err != nil {
				return err
			}
			return tx.NewRaw(`SELECT r.contact_id, coalesce(c.email, '') AS email, coalesce(c.name, '') AS name, r.outcome, r.detail
				FROM (SELECT contact_id, outcome, detail FROM bulk_job_results
					WHERE job_id = ? AND contact_id > ? ORDER BY contact_id LIMIT 1000) AS r
				LEFT JOIN LATERAL (SELECT email, name FROM contacts WHERE id = r.contact_id LIMIT 1) AS c ON true
				ORDER BY r.contact_id`, jobID, after).Scan(ctx, &page)
		})
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "bulk results")
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < 1000 {
			return nil
		}
		after = page[len(page)-1].ContactID
	}
}
