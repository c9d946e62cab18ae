package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/portalaccess/portal"
)

// Erasure is what erasing a contact leaves for Temporal: the workflows of
// the contact still to close, and the idempotency-key prefixes of their
// emails, so a send already under way when the contact was erased is
// removed once it lands. It holds IDs only.
type Erasure struct {
	bun.BaseModel `bun:"table:contact_erasures"`

	ContactID   int64      `bun:"contact_id,pk"`
	WorkflowIDs []string   `bun:"workflow_ids,array"`
	KeyPrefixes []string   `bun:"key_prefixes,array"`
	ErasedAt    time.Time  `bun:"erased_at,nullzero,default:now()"`
	ClosedAt    *time.Time `bun:"closed_at"`
}

// ErasureSubject is what an erasure needs to know of the contact before
// it removes it: its addresses (the current one and any it had before)
// and the scopes of its portal accounts.
type ErasureSubject struct {
	ContactID int64
	Addresses []string
	Scopes    []string
}

// ErasedContact is what EraseContact removed, counted.
type ErasedContact struct {
	Erasure
	Accounts      int
	SessionsEnded int64
	Invitations   int
	Signups       int
	Tickets       int64
}

// EraseContact removes a contact and their portal accounts for good, in
// one transaction with ev: the accounts' sessions, access, staged and
// past passwords and reset links; the contact's invitations and their
// links, sign-ups, declines, email changes, auto-invites and bulk
// results; every email log and outbox entry to any of the contact's
// addresses, their suppressions and pending forgot-password requests.
// The contact's tickets stay with the help center, without a requester.
// moreWorkflows names workflows found from the subject that no row
// records (a password reset named by an address). The Erasure row it
// writes lists what Temporal still runs for the contact; FinishErasure
// closes it. An unknown contact is ErrNotFound.
func (s *Store) EraseContact(ctx context.Context, contactID int64, moreWorkflows func(ErasureSubject) []string, ev AuditEvent) (*ErasedContact, error) {
	out := &ErasedContact{Erasure: Erasure{ContactID: contactID}}
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		subject, err := lockErasureSubject(ctx, tx, contactID)
		if err != nil {
			return err
		}
		var accounts, invitations, signups, resets, changes []string
		for _, q := range []struct {
			dst   *[]string
			query string
		}{
			{&accounts, `SELECT id::text FROM portal_accounts WHERE contact_id = ? ORDER BY id`},
			{&invitations, `SELECT id::text FROM invitations WHERE contact_id = ? ORDER BY id`},
			{&signups, `SELECT id::text FROM signups WHERE contact_id = ? ORDER BY id`},
			{&resets, `SELECT DISTINCT r.reset_id::text FROM password_resets r JOIN portal_accounts a ON a.id = r.account_id WHERE a.contact_id = ?`},
			{&changes, `SELECT id::text FROM email_changes WHERE contact_id = ? ORDER BY id`},
		} {
			if err := tx.NewRaw(q.query, contactID).Scan(ctx, q.dst); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return translate(err, "erasure subject")
			}
		}
		out.Accounts, out.Invitations, out.Signups = len(accounts), len(invitations), len(signups)

		var workflowIDs []string
		if err := tx.NewRaw(`SELECT DISTINCT workflow_id FROM (
				SELECT workflow_id FROM invitations WHERE contact_id = ?0
				UNION SELECT workflow_id FROM signups WHERE contact_id = ?0
				UNION SELECT r.workflow_id FROM password_resets r JOIN portal_accounts a ON a.id = r.account_id WHERE a.contact_id = ?0
				UNION SELECT 'email-change/' || contact_id || '/' || id FROM email_changes WHERE contact_id = ?0
			) w ORDER BY workflow_id`, contactID).Scan(ctx, &workflowIDs); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "erasure workflows")
		}
		if moreWorkflows != nil {
			workflowIDs = appendNew(workflowIDs, moreWorkflows(*subject)...)
		}
		out.WorkflowIDs = workflowIDs
		out.KeyPrefixes = erasureKeyPrefixes(contactID, invitations, signups, resets, changes)

		if out.SessionsEnded, err = endContactSessions(ctx, tx, contactID); err != nil {
			return err
		}
		if out.Tickets, err = execCount(ctx, tx, `UPDATE tickets SET contact_id = NULL WHERE contact_id = ?`, contactID); err != nil {
			return translate(err, "tickets of contact")
		}
		keys := make([]string, len(subject.Addresses))
		for i, a := range subject.Addresses {
			keys[i] = portal.EmailKey(a)
		}
		addrs, prefixes := pgdialect.Array(keys), pgdialect.Array(likePatterns(out.KeyPrefixes))
		// Children before parents, so every foreign key holds throughout.
		for _, step := range []struct {
			what  string
			query string
			args  []any
		}{
			{"email log", `DELETE FROM email_log WHERE lower(recipient) = ANY(?) OR idempotency_key LIKE ANY(?)
				OR invitation_id IN (SELECT id FROM invitations WHERE contact_id = ?)`, []any{addrs, prefixes, contactID}},
			{"outbox", `DELETE FROM outbox_messages WHERE lower(recipient) = ANY(?) OR idempotency_key LIKE ANY(?)`, []any{addrs, prefixes}},
			{"suppressions", `DELETE FROM suppressions WHERE email_key = ANY(?)`, []any{addrs}},
			{"reset requests", `DELETE FROM password_reset_requests WHERE lower(email) = ANY(?)`, []any{addrs}},
			{"staged passwords", `DELETE FROM credential_stages WHERE account_id IN (SELECT id FROM portal_accounts WHERE contact_id = ?0)
				OR invitation_id IN (SELECT id FROM invitations WHERE contact_id = ?0)
				OR signup_id IN (SELECT id FROM signups WHERE contact_id = ?0)`, []any{contactID}},
			{"password changes", `DELETE FROM password_changes WHERE account_id IN (SELECT id FROM portal_accounts WHERE contact_id = ?)`, []any{contactID}},
			{"reset links", `DELETE FROM password_resets WHERE lower(email) = ANY(?)
				OR account_id IN (SELECT id FROM portal_accounts WHERE contact_id = ?)`, []any{addrs, contactID}},
			{"access", `DELETE FROM portal_access WHERE account_id IN (SELECT id FROM portal_accounts WHERE contact_id = ?0)
				OR signup_id IN (SELECT id FROM signups WHERE contact_id = ?0)`, []any{contactID}},
			{"invitation links", `DELETE FROM invitation_tokens WHERE invitation_id IN (SELECT id FROM invitations WHERE contact_id = ?)`, []any{contactID}},
			{"declines", `DELETE FROM invitation_declines WHERE contact_id = ?`, []any{contactID}},
			{"auto-invites", `DELETE FROM auto_invites WHERE contact_id = ?`, []any{contactID}},
			{"bulk results", `DELETE FROM bulk_job_results WHERE contact_id = ?`, []any{contactID}},
			{"bulk selections", `DELETE FROM bulk_job_contacts WHERE contact_id = ?`, []any{contactID}},
			{"sign-ups", `DELETE FROM signups WHERE contact_id = ?`, []any{contactID}},
			{"invitations", `DELETE FROM invitations WHERE contact_id = ?`, []any{contactID}},
			{"accounts", `DELETE FROM portal_accounts WHERE contact_id = ?`, []any{contactID}},
			{"email changes", `DELETE FROM email_changes WHERE contact_id = ?`, []any{contactID}},
			{"contact", `DELETE FROM contacts WHERE id = ?`, []any{contactID}},
		} {
			if _, err := tx.NewRaw(step.query, step.args...).Exec(ctx); err != nil {
				return translate(err, "erase "+step.what)
			}
		}
		if _, err := tx.NewInsert().Model(&out.Erasure).Returning("erased_at").Exec(ctx); err != nil {
			return translate(err, "record erasure")
		}
		return RecordAudit(ctx, tx, ev)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lockErasureSubject locks the contact's row, so nothing else changes it
// while it is erased, and reads its addresses and account scopes.
func lockErasureSubject(ctx context.Context, tx bun.Tx, contactID int64) (*ErasureSubject, error) {
	var email *string
	if err := tx.NewRaw(`SELECT email FROM contacts WHERE id = ? FOR UPDATE`, contactID).Scan(ctx, &email); err != nil {
		return nil, translate(err, "contact "+strconv.FormatInt(contactID, 10))
	}
	subject := &ErasureSubject{ContactID: contactID}
	var addrs []string
	// Addresses the contact had before an email change still name it in
	// old emails and reset links.
	if err := tx.NewRaw(`SELECT DISTINCT lower(a) FROM (
			SELECT email AS a FROM contacts WHERE id = ?0
			UNION SELECT old_email FROM email_changes WHERE contact_id = ?0
			UNION SELECT new_email FROM email_changes WHERE contact_id = ?0
		) x WHERE a IS NOT NULL ORDER BY 1`, contactID).Scan(ctx, &addrs); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, translate(err, "addresses of contact")
	}
	subject.Addresses = addrs
	if err := tx.NewRaw(`SELECT scope FROM portal_accounts WHERE contact_id = ? ORDER BY scope`, contactID).Scan(ctx, &subject.Scopes); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, translate(err, "scopes of contact")
	}
	return subject, nil
}

// erasureKeyPrefixes are the idempotency-key prefixes of every email that
// concerns the contact (see the activities' keys).
func erasureKeyPrefixes(contactID int64, invitations, signups, resets, changes []string) []string {
	var p []string
	for _, id := range invitations {
		p = append(p, "invitation/"+id+"/")
	}
	for _, id := range signups {
		p = append(p, "signup/"+id+"/")
	}
	for _, id := range resets {
		p = append(p, "password-reset/"+id+"/")
	}
	for _, id := range changes {
		p = append(p, "email-change/"+id+"/")
	}
	// Access notices: access/{help center}/{contact}/...
	return append(p, "access/%/"+strconv.FormatInt(contactID, 10)+"/")
}

// likePatterns turns key prefixes into LIKE patterns. IDs and the
// access prefix's one wildcard are the only characters in them.
func likePatterns(prefixes []string) []string {
	out := make([]string, len(prefixes))
	for i, p := range prefixes {
		out[i] = p + "%"
	}
	return out
}

func appendNew(list []string, more ...string) []string {
	seen := make(map[string]bool, len(list))
	for _, s := range list {
		seen[s] = true
	}
	for _, s := range more {
		if !seen[s] {
			seen[s] = true
			list = append(list, s)
		}
	}
	return list
}

func execCount(ctx context.Context, db bun.IDB, query string, args ...any) (int64, error) {
	res, err := db.NewRaw(query, args...).Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ScrubErasure removes what a send already under way when the contact
// was erased wrote afterwards: email log and outbox entries under the
// erasure's key prefixes, or of its workflows.
func (s *Store) ScrubErasure(ctx context.Context, e *Erasure) error {
	prefixes := pgdialect.Array(likePatterns(e.KeyPrefixes))
	if _, err := s.DB.NewRaw(`DELETE FROM email_log WHERE idempotency_key LIKE ANY(?) OR workflow_id = ANY(?)`,
		prefixes, pgdialect.Array(e.WorkflowIDs)).Exec(ctx); err != nil {
		return translate(err, "scrub email log")
	}
	_, err := s.DB.NewRaw(`DELETE FROM outbox_messages WHERE idempotency_key LIKE ANY(?)`, prefixes).Exec(ctx)
	return translate(err, "scrub outbox")
}

// CloseErasure records that every workflow of the erasure was closed.
// The first close is kept; scrubbing goes on for a while after it.
func (s *Store) CloseErasure(ctx context.Context, contactID int64) error {
	_, err := s.DB.NewRaw(`UPDATE contact_erasures SET closed_at = now() WHERE contact_id = ? AND closed_at IS NULL`, contactID).Exec(ctx)
	return translate(err, "close erasure")
}

// ErasuresToFinish lists erasures whose workflows may still run (not
// closed, erased more than grace ago so the request that erased is left
// to finish them), and those closed less than settle ago, whose late
// sends are scrubbed again.
func (s *Store) ErasuresToFinish(ctx context.Context, grace, settle time.Duration, limit int) ([]Erasure, error) {
	var out []Erasure
	err := s.DB.NewSelect().Model(&out).
		Where("(closed_at IS NULL AND erased_at <= now() - make_interval(secs => ?))", grace.Seconds()).
		WhereOr("closed_at > now() - make_interval(secs => ?)", settle.Seconds()).
		OrderExpr("erased_at").Limit(int64(limit)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return out, translate(err, "erasures to finish")
}
