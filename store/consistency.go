package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
)

// Kinds of inconsistency the consistency check reports. Each names a state
// the product never leaves behind on purpose: a crash, an outage or a bug
// that left work half done.
const (
	// FindingPendingRunClosed: an invitation is pending in Postgres but
	// the workflow run that drives it is closed or unknown to Temporal
	// (found by the service, which asks Temporal).
	FindingPendingRunClosed = "pending_invitation_run_closed"
	// FindingTwoPending: a contact has more than one pending invitation
	// to a help center.
	FindingTwoPending = "two_pending_invitations"
	// FindingDuplicateInvite: one link generation of an invitation was
	// emailed more than once.
	FindingDuplicateInvite = "duplicate_invite_email"
	// FindingNoInviteEmail: a pending invitation older than the grace
	// period has no invite email sent (or possibly sent).
	FindingNoInviteEmail = "pending_invitation_without_email"
	// FindingLostAccept: an accepted invitation whose account has no
	// password or no access (active, or deactivated by an admin since).
	FindingLostAccept = "accepted_invitation_without_access"
	// FindingAcceptTwice: a contact has more than one accepted
	// invitation to a help center. Access is granted once: a contact
	// with access (active or deactivated) is never invited again, so a
	// second accept was applied on top of the first.
	FindingAcceptTwice = "accept_applied_twice"
	// FindingAccessWithoutOrigin: active access that no accepted
	// invitation (which grants record too) or active sign-up explains.
	FindingAccessWithoutOrigin = "active_access_without_origin"
	// FindingBulkCounts: a bulk job whose counters disagree with its
	// result rows, or a completed one that named its contacts without a
	// result for each.
	FindingBulkCounts = "bulk_job_counts_mismatch"
)

// Finding is one inconsistency, with the IDs an operator needs to look
// into it.
type Finding struct {
	Kind         string   `json:"kind"`
	HelpCenterID int64    `json:"help_center_id"`
	IDs          []string `json:"ids"`
	Detail       string   `json:"detail"`
}

// checkPage is how many rows one query of the check reads: the check pages
// through every table by key, so its memory does not grow with them.
const checkPage = 500

// nilUUID sorts before every invitation ID; keyset pages start after it.
const nilUUID = "00000000-0000-0000-0000-000000000000"

// CheckConsistency runs every check that needs only Postgres and hands
// each finding to emit as it is found. grace is how long a new pending
// invitation may go without its first email.
func (s *Store) CheckConsistency(ctx context.Context, grace time.Duration, emit func(Finding) error) error {
	checks := []func(context.Context, func(Finding) error) error{
		s.checkTwoPending,
		s.checkDuplicateInvites,
		func(ctx context.Context, emit func(Finding) error) error {
			return s.checkNoInviteEmail(ctx, grace, emit)
		},
		s.checkLostAccepts,
		s.checkAcceptsTwice,
		s.checkAccessWithoutOrigin,
		s.checkBulkCounts,
	}
	for _, check := range checks {
		if err := check(ctx, emit); err != nil {
			return err
		}
	}
	return nil
}

// PendingRun is a pending invitation and the workflow run that drives it:
// the run's ID is the invitation's.
type PendingRun struct {
	ID           string `bun:"id"`
	WorkflowID   string `bun:"workflow_id"`
	HelpCenterID int64  `bun:"help_center_id"`
	ContactID    int64  `bun:"contact_id"`
}

// PendingRuns lists up to limit pending invitations with an ID after the
// given one (empty: from the start), by ID.
func (s *Store) PendingRuns(ctx context.Context, after string, limit int) ([]PendingRun, error) {
	if after == "" {
		after = nilUUID
	}
	var rows []PendingRun
	err := s.DB.NewRaw(`SELECT id::text, workflow_id, help_center_id, contact_id FROM invitations
		WHERE status = 'pending' AND id > ?::uuid ORDER BY id LIMIT ?`, after, limit).Scan(ctx, &rows)
	return rows, translateList(err, "pending invitations")
}

// translateList is translate for a list query, where no rows is an empty
// list rather than a missing record.
func translateList(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return translate(err, what)
}

func (s *Store) checkTwoPending(ctx context.Context, emit func(Finding) error) error {
	return s.contactsWithMany(ctx, portal.InvitationPending, "id", func(hc, contact int64, ids []string) error {
		return emit(Finding{Kind: FindingTwoPending, HelpCenterID: hc, IDs: ids,
			Detail: fmt.Sprintf("contact %d has %d pending invitations", contact, len(ids))})
	})
}

// contactsWithMany hands fn each contact with more than one invitation in
// the given status to one help center, with their IDs in the given order,
// paging by (help center, contact) so memory stays flat.
func (s *Store) contactsWithMany(ctx context.Context, status portal.InvitationStatus, order string, fn func(hc, contact int64, ids []string) error) error {
	var hc, contact int64
	for {
		var rows []struct {
			HelpCenterID int64    `bun:"help_center_id"`
			ContactID    int64    `bun:"contact_id"`
			IDs          []string `bun:"ids,array"`
		}
		err := s.DB.NewRaw(`SELECT help_center_id, contact_id, array_agg(id::text ORDER BY ?) AS ids FROM invitations
			WHERE status = ? AND (help_center_id, contact_id) > (?, ?)
			GROUP BY help_center_id, contact_id HAVING count(*) > 1
			ORDER BY help_center_id, contact_id LIMIT ?`, bun.Safe(order), status, hc, contact, checkPage).Scan(ctx, &rows)
		if err := translateList(err, string(status)+" invitations by contact"); err != nil {
			return err
		}
		for _, r := range rows {
			if err := fn(r.HelpCenterID, r.ContactID, r.IDs); err != nil {
				return err
			}
		}
		if len(rows) < checkPage {
			return nil
		}
		hc, contact = rows[len(rows)-1].HelpCenterID, rows[len(rows)-1].ContactID
	}
}

// checkDuplicateInvites finds link generations emailed twice. The invite
// of generation g is keyed invitation/{id}/invite/{g} (its reminders add
// /reminder/{n} and are not counts of the invite); a sent or unconfirmed
// entry may have reached the customer.
func (s *Store) checkDuplicateInvites(ctx context.Context, emit func(Finding) error) error {
	inv, gen := nilUUID, -1
	for {
		var rows []struct {
			InvitationID string   `bun:"invitation_id"`
			HelpCenterID int64    `bun:"help_center_id"`
			Generation   int      `bun:"generation"`
			Emails       []string `bun:"emails,array"`
		}
		err := s.DB.NewRaw(`SELECT e.invitation_id::text AS invitation_id, coalesce(max(i.help_center_id), 0) AS help_center_id,
				e.generation, array_agg(e.id::text ORDER BY e.id) AS emails
			FROM (SELECT id, invitation_id, substring(idempotency_key FROM '/invite/([0-9]+)$')::int AS generation
				FROM email_log
				WHERE invitation_id IS NOT NULL AND status IN (?, ?) AND idempotency_key ~ '^invitation/[^/]+/invite/[0-9]+$') e
			LEFT JOIN invitations i ON i.id = e.invitation_id
			WHERE (e.invitation_id, e.generation) > (?::uuid, ?)
			GROUP BY e.invitation_id, e.generation HAVING count(*) > 1
			ORDER BY e.invitation_id, e.generation LIMIT ?`, EmailSent, EmailUnconfirmed, inv, gen, checkPage).Scan(ctx, &rows)
		if err := translateList(err, "invite emails by generation"); err != nil {
			return err
		}
		for _, r := range rows {
			f := Finding{Kind: FindingDuplicateInvite, HelpCenterID: r.HelpCenterID, IDs: append([]string{r.InvitationID}, r.Emails...),
				Detail: fmt.Sprintf("link generation %d of invitation %s emailed %d times (email_log %v)", r.Generation, r.InvitationID, len(r.Emails), r.Emails)}
			if err := emit(f); err != nil {
				return err
			}
		}
		if len(rows) < checkPage {
			return nil
		}
		inv, gen = rows[len(rows)-1].InvitationID, rows[len(rows)-1].Generation
	}
}

func (s *Store) checkNoInviteEmail(ctx context.Context, grace time.Duration, emit func(Finding) error) error {
	after := nilUUID
	for {
		var rows []struct {
			ID           string    `bun:"id"`
			HelpCenterID int64     `bun:"help_center_id"`
			ContactID    int64     `bun:"contact_id"`
			CreatedAt    time.Time `bun:"created_at"`
		}
		err := s.DB.NewRaw(`SELECT i.id::text AS id, i.help_center_id, i.contact_id, i.created_at FROM invitations i
			WHERE i.status = 'pending' AND i.id > ?::uuid AND i.created_at < now() - make_interval(secs => ?)
			AND NOT EXISTS (SELECT 1 FROM email_log e WHERE e.invitation_id = i.id AND e.status IN (?, ?)
				AND e.idempotency_key LIKE 'invitation/%/invite/%')
			ORDER BY i.id LIMIT ?`, after, grace.Seconds(), EmailSent, EmailUnconfirmed, checkPage).Scan(ctx, &rows)
		if err := translateList(err, "pending invitations without email"); err != nil {
			return err
		}
		for _, r := range rows {
			f := Finding{Kind: FindingNoInviteEmail, HelpCenterID: r.HelpCenterID, IDs: []string{r.ID},
				Detail: fmt.Sprintf("invitation of contact %d pending since %s with no invite email", r.ContactID, r.CreatedAt.UTC().Format(time.RFC3339))}
			if err := emit(f); err != nil {
				return err
			}
		}
		if len(rows) < checkPage {
			return nil
		}
		after = rows[len(rows)-1].ID
	}
}

// accountScopeSQL is HelpCenter.AccountScope in SQL, for the help center h.
const accountScopeSQL = `CASE WHEN h.user_base = 'common' THEN 'common' ELSE 'help_center:' || h.id END`

// checkLostAccepts finds accepted invitations (an accept or a grant) whose
// account lacks what the accept writes in the same transaction: a password
// and access. Deactivated access is an admin's later decision, not a loss;
// reactivation restores it since the account has a password.
func (s *Store) checkLostAccepts(ctx context.Context, emit func(Finding) error) error {
	after := nilUUID
	for {
		var rows []struct {
			ID           string               `bun:"id"`
			HelpCenterID int64                `bun:"help_center_id"`
			ContactID    int64                `bun:"contact_id"`
			AccountID    *int64               `bun:"account_id"`
			HasPassword  bool                 `bun:"has_password"`
			Access       *portal.AccessStatus `bun:"access"`
		}
		err := s.DB.NewRaw(`SELECT i.id::text AS id, i.help_center_id, i.contact_id, a.id AS account_id,
				coalesce(a.password_hash IS NOT NULL, false) AS has_password, pa.status AS access
			FROM invitations i
			JOIN help_centers h ON h.id = i.help_center_id
			LEFT JOIN portal_accounts a ON a.contact_id = i.contact_id AND a.scope = `+accountScopeSQL+`
			LEFT JOIN portal_access pa ON pa.account_id = a.id AND pa.help_center_id = i.help_center_id
			WHERE i.status = 'accepted' AND i.id > ?::uuid
			AND (a.password_hash IS NULL OR pa.status IS NULL OR pa.status NOT IN ('active', 'deactivated'))
			ORDER BY i.id LIMIT ?`, after, checkPage).Scan(ctx, &rows)
		if err := translateList(err, "accepted invitations"); err != nil {
			return err
		}
		for _, r := range rows {
			ids := []string{r.ID}
			what := "no account"
			if r.AccountID != nil {
				ids = append(ids, "account:"+strconv.FormatInt(*r.AccountID, 10))
				switch {
				case !r.HasPassword:
					what = "an account without a password"
				case r.Access == nil:
					what = "no access record"
				default:
					what = "access " + string(*r.Access)
				}
			}
			f := Finding{Kind: FindingLostAccept, HelpCenterID: r.HelpCenterID, IDs: ids,
				Detail: fmt.Sprintf("accepted invitation of contact %d has %s", r.ContactID, what)}
			if err := emit(f); err != nil {
				return err
			}
		}
		if len(rows) < checkPage {
			return nil
		}
		after = rows[len(rows)-1].ID
	}
}

// checkAcceptsTwice finds contacts accepted more than once into one help
// center. An accept's own repeats are harmless (the store ignores a second
// accept of an accepted invitation), so this is an accept of a second
// invitation that should never have been issued or accepted: the first
// one's access already stood.
func (s *Store) checkAcceptsTwice(ctx context.Context, emit func(Finding) error) error {
	return s.contactsWithMany(ctx, portal.InvitationAccepted, "accepted_at, id", func(hc, contact int64, ids []string) error {
		return emit(Finding{Kind: FindingAcceptTwice, HelpCenterID: hc, IDs: ids,
			Detail: fmt.Sprintf("contact %d was accepted %d times (invitations %v)", contact, len(ids), ids)})
	})
}

// checkAccessWithoutOrigin finds active access that nothing granted: only
// an accepted invitation (an accept, or a grant to an account with a
// password) and an active sign-up make access active; reactivation
// restores access one of them made.
func (s *Store) checkAccessWithoutOrigin(ctx context.Context, emit func(Finding) error) error {
	var account, hc int64
	for {
		var rows []struct {
			AccountID    int64 `bun:"account_id"`
			HelpCenterID int64 `bun:"help_center_id"`
			ContactID    int64 `bun:"contact_id"`
		}
		err := s.DB.NewRaw(`SELECT pa.account_id, pa.help_center_id, a.contact_id
			FROM portal_access pa JOIN portal_accounts a ON a.id = pa.account_id
			WHERE pa.status = 'active' AND (pa.account_id, pa.help_center_id) > (?, ?)
			AND NOT EXISTS (SELECT 1 FROM invitations i WHERE i.contact_id = a.contact_id AND i.help_center_id = pa.help_center_id AND i.status = 'accepted')
			AND NOT EXISTS (SELECT 1 FROM signups su WHERE su.contact_id = a.contact_id AND su.help_center_id = pa.help_center_id AND su.status = 'active')
			ORDER BY pa.account_id, pa.help_center_id LIMIT ?`, account, hc, checkPage).Scan(ctx, &rows)
		if err := translateList(err, "active access"); err != nil {
			return err
		}
		for _, r := range rows {
			f := Finding{Kind: FindingAccessWithoutOrigin, HelpCenterID: r.HelpCenterID,
				IDs:    []string{"account:" + strconv.FormatInt(r.AccountID, 10), "contact:" + strconv.FormatInt(r.ContactID, 10)},
				Detail: "active access with no accepted invitation or active sign-up"}
			if err := emit(f); err != nil {
				return err
			}
		}
		if len(rows) < checkPage {
			return nil
		}
		account, hc = rows[len(rows)-1].AccountID, rows[len(rows)-1].HelpCenterID
	}
}

// checkBulkCounts compares each job's counters with its result rows; they
// move in one transaction, so they agree even while a job runs. A
// completed job that named its contacts has a result for each (not_found
// for one deleted since); a filter's total is a count at the start, which
// contacts created or deleted during the job legitimately move away from.
func (s *Store) checkBulkCounts(ctx context.Context, emit func(Finding) error) error {
	after := nilUUID
	for {
		var rows []struct {
			ID           string            `bun:"id"`
			HelpCenterID int64             `bun:"help_center_id"`
			Status       portal.BulkStatus `bun:"status"`
			Selection    portal.Selection  `bun:"selection"`
			Total        int               `bun:"total"`
			Counted      int               `bun:"counted"`
			Results      int               `bun:"results"`
		}
		err := s.DB.NewRaw(`SELECT j.id::text AS id, j.help_center_id, j.status, j.selection, j.total,
				j.invited + j.already_invited + j.failed + j.skipped_no_email + j.skipped_unverified + j.skipped_already_active
					+ j.skipped_deactivated + j.skipped_not_found + j.skipped_pending_approval + j.skipped_rejected + j.skipped_declined + j.skipped_suppressed AS counted,
				(SELECT count(*) FROM bulk_job_results r WHERE r.job_id = j.id) AS results
			FROM bulk_jobs j WHERE j.id > ?::uuid ORDER BY j.id LIMIT ?`, after, checkPage).Scan(ctx, &rows)
		if err := translateList(err, "bulk jobs"); err != nil {
			return err
		}
		for _, r := range rows {
			var detail string
			switch {
			case r.Counted != r.Results:
				detail = fmt.Sprintf("%s job counts %d outcomes but has %d results", r.Status, r.Counted, r.Results)
			case r.Status == portal.BulkCompleted && r.Selection == portal.SelectIDs && r.Results != r.Total:
				detail = fmt.Sprintf("completed job has %d results for a total of %d", r.Results, r.Total)
			default:
				continue
			}
			if err := emit(Finding{Kind: FindingBulkCounts, HelpCenterID: r.HelpCenterID, IDs: []string{r.ID}, Detail: detail}); err != nil {
				return err
			}
		}
		if len(rows) < checkPage {
			return nil
		}
		after = rows[len(rows)-1].ID
	}
}
