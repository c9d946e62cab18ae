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

func pgArray(v any) any { return pgdialect.Array(v) }

// Ticket is a customer's request.
type Ticket struct {
	ID           int64     `bun:"id" json:"id"`
	HelpCenterID int64     `bun:"help_center_id" json:"-"`
	ContactID    int64     `bun:"contact_id" json:"contact_id"`
	DepartmentID *int64    `bun:"department_id" json:"department_id"`
	Subject      string    `bun:"subject" json:"subject"`
	Body         string    `bun:"body" json:"body"`
	Channel      string    `bun:"channel" json:"channel"`
	Status       string    `bun:"status" json:"status"`
	CreatedAt    time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt    time.Time `bun:"updated_at" json:"updated_at"`
}

const ticketColumns = `id, help_center_id, contact_id, department_id, subject, body, channel, status, created_at, updated_at`

// TicketsPage lists a contact's requests in a help center, newest first,
// a page of at most limit after cursor ("" for the first page).
func (s *Store) TicketsPage(ctx context.Context, contactID, helpCenterID int64, cursor string, limit int) (Page[Ticket], error) {
	before, err := decodeIDCursor(cursor)
	if err != nil {
		return Page[Ticket]{}, err
	}
	limit = ClampLimit(limit)
	var items []Ticket
	err = s.DB.NewRaw(`SELECT `+ticketColumns+` FROM tickets
		WHERE contact_id = ? AND help_center_id = ? AND (? = 0 OR id < ?) ORDER BY id DESC LIMIT ?`,
		contactID, helpCenterID, before, before, limit+1).Scan(ctx, &items)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	if err != nil {
		return Page[Ticket]{}, translate(err, "tickets")
	}
	page := Page[Ticket]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = encodeIDCursor(items[limit-1].ID)
	}
	return page, nil
}

// TicketOf returns one of a contact's requests in a help center, or
// ErrNotFound when it is not theirs there.
func (s *Store) TicketOf(ctx context.Context, contactID, helpCenterID, id int64) (*Ticket, error) {
	var t Ticket
	err := s.DB.NewRaw(`SELECT `+ticketColumns+` FROM tickets WHERE id = ? AND contact_id = ? AND help_center_id = ?`,
		id, contactID, helpCenterID).Scan(ctx, &t)
	if err != nil {
		return nil, translate(err, "ticket")
	}
	return &t, nil
}

func insertTicket(ctx context.Context, db bun.IDB, t *Ticket) error {
	return db.NewRaw(`INSERT INTO tickets (help_center_id, contact_id, department_id, subject, body, channel)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id, status, created_at, updated_at`,
		t.HelpCenterID, t.ContactID, t.DepartmentID, t.Subject, t.Body, t.Channel).Scan(ctx, &t.ID, &t.Status, &t.CreatedAt, &t.UpdatedAt)
}

// CreateTicket stores a request from a known contact (the portal).
func (s *Store) CreateTicket(ctx context.Context, t *Ticket) error {
	return translate(insertTicket(ctx, s.DB, t), "create ticket")
}

// Intake is a request arriving from a channel.
type Intake struct {
	HelpCenter   *HelpCenter
	DepartmentID *int64
	Email, Name  string
	Ticket       Ticket
}

// IntakeResult is what an intake did.
type IntakeResult struct {
	NewContact bool
	// portal.AutoInvite is "" when the request triggers none.
	AutoInvite portal.AutoInviteStatus
}

// IntakeTicket stores a request, creating its contact when the email is
// new (verified: the channel proved the address), and, when a new
// contact's request arrives where the help center auto-invites, records
// the pending auto-invite in the same transaction.
func (s *Store) IntakeTicket(ctx context.Context, in *Intake) (IntakeResult, error) {
	var res IntakeResult
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var ids []int64
		err := tx.NewRaw(`INSERT INTO contacts (email, name, verified) VALUES (?, ?, true)
			ON CONFLICT (lower(email)) WHERE email IS NOT NULL DO NOTHING RETURNING id`, in.Email, in.Name).Scan(ctx, &ids)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "create contact")
		}
		if len(ids) == 1 {
			res.NewContact = true
			in.Ticket.ContactID = ids[0]
		} else if err := tx.NewRaw(`SELECT id FROM contacts WHERE lower(email) = lower(?)`, in.Email).Scan(ctx, &in.Ticket.ContactID); err != nil {
			return translate(err, "find contact")
		}
		in.Ticket.HelpCenterID = in.HelpCenter.ID
		in.Ticket.DepartmentID = in.DepartmentID
		if err := insertTicket(ctx, tx, &in.Ticket); err != nil {
			return translate(err, "create ticket")
		}
		if !res.NewContact || !in.HelpCenter.AutoInvite.Covers(in.DepartmentID) {
			return nil
		}
		res.AutoInvite = portal.AutoInvitePending
		_, err = tx.NewRaw(`INSERT INTO auto_invites (ticket_id, help_center_id, contact_id, status) VALUES (?, ?, ?, 'pending')`,
			in.Ticket.ID, in.HelpCenter.ID, in.Ticket.ContactID).Exec(ctx)
		return translate(err, "record auto-invite")
	})
	return res, err
}

// PendingAutoInvite is an auto-invite not yet started.
type PendingAutoInvite struct {
	TicketID     int64 `bun:"ticket_id"`
	HelpCenterID int64 `bun:"help_center_id"`
	ContactID    int64 `bun:"contact_id"`
}

// PendingAutoInvites returns auto-invites still pending after grace: those
// a process stored and then died before starting.
func (s *Store) PendingAutoInvites(ctx context.Context, grace time.Duration, limit int) ([]PendingAutoInvite, error) {
	var out []PendingAutoInvite
	err := s.DB.NewRaw(`SELECT ticket_id, help_center_id, contact_id FROM auto_invites
		WHERE status = 'pending' AND created_at < now() - ?::interval ORDER BY created_at LIMIT ?`,
		grace.String(), limit).Scan(ctx, &out)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return out, translate(err, "pending auto-invites")
}

// FinishAutoInvite records that an auto-invite started, or why it was
// skipped.
func (s *Store) FinishAutoInvite(ctx context.Context, ticketID int64, status portal.AutoInviteStatus, reason portal.Outcome) error {
	_, err := s.DB.NewRaw(`UPDATE auto_invites SET status = ?, reason = ?, started_at = now() WHERE ticket_id = ? AND status = 'pending'`,
		status, reason, ticketID).Exec(ctx)
	return translate(err, "finish auto-invite")
}

// AutoInviteOf returns a ticket's auto-invite state and reason.
func (s *Store) AutoInviteOf(ctx context.Context, ticketID int64) (string, string, error) {
	var rows []struct {
		Status string `bun:"status"`
		Reason string `bun:"reason"`
	}
	err := s.DB.NewRaw(`SELECT status, reason FROM auto_invites WHERE ticket_id = ?`, ticketID).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", "", translate(err, "auto-invite")
	}
	if len(rows) == 0 {
		return "", "", nil
	}
	return rows[0].Status, rows[0].Reason, nil
}
