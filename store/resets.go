package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
)

// PasswordReset is one password reset link, known by its token's hash.
type PasswordReset struct {
	bun.BaseModel `bun:"table:password_resets"`

	TokenHash    []byte                  `bun:"token_hash,pk"`
	ResetID      string                  `bun:"reset_id,type:uuid"`
	Generation   int                     `bun:"generation"`
	WorkflowID   string                  `bun:"workflow_id"`
	AccountID    int64                   `bun:"account_id"`
	HelpCenterID int64                   `bun:"help_center_id"`
	Email        string                  `bun:"email"`
	ExpiresAt    time.Time               `bun:"expires_at"`
	CreatedAt    time.Time               `bun:"created_at,nullzero,default:now()"`
	ClosedAt     *time.Time              `bun:"closed_at"`
	ClosedReason *portal.ResetLinkClosed `bun:"closed_reason"`
	// RequestID names the forgot-password request (AddResetRequest) that
	// holds the address, when Email is not given: IssuePasswordReset reads
	// it from there and deletes the request.
	RequestID string `bun:"-"`
}

// AddResetRequest keeps the address typed on a forgot-password form until
// the reset workflow's activity reads it by id, so the workflow's history
// carries the request's ID, never the address.
func (s *Store) AddResetRequest(ctx context.Context, id string, helpCenterID int64, email string) error {
	_, err := s.DB.NewRaw(`INSERT INTO password_reset_requests (id, help_center_id, email) VALUES (?, ?, ?)`,
		id, helpCenterID, email).Exec(ctx)
	return translate(err, "forgot-password request")
}

// PurgeResetRequests drops forgot-password requests no activity used
// (the workflow throttled them) once older than olderThan.
func (s *Store) PurgeResetRequests(ctx context.Context, olderThan time.Duration) (int64, error) {
	return s.purge(ctx, "forgot-password requests",
		`DELETE FROM password_reset_requests WHERE created_at < now() - ?::interval`, olderThan.String())
}

// takeResetRequest reads and deletes a forgot-password request; ok is
// false when it is gone (used, purged, or its address was erased).
func takeResetRequest(ctx context.Context, tx bun.Tx, id string) (email string, ok bool, err error) {
	var emails []string
	if err := tx.NewRaw(`DELETE FROM password_reset_requests WHERE id = ? RETURNING email`, id).Scan(ctx, &emails); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", false, translate(err, "forgot-password request")
	}
	if len(emails) == 0 {
		return "", false, nil
	}
	return emails[0], true, nil
}

// Open reports whether the link still works at now.
func (r *PasswordReset) Open(now time.Time) bool {
	return r.ClosedAt == nil && now.Before(r.ExpiresAt)
}

// ResetAccount is the account a reset request names, as far as it may
// get a link.
type ResetAccount struct {
	AccountID int64               `bun:"account_id"`
	HasPass   bool                `bun:"has_password"`
	Status    portal.AccessStatus `bun:"status"`
}

// IssuePasswordReset makes link the account's one open reset link, if the
// address names an account of scope that has a password and is active in
// the link's help center; it reports the account and whether it issued
// the link. Anyone else gets no link and nothing changes. Issuing the same
// reset generation again returns what the first time did.
func (s *Store) IssuePasswordReset(ctx context.Context, scope string, link *PasswordReset) (accountID int64, issued bool, err error) {
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var done []int64
		if err := tx.NewRaw(`SELECT account_id FROM password_resets WHERE reset_id = ? AND generation = ?`,
			link.ResetID, link.Generation).Scan(ctx, &done); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "issued reset")
		}
		if len(done) > 0 {
			accountID, issued = done[0], true
			return nil
		}
		if link.RequestID != "" {
			email, ok, err := takeResetRequest(ctx, tx, link.RequestID)
			if err != nil || !ok {
				return err
			}
			link.Email = email
		}
		var found []ResetAccount
		// The account row is locked so an issue and an apply for one
		// account take turns.
		if err := tx.NewRaw(`SELECT a.id AS account_id, a.password_hash IS NOT NULL AS has_password, pa.status
			FROM contacts c
			JOIN portal_accounts a ON a.contact_id = c.id AND a.scope = ?
			JOIN portal_access pa ON pa.account_id = a.id AND pa.help_center_id = ?
			JOIN help_centers h ON h.id = pa.help_center_id
			WHERE lower(c.email) = lower(?) AND (CASE WHEN h.user_base = 'common' THEN 'common' ELSE 'help_center:' || h.id END) = ?
			FOR UPDATE OF a`, scope, link.HelpCenterID, link.Email, scope).Scan(ctx, &found); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "reset account")
		}
		if len(found) == 0 || !found[0].HasPass || found[0].Status != portal.AccessActive {
			return nil
		}
		accountID, issued = found[0].AccountID, true
		link.AccountID, link.Email = accountID, strings.ToLower(link.Email)
		if _, err := tx.NewRaw(`UPDATE password_resets SET closed_at = now(), closed_reason = ?
			WHERE account_id = ? AND closed_at IS NULL`, portal.ResetLinkReplaced, accountID).Exec(ctx); err != nil {
			return translate(err, "replace reset links")
		}
		_, err := tx.NewInsert().Model(link).Exec(ctx)
		return translate(err, "issue reset link")
	})
	return accountID, issued, err
}

// PasswordResetByToken finds the link whose token hashes to tokenHash.
func (s *Store) PasswordResetByToken(ctx context.Context, tokenHash []byte) (*PasswordReset, error) {
	r := new(PasswordReset)
	err := s.DB.NewSelect().Model(r).Where("token_hash = ?", tokenHash).Scan(ctx)
	return r, translate(err, "reset link by token")
}

// PasswordResetLink finds one generation of a reset's links.
func (s *Store) PasswordResetLink(ctx context.Context, resetID string, generation int) (*PasswordReset, error) {
	r := new(PasswordReset)
	err := s.DB.NewSelect().Model(r).Where("reset_id = ? AND generation = ?", resetID, generation).Scan(ctx)
	return r, translate(err, "reset link")
}

// AccountPassword returns an account's password hash, or nil when it has
// none.
func (s *Store) AccountPassword(ctx context.Context, accountID int64) (*string, error) {
	var hash *string
	err := s.DB.NewRaw(`SELECT password_hash FROM portal_accounts WHERE id = ?`, accountID).Scan(ctx, &hash)
	return hash, translate(err, "account password")
}

// AccountContact finds the contact an account belongs to.
func (s *Store) AccountContact(ctx context.Context, accountID int64) (*Contact, error) {
	c := new(Contact)
	err := s.DB.NewRaw(`SELECT c.* FROM contacts c JOIN portal_accounts a ON a.contact_id = c.id WHERE a.id = ?`, accountID).Scan(ctx, c)
	return c, translate(err, "contact of account")
}

// StageAccountPassword keeps a new password hash for an existing account
// until its workflow applies it; the workflow learns only stageID.
func (s *Store) StageAccountPassword(ctx context.Context, stageID string, accountID int64, passwordHash string) error {
	_, err := s.DB.NewRaw(`INSERT INTO credential_stages (id, account_id, password_hash) VALUES (?, ?, ?)`,
		stageID, accountID, passwordHash).Exec(ctx)
	return translate(err, "stage account password")
}

// PurgeStaleAccountPasswords drops staged account passwords that nothing
// applied: the page that staged one died before the workflow answered,
// which takes seconds.
func (s *Store) PurgeStaleAccountPasswords(ctx context.Context, olderThan time.Duration) (int64, error) {
	res, err := s.DB.NewRaw(`DELETE FROM credential_stages WHERE account_id IS NOT NULL AND created_at < now() - ?::interval`,
		olderThan.String()).Exec(ctx)
	if err != nil {
		return 0, translate(err, "purge staged account passwords")
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// ErrResetClosed is returned when a reset link can no longer set a
// password: it was replaced, the password changed meanwhile, the access
// is no longer active, or the address changed.
var ErrResetClosed = errors.New("reset link no longer works")

// ApplyPasswordReset sets the password staged as stageID through one
// generation of a reset link, in one transaction with everything a new
// password means: every session of the account ends, the link is used
// and every other open link closes, and failed logins are forgotten.
// Repeating it after success is harmless. The link's expiry is the
// workflow's to judge; the database refuses a link that closed.
func (s *Store) ApplyPasswordReset(ctx context.Context, resetID string, generation int, stageID string, lockout LockoutKey) error {
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		link := new(PasswordReset)
		if err := tx.NewSelect().Model(link).Where("reset_id = ? AND generation = ?", resetID, generation).For("UPDATE").Scan(ctx); err != nil {
			return translate(err, "reset link")
		}
		if link.ClosedReason != nil && *link.ClosedReason == portal.ResetLinkUsed {
			return nil
		}
		if link.ClosedAt != nil {
			return fmt.Errorf("apply reset: %w (%s)", ErrResetClosed, *link.ClosedReason)
		}
		var still []bool
		if err := tx.NewRaw(`SELECT true FROM portal_accounts a
			JOIN contacts c ON c.id = a.contact_id
			JOIN portal_access pa ON pa.account_id = a.id AND pa.help_center_id = ?
			WHERE a.id = ? AND lower(c.email) = ? AND pa.status = 'active'
			FOR UPDATE OF a`, link.HelpCenterID, link.AccountID, link.Email).Scan(ctx, &still); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "reset account")
		}
		if len(still) == 0 {
			return fmt.Errorf("apply reset: %w (the account is no longer active, or its address changed)", ErrResetClosed)
		}
		return replacePassword(ctx, tx, link.AccountID, stageID, link.TokenHash, lockout)
	})
}

// ChangePassword sets the password staged as stageID for its account, as
// a change from the home page: every session of the account ends (the
// page opens a fresh one for the person who changed it), every open reset
// link closes, and failed logins are forgotten. Repeating it after
// success is harmless.
func (s *Store) ChangePassword(ctx context.Context, accountID int64, stageID string, lockout LockoutKey) error {
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var exists []int64
		if err := tx.NewRaw(`SELECT id FROM portal_accounts WHERE id = ? FOR UPDATE`, accountID).Scan(ctx, &exists); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "account")
		}
		if len(exists) == 0 {
			return fmt.Errorf("change password of account %d: %w", accountID, ErrNotFound)
		}
		return replacePassword(ctx, tx, accountID, stageID, nil, lockout)
	})
}

// replacePassword applies a staged password to an account whose row the
// transaction holds, and records the change. usedLink is the reset link
// that asked for it, if one did. A stage already applied (an earlier
// attempt committed) changes nothing more.
func replacePassword(ctx context.Context, tx bun.Tx, accountID int64, stageID string, usedLink []byte, lockout LockoutKey) error {
	var done []string
	if err := tx.NewRaw(`SELECT stage_id FROM password_changes WHERE stage_id = ? AND account_id = ?`, stageID, accountID).Scan(ctx, &done); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return translate(err, "password change")
	}
	if len(done) > 0 {
		return nil
	}
	var staged []string
	if err := tx.NewRaw(`DELETE FROM credential_stages WHERE id = ? AND account_id = ? RETURNING password_hash`,
		stageID, accountID).Scan(ctx, &staged); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return translate(err, "staged password")
	}
	if len(staged) == 0 {
		// Purged as stale, or never this account's.
		return fmt.Errorf("apply staged password %s: %w", stageID, ErrNotFound)
	}
	via := "home"
	if usedLink != nil {
		via = "reset_link"
	}
	if _, err := tx.NewRaw(`INSERT INTO password_changes (stage_id, account_id, via) VALUES (?, ?, ?)`, stageID, accountID, via).Exec(ctx); err != nil {
		return translate(err, "record password change")
	}
	if _, err := tx.NewRaw(`UPDATE portal_accounts SET password_hash = ?, updated_at = now() WHERE id = ?`, staged[0], accountID).Exec(ctx); err != nil {
		return translate(err, "set password")
	}
	if _, err := tx.NewRaw(`DELETE FROM portal_sessions WHERE account_id = ?`, accountID).Exec(ctx); err != nil {
		return translate(err, "end sessions")
	}
	if _, err := tx.NewRaw(`UPDATE password_resets
		SET closed_at = now(), closed_reason = CASE WHEN token_hash = ? THEN 'used' ELSE 'password_changed' END
		WHERE account_id = ? AND closed_at IS NULL`, usedLink, accountID).Exec(ctx); err != nil {
		return translate(err, "close reset links")
	}
	// Failed logins are forgotten: a person locked out by someone guessing
	// logs in with the password they just chose.
	var who struct {
		Scope string `bun:"scope"`
		Email string `bun:"email"`
	}
	if err := tx.NewRaw(`SELECT a.scope, coalesce(c.email, '') AS email FROM portal_accounts a JOIN contacts c ON c.id = a.contact_id
		WHERE a.id = ?`, accountID).Scan(ctx, &who); err != nil {
		return translate(err, "account address")
	}
	return clearLoginFailures(ctx, tx, lockout(who.Scope, who.Email))
}

// LockoutKey names the failed-login count of an address in an account
// scope (credentials.Tokens.AddressKey).
type LockoutKey func(scope, email string) string

// PurgeOldPasswordResets drops reset links that closed or expired more
// than olderThan ago; until then a dead link still says why it no longer
// works, and afterwards it reads as not valid.
func (s *Store) PurgeOldPasswordResets(ctx context.Context, olderThan time.Duration) (int64, error) {
	return s.purge(ctx, "old password reset links",
		`DELETE FROM password_resets WHERE coalesce(closed_at, expires_at) < now() - ?::interval`, olderThan.String())
}
