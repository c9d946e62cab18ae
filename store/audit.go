package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/portalaccess/portal"
)

// AuditEvent is one entry of the audit trail: who changed what, where and
// when. It holds IDs only, never a person's address or name.
type AuditEvent struct {
	bun.BaseModel `bun:"table:audit_events"`

	ID           int64              `bun:"id,pk,autoincrement"`
	At           time.Time          `bun:"at,nullzero,default:now()"`
	Actor        string             `bun:"actor"`
	Action       portal.AuditAction `bun:"action"`
	Target       string             `bun:"target"`
	HelpCenterID *int64             `bun:"help_center_id"`
	RequestID    string             `bun:"request_id,nullzero"`
	Details      map[string]any     `bun:"details,type:jsonb,nullzero"`
}

// RecordAudit appends events through db, which is the transaction of the
// change they describe, so one is never kept without the other.
func RecordAudit(ctx context.Context, db bun.IDB, events ...AuditEvent) error {
	for i := range events {
		if _, err := auditInsert(db, &events[i]).Returning("id, at").Exec(ctx); err != nil {
			return translate(err, "record audit event")
		}
	}
	return nil
}

// auditInsert is the statement that appends ev, for a caller that runs it
// on its own or as part of the statement of the change it describes.
func auditInsert(db bun.IDB, ev *AuditEvent) *bun.InsertQuery {
	if ev.Details == nil {
		ev.Details = map[string]any{}
	}
	return db.NewInsert().Model(ev)
}

// by is the event a caller passed to name who asked for a change, or,
// when none was passed, one by fallback (the actor of a process, or of a
// caller that named nobody).
func by(events []AuditEvent, fallback string) AuditEvent {
	if len(events) > 0 && events[0].Actor != "" {
		return events[0]
	}
	ev := AuditEvent{Actor: fallback}
	if len(events) > 0 {
		ev.RequestID = events[0].RequestID
	}
	return ev
}

// Audit appends events on their own, for what changes nothing in the
// database (an export).
func (s *Store) Audit(ctx context.Context, events ...AuditEvent) error {
	return RecordAudit(ctx, s.DB, events...)
}

// AuditOnce appends e unless an event of its action and target already
// carries the same details["key"], for what an activity records and may
// run again: a retried attempt records nothing twice.
func (s *Store) AuditOnce(ctx context.Context, e AuditEvent, key string) error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details["key"] = key
	details, err := json.Marshal(e.Details)
	if err != nil {
		return err
	}
	_, err = s.DB.NewRaw(`INSERT INTO audit_events (actor, action, target, help_center_id, details)
		SELECT ?0, ?1, ?2, ?3, ?4::jsonb
		WHERE NOT EXISTS (SELECT 1 FROM audit_events WHERE action = ?1 AND target = ?2 AND details->>'key' = ?5)`,
		e.Actor, e.Action, e.Target, e.HelpCenterID, string(details), key).Exec(ctx)
	return translate(err, "record audit event")
}

// audited runs change and records events in one transaction. Events
// without a target are given created, the row the change made.
func (s *Store) audited(ctx context.Context, events []AuditEvent, change func(ctx context.Context, db bun.IDB) (created string, err error)) error {
	if len(events) == 0 {
		_, err := change(ctx, s.DB)
		return err
	}
	return s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		created, err := change(ctx, tx)
		if err != nil {
			return err
		}
		for i := range events {
			if events[i].Target == "" {
				events[i].Target = created
			}
		}
		return RecordAudit(ctx, tx, events...)
	})
}

// AuditFilter selects audit events; zero fields select everything.
type AuditFilter struct {
	// HelpCenterIDs limits the events to these help centers (a scoped
	// key's); nil means no limit.
	HelpCenterIDs []int64
	HelpCenterID  *int64
	Actor         string
	Target        string
	Action        portal.AuditAction
	Since, Until  *time.Time
}

func (f AuditFilter) apply(q *bun.SelectQuery) *bun.SelectQuery {
	if f.HelpCenterIDs != nil {
		q = q.Where("help_center_id = ANY(?)", pgdialect.Array(f.HelpCenterIDs))
	}
	if f.HelpCenterID != nil {
		q = q.Where("help_center_id = ?", *f.HelpCenterID)
	}
	if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if f.Target != "" {
		q = q.Where("target = ?", f.Target)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Since != nil {
		q = q.Where("at >= ?", *f.Since)
	}
	if f.Until != nil {
		q = q.Where("at < ?", *f.Until)
	}
	return q
}

// ListAuditEvents pages through the events, newest first.
func (s *Store) ListAuditEvents(ctx context.Context, f AuditFilter, cursor string, limit int) (Page[AuditEvent], error) {
	before, err := decodeIDCursor(cursor)
	if err != nil {
		return Page[AuditEvent]{}, err
	}
	limit = ClampLimit(limit)
	var items []AuditEvent
	q := f.apply(s.DB.NewSelect().Model(&items))
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	if err := q.Order("id DESC").Limit(int64(limit + 1)).Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Page[AuditEvent]{}, translate(err, "list audit events")
	}
	return pageByID(items, limit, func(e AuditEvent) int64 { return e.ID }), nil
}

// EachAuditEvent calls fn for every selected event, newest first, a page
// at a time, so an export of any size streams.
func (s *Store) EachAuditEvent(ctx context.Context, f AuditFilter, fn func(AuditEvent) error) error {
	const pageSize = 1000
	var before int64
	for {
		var page []AuditEvent
		q := f.apply(s.DB.NewSelect().Model(&page))
		if before > 0 {
			q = q.Where("id < ?", before)
		}
		if err := q.Order("id DESC").Limit(int64(pageSize)).Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "export audit events")
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		before = page[len(page)-1].ID
	}
}

// DetailsJSON is the event's details as JSON, for a CSV cell.
func (e AuditEvent) DetailsJSON() string {
	b, err := json.Marshal(e.Details)
	if err != nil || string(b) == "null" {
		return "{}"
	}
	return string(b)
}
