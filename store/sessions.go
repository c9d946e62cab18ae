package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// CreateSession records a portal session by its token's hash.
func (s *Store) CreateSession(ctx context.Context, tokenHash []byte, accountID, helpCenterID int64, expiresAt time.Time) error {
	_, err := s.DB.NewRaw(`INSERT INTO portal_sessions (token_hash, account_id, help_center_id, expires_at) VALUES (?, ?, ?, ?)`,
		tokenHash, accountID, helpCenterID, expiresAt).Exec(ctx)
	return translate(err, "create session")
}

// SessionUser is the customer behind a live session.
type SessionUser struct {
	AccountID int64  `bun:"account_id"`
	ContactID int64  `bun:"contact_id"`
	Name      string `bun:"name"`
	Email     string `bun:"email"`
}

// SessionUser finds the customer of a live session: unexpired, used within
// idle, and whose access to the help center is still active. Using it
// moves the session's last use on, at most every touchEvery, so a busy
// customer does not write on every page.
func (s *Store) SessionUser(ctx context.Context, tokenHash []byte, helpCenterID int64, idle time.Duration) (*SessionUser, error) {
	touchEvery := min(5*time.Minute, idle/10)
	u := new(SessionUser)
	err := s.DB.NewRaw(`WITH live AS (
			SELECT s.token_hash, s.last_seen_at, a.id AS account_id, c.id AS contact_id, c.name, coalesce(c.email, '') AS email
			FROM portal_sessions s
			JOIN portal_accounts a ON a.id = s.account_id
			JOIN contacts c ON c.id = a.contact_id
			JOIN portal_access pa ON pa.account_id = a.id AND pa.help_center_id = s.help_center_id
			WHERE s.token_hash = ?0 AND s.help_center_id = ?1 AND s.expires_at > now()
				AND s.last_seen_at > now() - make_interval(secs => ?2) AND pa.status = 'active'),
		touched AS (
			UPDATE portal_sessions p SET last_seen_at = now() FROM live
			WHERE p.token_hash = live.token_hash AND live.last_seen_at < now() - make_interval(secs => ?3))
		SELECT account_id, contact_id, name, email FROM live`,
		tokenHash, helpCenterID, idle.Seconds(), touchEvery.Seconds()).Scan(ctx, u)
	return u, translate(err, "session")
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.DB.NewRaw(`DELETE FROM portal_sessions WHERE token_hash = ?`, tokenHash).Exec(ctx)
	return translate(err, "delete session")
}

// EndSessions ends every session of a portal account, in every help
// center it reaches: "log out everywhere", and what a password change or
// reset must do. It returns how many it ended.
func (s *Store) EndSessions(ctx context.Context, accountID int64) (int64, error) {
	return endSessions(ctx, s.DB, accountID)
}

// endSessions is EndSessions inside a caller's transaction.
func endSessions(ctx context.Context, db bun.IDB, accountID int64) (int64, error) {
	res, err := db.NewRaw(`DELETE FROM portal_sessions WHERE account_id = ?`, accountID).Exec(ctx)
	if err != nil {
		return 0, translate(err, "end sessions")
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// EndContactSessions ends every session of every portal account of a
// contact (a common account and any per-help-center ones): what a change
// of the contact's email address must do.
func (s *Store) EndContactSessions(ctx context.Context, contactID int64) (int64, error) {
	return endContactSessions(ctx, s.DB, contactID)
}

// endContactSessions is EndContactSessions inside a caller's transaction.
func endContactSessions(ctx context.Context, db bun.IDB, contactID int64) (int64, error) {
	res, err := db.NewRaw(`DELETE FROM portal_sessions s USING portal_accounts a WHERE s.account_id = a.id AND a.contact_id = ?`,
		contactID).Exec(ctx)
	if err != nil {
		return 0, translate(err, "end contact sessions")
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// PurgeSessions deletes sessions past their absolute lifetime or unused
// for longer than idle.
func (s *Store) PurgeSessions(ctx context.Context, idle time.Duration) (int64, error) {
	return s.purge(ctx, "purge sessions", `DELETE FROM portal_sessions
		WHERE expires_at <= now() OR last_seen_at <= now() - make_interval(secs => ?)`, idle.Seconds())
}

// PurgeStaleTokens forgets link tokens that are past any use: those of
// invitations and sign-ups that ended more than olderThan ago. Until then
// an old link still explains itself ("already accepted", "replaced",
// "expired"); after, it is simply not valid. Older generations of a
// still-pending invitation are kept, so they can say they were replaced.
func (s *Store) PurgeStaleTokens(ctx context.Context, olderThan time.Duration) (int64, error) {
	var n int64
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewRaw(`DELETE FROM invitation_tokens t USING invitations i
			WHERE t.invitation_id = i.id AND i.status <> 'pending'
				AND coalesce(i.closed_at, i.accepted_at, i.updated_at) < now() - make_interval(secs => ?)`, olderThan.Seconds()).Exec(ctx)
		if err != nil {
			return translate(err, "purge invitation tokens")
		}
		tokens, _ := res.RowsAffected()
		if _, err := tx.NewRaw(`UPDATE invitations SET token_hash = NULL
			WHERE token_hash IS NOT NULL AND status <> 'pending'
				AND coalesce(closed_at, accepted_at, updated_at) < now() - make_interval(secs => ?)`, olderThan.Seconds()).Exec(ctx); err != nil {
			return translate(err, "purge invitation token")
		}
		res, err = tx.NewRaw(`UPDATE signups SET token_hash = NULL
			WHERE token_hash IS NOT NULL AND status NOT IN ('verifying', 'pending_approval')
				AND coalesce(decided_at, verified_at, created_at) < now() - make_interval(secs => ?)`, olderThan.Seconds()).Exec(ctx)
		if err != nil {
			return translate(err, "purge sign-up tokens")
		}
		signups, _ := res.RowsAffected()
		n = tokens + signups
		return nil
	})
	return n, err
}
