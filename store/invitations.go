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

// Invitation is one contact's invitation to one help center; its ID is the
// run ID of the workflow that drives it.
type Invitation struct {
	bun.BaseModel `bun:"table:invitations"`

	ID              string                  `bun:"id,pk"`
	HelpCenterID    int64                   `bun:"help_center_id"`
	ContactID       int64                   `bun:"contact_id"`
	Status          portal.InvitationStatus `bun:"status"`
	TokenHash       []byte                  `bun:"token_hash"`
	TokenGeneration int                     `bun:"token_generation"`
	ExpiresAt       *time.Time              `bun:"expires_at"`
	SendCount       int                     `bun:"send_count"`
	LastSentAt      *time.Time              `bun:"last_sent_at"`
	WorkflowID      string                  `bun:"workflow_id"`
	CreatedAt       time.Time               `bun:"created_at,nullzero,default:now()"`
	UpdatedAt       time.Time               `bun:"updated_at,nullzero,default:now()"`
	AcceptedAt      *time.Time              `bun:"accepted_at"`
	ClosedAt        *time.Time              `bun:"closed_at"`
	// UndeliverableReason says why an undeliverable invitation is one.
	UndeliverableReason *portal.UndeliverableReason `bun:"undeliverable_reason"`

	HelpCenterSlug string `bun:"help_center_slug,scanonly"`
	// DeclinedAt: when the contact declined through this invitation's
	// link (also after it expired), or when it closed declined.
	DeclinedAt *time.Time `bun:"declined_at,scanonly"`
}

// Recorded says what CreateInvitation found about the account.
type Recorded struct {
	// HasPassword: the account already logs in elsewhere.
	HasPassword bool
	// Blocked: an admin's decision stands in the way (deactivated,
	// rejected, or a sign-up awaiting approval), so the invitation was
	// recorded as revoked. Eligibility is checked before an invitation
	// starts; this catches a decision that came in between.
	Blocked bool
	// Linked: the link given with the invitation was recorded with it.
	Linked bool
}

// CreateInvitation records a new pending invitation and marks the contact
// as invited to the help center. It is idempotent on inv.ID. A pending
// invitation left behind by a run that no longer exists (an operator
// terminated it) is closed as revoked, so at most one stays pending.
// The invitation.created audit event, by the actor of events[0] (who
// invited, or system), is written with the record, once.
//
// An inv given with a link (TokenGeneration above 0, with its TokenHash
// and ExpiresAt) is recorded with that link current, in the same
// transaction, unless the account needs none (it has a password, or is
// blocked): one transaction instead of two for each new invitation. A
// record that already exists is left as it is; its link is IssueToken's.
func (s *Store) CreateInvitation(ctx context.Context, inv *Invitation, events ...AuditEvent) (rec Recorded, err error) {
	created := by(events, portal.ActorSystem)
	created.Action, created.Target, created.HelpCenterID = portal.AuditInvitationCreated, portal.InvitationTarget(inv.ID), &inv.HelpCenterID
	details := map[string]any{"contact_id": inv.ContactID}
	for k, v := range created.Details {
		details[k] = v
	}
	created.Details = details
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Each invitation of a bulk job runs this, so reads and writes
		// that need no order between them share a statement. Those that
		// do stay apart: a statement reads what was committed when it
		// began, and the locking steps (the account, the access) may wait
		// for another transaction whose rows the next read must see.
		//
		// The help center's user base, and whether the contact exists.
		// A contact deleted since the invite is the caller's ErrNotFound,
		// not a foreign key error that an activity would retry for ever.
		hc := &HelpCenter{ID: inv.HelpCenterID}
		var contactFound bool
		if err := tx.NewRaw(`SELECT hc.user_base, EXISTS (SELECT 1 FROM contacts WHERE id = ?)
			FROM help_centers AS hc WHERE hc.id = ?`, inv.ContactID, inv.HelpCenterID).
			Scan(ctx, &hc.UserBase, &contactFound); err != nil {
			return translate(err, "help center of invitation")
		}
		if !contactFound {
			return translate(sql.ErrNoRows, "contact of invitation")
		}
		accountID, hasPassword, err := ensureAccount(ctx, tx, inv.ContactID, hc.AccountScope())
		if err != nil {
			return err
		}
		rec.HasPassword = hasPassword
		// Locked, so that a concurrent invitation or decision waits for
		// this one, and read after the account, so that a decision that
		// made the account first is seen.
		rec.Blocked, err = accessBlocked(ctx, tx, accountID, inv.HelpCenterID)
		if err != nil {
			return err
		}
		// Read after the lock: a run of this same invitation that held it
		// has committed its record by now.
		var existing []portal.InvitationStatus
		if err := tx.NewRaw(`SELECT status FROM invitations WHERE id = ?`, inv.ID).Scan(ctx, &existing); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "find invitation")
		}
		if len(existing) > 0 {
			rec.Blocked = existing[0] == portal.InvitationRevoked && rec.Blocked
			return nil
		}
		link := inv.TokenGeneration > 0 && !rec.HasPassword && !rec.Blocked
		if !link {
			inv.TokenHash, inv.TokenGeneration, inv.ExpiresAt = nil, 0, nil
		}
		if rec.Blocked {
			inv.Status = portal.InvitationRevoked
			now := time.Now()
			inv.ClosedAt = &now
			created.Details["blocked"] = true
			_, err = tx.NewInsert().With("created", auditInsert(tx, &created)).
				Model(inv).Returning("*").Exec(ctx)
			return translate(err, "record blocked invitation")
		}
		// Access becomes invited, unless a decision or an active
		// access stands; it waits for a concurrent invitation's record,
		// so that the next statement sees that invitation.
		if _, err := tx.NewRaw(`INSERT INTO portal_access (account_id, help_center_id, status, invited_at)
			VALUES (?, ?, 'invited', now())
			ON CONFLICT (account_id, help_center_id) DO UPDATE
			SET status = 'invited', invited_at = now(), signup_id = NULL, updated_at = now()
			WHERE portal_access.status NOT IN ('active', 'deactivated', 'pending_approval', 'rejected')`, accountID, inv.HelpCenterID).Exec(ctx); err != nil {
			return translate(err, "mark contact invited")
		}
		// A pending invitation left behind is revoked: at most one
		// is pending, which the database enforces too.
		if _, err := tx.NewUpdate().Model((*Invitation)(nil)).
			Set("status = ?", portal.InvitationRevoked).Set("closed_at = now()").Set("updated_at = now()").
			Where("help_center_id = ? AND contact_id = ? AND status = ?", inv.HelpCenterID, inv.ContactID, portal.InvitationPending).
			Exec(ctx); err != nil {
			return translate(err, "close stale invitations")
		}
		// The invitation, its first link and its event, in one
		// statement: the link's foreign key is checked at its end, once
		// the invitation is in.
		inv.Status = portal.InvitationPending
		q := tx.NewInsert().With("created", auditInsert(tx, &created))
		if link {
			rec.Linked = true
			q = q.With("link", tx.NewRaw(`INSERT INTO invitation_tokens (token_hash, invitation_id, generation) VALUES (?, ?, ?)`,
				inv.TokenHash, inv.ID, inv.TokenGeneration))
		}
		_, err = q.Model(inv).Returning("*").Exec(ctx)
		return translate(err, "create invitation")
	})
	return rec, err
}

// ensureAccount finds or makes the contact's account in scope, and says
// whether it has a password.
func ensureAccount(ctx context.Context, tx bun.Tx, contactID int64, scope string) (id int64, hasPassword bool, err error) {
	err = tx.NewRaw(`INSERT INTO portal_accounts (contact_id, scope) VALUES (?, ?)
		ON CONFLICT (contact_id, scope) DO UPDATE SET updated_at = portal_accounts.updated_at
		RETURNING id, password_hash IS NOT NULL`, contactID, scope).Scan(ctx, &id, &hasPassword)
	return id, hasPassword, translate(err, "ensure portal account")
}

func (s *Store) selectInvitations(db bun.IDB) *bun.SelectQuery {
	return db.NewSelect().Model((*Invitation)(nil)).
		ColumnExpr("invitation.*").ColumnExpr("hc.slug AS help_center_slug").
		// The decline row goes when an admin overrides it; the
		// invitation it closed still says when.
		ColumnExpr(`coalesce(d.declined_at, CASE WHEN invitation.status = ? THEN invitation.closed_at END) AS declined_at`, portal.InvitationDeclined).
		Join("JOIN help_centers AS hc ON hc.id = invitation.help_center_id").
		Join(`LEFT JOIN invitation_declines AS d ON d.help_center_id = invitation.help_center_id
			AND d.contact_id = invitation.contact_id AND d.invitation_id = invitation.id`)
}

// InvitationByID finds an invitation.
func (s *Store) InvitationByID(ctx context.Context, id string) (*Invitation, error) {
	inv := new(Invitation)
	err := s.selectInvitations(s.DB).Where("invitation.id = ?", id).Scan(ctx, inv)
	return inv, translate(err, "invitation "+id)
}

// InvitationByToken finds the invitation a token was issued for, current or
// not, and the generation of that token, in one statement: every view of
// an acceptance page and every accept asks it.
func (s *Store) InvitationByToken(ctx context.Context, tokenHash []byte) (*Invitation, int, error) {
	var found struct {
		Invitation `bun:",extend"`
		Generation int `bun:"link_generation,scanonly"`
	}
	err := s.selectInvitations(s.DB).Model(&found).
		ColumnExpr("t.generation AS link_generation").
		Join("JOIN invitation_tokens AS t ON t.invitation_id = invitation.id").
		Where("t.token_hash = ?", tokenHash).
		Scan(ctx)
	if err != nil {
		return nil, 0, translate(err, "invitation token")
	}
	return &found.Invitation, found.Generation, nil
}

// InvitationFilter narrows an invitation list.
type InvitationFilter struct {
	HelpCenterID int64
	Status       portal.InvitationStatus
}

// ListInvitations returns a help center's invitations, newest first.
func (s *Store) ListInvitations(ctx context.Context, f InvitationFilter, cursor string, limit int) (Page[Invitation], error) {
	limit = ClampLimit(limit)
	var items []Invitation
	q := s.selectInvitations(s.DB).Where("invitation.help_center_id = ?", f.HelpCenterID).
		OrderExpr("invitation.created_at DESC, invitation.id DESC").Limit(int64(limit + 1))
	if f.Status != "" {
		q = q.Where("invitation.status = ?", f.Status)
	}
	if cursor != "" {
		t, id, err := decodeTimeCursor(cursor)
		if err != nil {
			return Page[Invitation]{}, err
		}
		q = q.Where("(invitation.created_at, invitation.id) < (?, ?::uuid)", t, id)
	}
	if err := q.Scan(ctx, &items); err != nil {
		return Page[Invitation]{}, translate(err, "list invitations")
	}
	p := Page[Invitation]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		last := items[limit-1]
		p.NextCursor = encodeTimeCursor(last.CreatedAt, last.ID)
	}
	if p.Items == nil {
		p.Items = []Invitation{}
	}
	return p, nil
}

// IssueToken makes generation gen, whose token hashes to tokenHash, the
// invitation's current link, valid until expiresAt. Older generations stay
// on record so their links can explain that they were replaced. Replaying
// a generation already issued changes nothing.
//
// A resend asked for by a person passes its event (actor, request ID):
// invitation.resent is written with the new link, only by the call that
// issues it, so a retry records nothing more.
func (s *Store) IssueToken(ctx context.Context, invitationID string, gen int, tokenHash []byte, expiresAt time.Time, resent ...AuditEvent) error {
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewRaw(`INSERT INTO invitation_tokens (token_hash, invitation_id, generation)
			VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, tokenHash, invitationID, gen).Exec(ctx); err != nil {
			return translate(err, "record token")
		}
		var issued []int64
		err := tx.NewUpdate().Model((*Invitation)(nil)).
			Set("token_hash = ?", tokenHash).Set("token_generation = ?", gen).
			Set("expires_at = ?", expiresAt).Set("updated_at = now()").
			Where("id = ? AND token_generation < ? AND status = ?", invitationID, gen, portal.InvitationPending).
			Returning("help_center_id").Scan(ctx, &issued)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "issue token")
		}
		if len(resent) == 0 || len(issued) == 0 {
			return nil
		}
		ev := by(resent, portal.ActorUnknown)
		ev.Action, ev.Target, ev.HelpCenterID = portal.AuditInvitationResent, portal.InvitationTarget(invitationID), &issued[0]
		ev.Details = map[string]any{"generation": gen}
		return RecordAudit(ctx, tx, ev)
	})
}

// CloseInvitation moves a pending invitation to expired, revoked or
// undeliverable and withdraws the contact's invited status. Closing twice is
// harmless.
//
// The close is recorded in the audit trail with it: a revocation by the
// actor of events[0] (who revoked), an expiry by system, a decline by the
// customer. An undeliverable address is a process's finding, counted in
// the metrics instead.
func (s *Store) CloseInvitation(ctx context.Context, invitationID string, status portal.InvitationStatus, events ...AuditEvent) error {
	return s.closeInvitation(ctx, invitationID, status, "", events)
}

// CloseUndeliverable closes a pending invitation as undeliverable, with
// the reason (the provider rejected the address, it bounced, its owner
// complained).
func (s *Store) CloseUndeliverable(ctx context.Context, invitationID string, reason portal.UndeliverableReason) error {
	return s.closeInvitation(ctx, invitationID, portal.InvitationUndeliverable, reason, nil)
}

func (s *Store) closeInvitation(ctx context.Context, invitationID string, status portal.InvitationStatus, reason portal.UndeliverableReason, events []AuditEvent) error {
	if !status.Closing() {
		return fmt.Errorf("close invitation: bad status %q", status)
	}
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		inv := new(Invitation)
		err := tx.NewUpdate().Model(inv).
			Set("status = ?", status).Set("closed_at = now()").Set("updated_at = now()").
			Set("undeliverable_reason = NULLIF(?, '')", string(reason)).
			Where("id = ? AND status = ?", invitationID, portal.InvitationPending).
			Returning("*").Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return translate(err, "close invitation")
		}
		_, err = tx.NewRaw(`DELETE FROM portal_access AS pa USING portal_accounts AS a
			WHERE pa.account_id = a.id AND a.contact_id = ? AND pa.help_center_id = ? AND pa.status = 'invited'`,
			inv.ContactID, inv.HelpCenterID).Exec(ctx)
		if err != nil {
			return translate(err, "withdraw invited status")
		}
		return recordClose(ctx, tx, inv, events)
	})
}

// recordClose writes the audit event of an invitation's close, in the
// transaction that closed it.
func recordClose(ctx context.Context, tx bun.Tx, inv *Invitation, events []AuditEvent) error {
	var ev AuditEvent
	switch inv.Status {
	case portal.InvitationRevoked:
		ev = by(events, portal.ActorUnknown)
		ev.Action = portal.AuditInvitationRevoked
	case portal.InvitationExpired:
		ev = by(events, portal.ActorSystem)
		ev.Action = portal.AuditInvitationExpired
	case portal.InvitationDeclined:
		// The contact declined by their emailed link: the actor is their
		// account (every invitation has one, made when it was recorded).
		hc := new(HelpCenter)
		if err := tx.NewSelect().Model(hc).Where("id = ?", inv.HelpCenterID).Scan(ctx); err != nil {
			return translate(err, "help center of declined invitation")
		}
		var account []int64
		if err := tx.NewRaw(`SELECT id FROM portal_accounts WHERE contact_id = ? AND scope = ?`,
			inv.ContactID, hc.AccountScope()).Scan(ctx, &account); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "account of declined invitation")
		}
		ev = by(events, portal.ActorSystem)
		if len(account) > 0 {
			ev.Actor = portal.CustomerActor(account[0])
		}
		ev.Action = portal.AuditInvitationDeclined
	default:
		return nil
	}
	ev.Target, ev.HelpCenterID = portal.InvitationTarget(inv.ID), &inv.HelpCenterID
	ev.Details = map[string]any{"contact_id": inv.ContactID}
	return RecordAudit(ctx, tx, ev)
}

// StageCredential keeps a password hash for the invitation workflow to
// apply when it accepts the invitation, and returns the stage's ID.
func (s *Store) StageCredential(ctx context.Context, id, invitationID, passwordHash string) error {
	_, err := s.DB.NewRaw(`INSERT INTO credential_stages (id, invitation_id, password_hash) VALUES (?, ?, ?)`,
		id, invitationID, passwordHash).Exec(ctx)
	return translate(err, "stage credential")
}

// DropCredential discards a staged password that was not used.
func (s *Store) DropCredential(ctx context.Context, id string) error {
	_, err := s.DB.NewRaw(`DELETE FROM credential_stages WHERE id = ?`, id).Exec(ctx)
	return translate(err, "drop credential")
}

// ErrNotPending is returned when an invitation can no longer be accepted.
var ErrNotPending = errors.New("invitation is not pending")

// AcceptInvitation applies the staged password to the contact's portal
// account, activates the account's access to the help center and marks the
// invitation accepted, in one transaction. Repeating it after success is
// harmless. An accept that loses a race with a deactivation (whose revoke
// has not reached the workflow yet) changes nothing but the invitation,
// which it withdraws as the revoke would, and returns ErrNotPending.
//
// The invitation.accepted event, by the customer's account and with the
// request ID of events[0], is written in the same transaction.
func (s *Store) AcceptInvitation(ctx context.Context, invitationID, stageID string, events ...AuditEvent) error {
	return s.completeInvitation(ctx, invitationID, by(events, ""), func(ctx context.Context, tx bun.Tx, inv *Invitation, accountID int64) error {
		// The staged password becomes the account's, and every stage of
		// the invitation goes (a retried submit staged more than one).
		res, err := tx.NewRaw(`WITH stage AS (
				DELETE FROM credential_stages WHERE invitation_id = ? RETURNING id, password_hash)
			UPDATE portal_accounts SET password_hash = stage.password_hash, updated_at = now()
			FROM stage WHERE stage.id = ? AND portal_accounts.id = ?`,
			invitationID, stageID, accountID).Exec(ctx)
		if err != nil {
			return translate(err, "set password")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return translate(sql.ErrNoRows, "staged credential")
		}
		return nil
	})
}

// GrantInvitation accepts an invitation for an account that already has a
// password (a common account active in another help center): access
// becomes active and the password stays as it is. Like AcceptInvitation,
// it is harmless to repeat and yields to a deactivation that came first.
// Nobody accepted it by hand: its invitation.accepted event is by system.
func (s *Store) GrantInvitation(ctx context.Context, invitationID string) error {
	return s.completeInvitation(ctx, invitationID, AuditEvent{Actor: portal.ActorSystem}, nil)
}

// completeInvitation accepts a pending invitation in one transaction:
// credentials (when given a function to set them), active access, and the
// invitation's accepted state. A deactivated access withdraws the
// invitation instead and yields ErrNotPending.
// accepted names the actor: empty for the customer whose account it is.
func (s *Store) completeInvitation(ctx context.Context, invitationID string, accepted AuditEvent,
	credentials func(context.Context, bun.Tx, *Invitation, int64) error) error {
	withdrawn := false
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Every accept runs this. The invitation, locked, with its help
		// center's user base.
		var found struct {
			Invitation `bun:",extend"`
			UserBase   portal.UserBase `bun:"user_base,scanonly"`
		}
		if err := tx.NewSelect().Model(&found).ColumnExpr("invitation.*").ColumnExpr("hc.user_base").
			Join("JOIN help_centers AS hc ON hc.id = invitation.help_center_id").
			Where("invitation.id = ?", invitationID).For("UPDATE OF invitation").Scan(ctx); err != nil {
			return translate(err, "invitation "+invitationID)
		}
		inv := &found.Invitation
		if inv.Status == portal.InvitationAccepted {
			return nil
		}
		if inv.Status != portal.InvitationPending {
			return fmt.Errorf("complete invitation %s: %w (%s)", invitationID, ErrNotPending, inv.Status)
		}
		hc := &HelpCenter{ID: inv.HelpCenterID, UserBase: found.UserBase}
		accountID, _, err := ensureAccount(ctx, tx, inv.ContactID, hc.AccountScope())
		if err != nil {
			return err
		}
		// Apart from the account's statement, which may wait for a
		// sign-up's: this read must see the access that sign-up made.
		if blocked, err := accessBlocked(ctx, tx, accountID, inv.HelpCenterID); err != nil || blocked {
			if err != nil {
				return err
			}
			// An admin's decision got in first (a deactivation, or a
			// sign-up held or rejected): withdraw, as a revoke would.
			withdrawn = true
			_, err = tx.NewUpdate().Model(inv).Set("status = ?", portal.InvitationRevoked).Set("closed_at = now()").
				Set("updated_at = now()").WherePK().Exec(ctx)
			return translate(err, "withdraw invitation")
		}
		if credentials != nil {
			if err := credentials(ctx, tx, inv, accountID); err != nil {
				return err
			}
		}
		ev := accepted
		details := map[string]any{"contact_id": inv.ContactID, "user": portal.Target("user", accountID)}
		if ev.Actor == "" {
			ev.Actor = portal.CustomerActor(accountID)
		} else {
			details["existing_account"] = true
		}
		ev.Action, ev.Target, ev.HelpCenterID, ev.Details = portal.AuditInvitationAccepted, portal.InvitationTarget(inv.ID), &inv.HelpCenterID, details
		// Active access, the invitation accepted and its event, at once.
		_, err = tx.NewUpdate().
			With("access", tx.NewRaw(`INSERT INTO portal_access (account_id, help_center_id, status, invited_at, accepted_at)
				VALUES (?, ?, 'active', ?, now())
				ON CONFLICT (account_id, help_center_id) DO UPDATE SET status = 'active', accepted_at = now(), signup_id = NULL, updated_at = now()`,
				accountID, inv.HelpCenterID, inv.CreatedAt)).
			With("accepted", auditInsert(tx, &ev)).
			Model(inv).
			Set("status = ?", portal.InvitationAccepted).Set("accepted_at = now()").Set("closed_at = now()").Set("updated_at = now()").
			WherePK().Exec(ctx)
		return translate(err, "mark accepted")
	})
	if err == nil && withdrawn {
		return fmt.Errorf("complete invitation %s: %w (access held by an admin's decision)", invitationID, ErrNotPending)
	}
	return err
}

// accessBlocked locks an account's access to a help center and reports
// whether an admin's decision holds it (deactivated, rejected, or a
// sign-up awaiting approval), so an accept or a grant can't undo a
// decision that committed first.
func accessBlocked(ctx context.Context, tx bun.Tx, accountID, helpCenterID int64) (bool, error) {
	var status []portal.AccessStatus
	err := tx.NewRaw(`SELECT status FROM portal_access WHERE account_id = ? AND help_center_id = ? FOR UPDATE`,
		accountID, helpCenterID).Scan(ctx, &status)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, translate(err, "access status")
	}
	return len(status) > 0 && status[0].Blocking(), nil
}
