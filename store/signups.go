package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
)

// Signup is a customer's own request for a portal account.
type Signup struct {
	bun.BaseModel `bun:"table:signups"`

	ID           string              `bun:"id,pk"`
	HelpCenterID int64               `bun:"help_center_id"`
	ContactID    int64               `bun:"contact_id"`
	Status       portal.SignupStatus `bun:"status"`
	TokenHash    []byte              `bun:"token_hash"`
	ExpiresAt    *time.Time          `bun:"expires_at"`
	WorkflowID   string              `bun:"workflow_id"`
	CreatedAt    time.Time           `bun:"created_at,nullzero,default:now()"`
	VerifiedAt   *time.Time          `bun:"verified_at"`
	DecidedAt    *time.Time          `bun:"decided_at"`
}

// SignupContact finds the contact for a sign-up by email, creating an
// unverified one (the email link will verify it).
func (s *Store) SignupContact(ctx context.Context, email, name string) (*Contact, error) {
	c := new(Contact)
	err := s.DB.NewRaw(`INSERT INTO contacts (email, name, verified) VALUES (?, ?, false)
		ON CONFLICT (lower(email)) WHERE email IS NOT NULL DO UPDATE SET updated_at = contacts.updated_at
		RETURNING *`, email, name).Scan(ctx, c)
	return c, translate(err, "sign-up contact")
}

// CreateSignup records a sign-up with the password chosen for it, hashed,
// under stageID (none for an address that already has an account). It
// never touches another sign-up: whether this one is used or dropped is
// the workflow's answer (see starter.Signup). Repeating it is harmless.
func (s *Store) CreateSignup(ctx context.Context, su *Signup, stageID, passwordHash string) error {
	su.Status = portal.SignupVerifying
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Sign-up rows first, then their stages: the order every other
		// sign-up transaction locks in, so none deadlock.
		res, err := tx.NewInsert().Model(su).On("CONFLICT (id) DO NOTHING").Exec(ctx)
		if err != nil {
			return translate(err, "create sign-up")
		}
		if n, _ := res.RowsAffected(); n == 0 || passwordHash == "" {
			return nil
		}
		_, err = tx.NewRaw(`INSERT INTO credential_stages (id, signup_id, password_hash) VALUES (?, ?, ?)`,
			stageID, su.ID, passwordHash).Exec(ctx)
		return translate(err, "stage sign-up credential")
	})
}

// DropSignup removes a sign-up that no workflow took up (a repeat that
// reached the running sign-up of its address) with its staged password.
// A sign-up that was issued a link is never removed.
func (s *Store) DropSignup(ctx context.Context, id string) error {
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var unused []string
		if err := tx.NewRaw(`SELECT id FROM signups WHERE id = ? AND status = 'verifying' AND token_hash IS NULL FOR UPDATE`, id).
			Scan(ctx, &unused); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "sign-up to drop")
		}
		if len(unused) == 0 {
			return nil
		}
		if _, err := tx.NewRaw(`DELETE FROM credential_stages WHERE signup_id = ?`, id).Exec(ctx); err != nil {
			return translate(err, "drop staged credential")
		}
		_, err := tx.NewRaw(`DELETE FROM signups WHERE id = ?`, id).Exec(ctx)
		return translate(err, "drop sign-up")
	})
}

// PurgeStaleCredentials drops staged passwords nothing will use: those of
// accepts that died before the workflow answered (an accept takes
// seconds), those of sign-ups that ended, and those of sign-ups that no
// workflow took up a day after they were recorded (the request died
// between recording one and learning whether its workflow used it).
func (s *Store) PurgeStaleCredentials(ctx context.Context, olderThan time.Duration) (int64, error) {
	res, err := s.DB.NewRaw(`DELETE FROM credential_stages cs
		WHERE (cs.invitation_id IS NOT NULL AND cs.created_at < now() - ?::interval)
		   OR (cs.signup_id IS NOT NULL AND EXISTS (SELECT 1 FROM signups su WHERE su.id = cs.signup_id
		       AND (su.status NOT IN ('verifying', 'pending_approval')
		            OR (su.token_hash IS NULL AND su.created_at < now() - interval '1 day'))))`, olderThan.String()).Exec(ctx)
	if err != nil {
		return 0, translate(err, "purge stale credentials")
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// SignupPassword returns the password hash staged with a sign-up.
func (s *Store) SignupPassword(ctx context.Context, signupID string) (string, error) {
	var hash string
	err := s.DB.NewRaw(`SELECT password_hash FROM credential_stages WHERE signup_id = ? ORDER BY created_at DESC LIMIT 1`, signupID).Scan(ctx, &hash)
	return hash, translate(err, "sign-up password")
}

// SignupByID finds a sign-up.
func (s *Store) SignupByID(ctx context.Context, id string) (*Signup, error) {
	su := new(Signup)
	err := s.DB.NewSelect().Model(su).Where("id = ?", id).Scan(ctx)
	return su, translate(err, "sign-up "+id)
}

// SignupByToken finds the sign-up a verification token belongs to.
func (s *Store) SignupByToken(ctx context.Context, tokenHash []byte) (*Signup, error) {
	su := new(Signup)
	err := s.DB.NewSelect().Model(su).Where("token_hash = ?", tokenHash).Scan(ctx)
	return su, translate(err, "sign-up by token")
}

// IssueSignupToken stores the verification token's hash and deadline.
func (s *Store) IssueSignupToken(ctx context.Context, id string, tokenHash []byte, expiresAt time.Time) error {
	_, err := s.DB.NewRaw(`UPDATE signups SET token_hash = ?, expires_at = ? WHERE id = ? AND status = 'verifying'`,
		tokenHash, expiresAt, id).Exec(ctx)
	return translate(err, "issue sign-up token")
}

// VerifySignup marks the contact's address proven. With approval, the
// account's access waits as pending_approval; the account itself exists
// from here on so admins see whom they approve.
func (s *Store) VerifySignup(ctx context.Context, id string, needsApproval bool) error {
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		su, hc, err := lockSignup(ctx, tx, id)
		if err != nil || su.Status != portal.SignupVerifying {
			return err
		}
		if _, err := tx.NewRaw(`UPDATE contacts SET verified = true, updated_at = now() WHERE id = ?`, su.ContactID).Exec(ctx); err != nil {
			return translate(err, "verify contact")
		}
		status := portal.SignupVerifying
		if needsApproval {
			status = portal.SignupPendingApproval
			accountID, _, err := ensureAccount(ctx, tx, su.ContactID, hc.AccountScope())
			if err != nil {
				return err
			}
			if _, err := tx.NewRaw(`INSERT INTO portal_access (account_id, help_center_id, status, signup_id)
				VALUES (?, ?, 'pending_approval', ?)
				ON CONFLICT (account_id, help_center_id) DO UPDATE SET status = 'pending_approval', signup_id = EXCLUDED.signup_id, updated_at = now()
				WHERE portal_access.status NOT IN ('active', 'deactivated')`, accountID, hc.ID, su.ID).Exec(ctx); err != nil {
				return translate(err, "hold for approval")
			}
		}
		_, err = tx.NewRaw(`UPDATE signups SET status = ?, verified_at = now() WHERE id = ?`, status, id).Exec(ctx)
		return translate(err, "mark verified")
	})
}

func lockSignup(ctx context.Context, tx bun.Tx, id string) (*Signup, *HelpCenter, error) {
	su := new(Signup)
	if err := tx.NewSelect().Model(su).Where("id = ?", id).For("UPDATE").Scan(ctx); err != nil {
		return nil, nil, translate(err, "sign-up "+id)
	}
	hc := new(HelpCenter)
	if err := tx.NewSelect().Model(hc).Where("id = ?", su.HelpCenterID).Scan(ctx); err != nil {
		return nil, nil, translate(err, "help center of sign-up")
	}
	return su, hc, nil
}

// ActivateSignup gives the account access. The staged password becomes
// the account's unless it already has one (a common account active in
// another help center keeps its password). It reports whether the account
// kept an existing password. Repeating it is harmless.
//
// by, when given, names who approved a sign-up that waited for approval:
// the approval is recorded in the audit trail in the same transaction.
func (s *Store) ActivateSignup(ctx context.Context, id string, by ...AuditEvent) (keptPassword bool, err error) {
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		su, hc, err := lockSignup(ctx, tx, id)
		if err != nil {
			return err
		}
		if su.Status == portal.SignupActive {
			return nil
		}
		if su.Status != portal.SignupVerifying && su.Status != portal.SignupPendingApproval {
			return fmt.Errorf("activate sign-up %s: %w (%s)", id, ErrNotPending, su.Status)
		}
		accountID, _, err := ensureAccount(ctx, tx, su.ContactID, hc.AccountScope())
		if err != nil {
			return err
		}
		var staged []string
		if err := tx.NewRaw(`SELECT password_hash FROM credential_stages WHERE signup_id = ? ORDER BY created_at DESC LIMIT 1`, id).Scan(ctx, &staged); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "staged credential")
		}
		var current *string
		if err := tx.NewRaw(`SELECT password_hash FROM portal_accounts WHERE id = ?`, accountID).Scan(ctx, &current); err != nil {
			return translate(err, "account password")
		}
		keptPassword = current != nil
		if current == nil {
			if len(staged) == 0 {
				return fmt.Errorf("activate sign-up %s: no staged password: %w", id, ErrNotFound)
			}
			if _, err := tx.NewRaw(`UPDATE portal_accounts SET password_hash = ?, updated_at = now() WHERE id = ?`, staged[0], accountID).Exec(ctx); err != nil {
				return translate(err, "set password")
			}
		}
		if _, err := tx.NewRaw(`INSERT INTO portal_access (account_id, help_center_id, status, accepted_at)
			VALUES (?, ?, 'active', now())
			ON CONFLICT (account_id, help_center_id) DO UPDATE SET status = 'active', accepted_at = now(), signup_id = NULL, updated_at = now()
			WHERE portal_access.status <> 'deactivated'`, accountID, hc.ID).Exec(ctx); err != nil {
			return translate(err, "activate access")
		}
		if _, err := tx.NewRaw(`UPDATE signups SET status = 'active', decided_at = now() WHERE id = ?`, id).Exec(ctx); err != nil {
			return translate(err, "mark sign-up active")
		}
		if len(by) > 0 && su.Status == portal.SignupPendingApproval {
			ev := by[0]
			ev.Action, ev.Target, ev.HelpCenterID = portal.AuditUserApproved, portal.Target("user", accountID), &hc.ID
			if err := RecordAudit(ctx, tx, ev); err != nil {
				return err
			}
		}
		_, err = tx.NewRaw(`DELETE FROM credential_stages WHERE signup_id = ?`, id).Exec(ctx)
		return translate(err, "clear staged credentials")
	})
	return keptPassword, err
}

// CloseSignup ends a sign-up as rejected, expired or undeliverable; a rejected one's
// access record says so, and the staged password is dropped.
// A rejection is recorded in the audit trail in the same transaction, by
// the actor by names.
func (s *Store) CloseSignup(ctx context.Context, id string, status portal.SignupStatus, by ...AuditEvent) error {
	if status != portal.SignupRejected && status != portal.SignupExpired && status != portal.SignupUndeliverable {
		return fmt.Errorf("close sign-up: bad status %q", status)
	}
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		su, _, err := lockSignup(ctx, tx, id)
		if err != nil || (su.Status != portal.SignupVerifying && su.Status != portal.SignupPendingApproval) {
			return err
		}
		if _, err := tx.NewRaw(`UPDATE signups SET status = ?, decided_at = now() WHERE id = ?`, status, id).Exec(ctx); err != nil {
			return translate(err, "close sign-up")
		}
		access := portal.AccessRejected
		if status != portal.SignupRejected {
			// An unanswered approval request, or one whose address takes
			// no mail, leaves nothing behind.
			if _, err := tx.NewRaw(`DELETE FROM portal_access WHERE signup_id = ? AND status = 'pending_approval'`, id).Exec(ctx); err != nil {
				return translate(err, "drop pending access")
			}
		} else {
			var accounts []int64
			if err := tx.NewRaw(`UPDATE portal_access SET status = ?, signup_id = NULL, changes = changes + 1, updated_at = now()
				WHERE signup_id = ? AND status = 'pending_approval' RETURNING account_id`, access, id).Scan(ctx, &accounts); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return translate(err, "reject access")
			}
			for _, account := range accounts {
				if len(by) == 0 {
					break
				}
				ev := by[0]
				ev.Action, ev.Target, ev.HelpCenterID = portal.AuditUserRejected, portal.Target("user", account), &su.HelpCenterID
				if err := RecordAudit(ctx, tx, ev); err != nil {
					return err
				}
			}
		}
		_, err = tx.NewRaw(`DELETE FROM credential_stages WHERE signup_id = ?`, id).Exec(ctx)
		return translate(err, "clear staged credentials")
	})
}

// PendingSignupOf returns the sign-up waiting for approval behind a
// portal user, or ErrNotFound.
func (s *Store) PendingSignupOf(ctx context.Context, helpCenterID, accountID int64) (*Signup, error) {
	su := new(Signup)
	err := s.DB.NewRaw(`SELECT s.* FROM portal_access pa JOIN signups s ON s.id = pa.signup_id
		WHERE pa.help_center_id = ? AND pa.account_id = ? AND pa.status = 'pending_approval' AND s.status = 'pending_approval'`,
		helpCenterID, accountID).Scan(ctx, su)
	return su, translate(err, "pending sign-up")
}
