package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// An import suppresses each listed address once, leaves an address an
// admin lifted lifted, and records its audit event with the counts; a
// lift by id records its own.
func TestImportSuppressionsAddsEachAddressOnceAndKeepsALift(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bounced, complained, lifted := unique("b")+"@example.com", unique("c")+"@example.com", unique("l")+"@example.com"
	if _, err := db.Suppress(ctx, lifted, portal.UndeliverableBounced, store.SuppressedByWebhook, "550"); err != nil {
		t.Fatal(err)
	}
	sup, err := db.SuppressionFor(ctx, lifted)
	if err != nil || sup == nil || sup.ID == 0 {
		t.Fatalf("suppression %+v %v", sup, err)
	}
	ev := store.AuditEvent{Actor: "api_key:1", Action: portal.AuditSuppressionLifted}
	if _, err := db.LiftSuppressionByID(ctx, sup.ID, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LiftSuppressionByID(ctx, sup.ID, ev); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second lift: %v", err)
	}
	list := []store.ImportedSuppression{
		{Email: bounced, Reason: portal.UndeliverableBounced, Detail: "550 no such user"},
		{Email: complained, Reason: portal.UndeliverableComplained},
		{Email: bounced, Reason: portal.UndeliverableComplained},
		{Email: lifted, Reason: portal.UndeliverableBounced},
	}
	res, err := db.ImportSuppressions(ctx, list, store.AuditEvent{Actor: "api_key:1", Action: portal.AuditSuppressionsImported, Target: "suppressions"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 2 || res.Lifted != 1 || res.Already != 0 {
		t.Fatalf("import %+v", res)
	}
	again, err := db.ImportSuppressions(ctx, list, store.AuditEvent{Actor: "api_key:1", Action: portal.AuditSuppressionsImported, Target: "suppressions"})
	if err != nil || again.Added != 0 || again.Already != 2 || again.Lifted != 1 {
		t.Fatalf("second import %+v %v", again, err)
	}
	in, err := db.SuppressedAmong(ctx, []string{bounced, complained, lifted})
	if err != nil {
		t.Fatal(err)
	}
	if !in[portal.EmailKey(bounced)] || !in[portal.EmailKey(complained)] || in[portal.EmailKey(lifted)] {
		t.Fatalf("suppressed among: %v", in)
	}
	if s, _ := db.SuppressionFor(ctx, bounced); s == nil || s.Reason != portal.UndeliverableBounced || s.Source != store.SuppressedByImport {
		t.Fatalf("bounced: %+v", s)
	}
}
