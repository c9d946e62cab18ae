package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// An accept sets the staged password, clears every stage of the
// invitation, activates access, marks the invitation accepted and records
// invitation.accepted by the customer, all at once; an unknown stage
// changes nothing; a second accept changes nothing more.
func TestAcceptInvitationDoesEverythingOrNothing(t *testing.T) {
	ctx := context.Background()
	hc, c := newHelpCenter(t, "accept"), newContact(t, "accept")
	inv := invite(t, hc, c)
	first, second := uuid.NewString(), uuid.NewString()
	for i, stage := range []string{first, second} {
		if err := db.StageCredential(ctx, stage, inv.ID, "$argon2id$staged-"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	stages := func() int {
		return count(t, `SELECT count(*) FROM credential_stages WHERE invitation_id = ?`, inv.ID)
	}
	accepted := func() int {
		return count(t, `SELECT count(*) FROM audit_events WHERE action = ? AND target = ?`,
			portal.AuditInvitationAccepted, portal.InvitationTarget(inv.ID))
	}

	if err := db.AcceptInvitation(ctx, inv.ID, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown stage: %v, want ErrNotFound", err)
	}
	if got := invitation(t, inv.ID).Status; got != portal.InvitationPending || accessOf(t, hc, c) != portal.AccessInvited ||
		stages() != 2 || accepted() != 0 {
		t.Fatalf("after a refused accept: invitation %s, access %s, %d stages, %d events", got, accessOf(t, hc, c), stages(), accepted())
	}

	if err := db.AcceptInvitation(ctx, inv.ID, second); err != nil {
		t.Fatal(err)
	}
	got := invitation(t, inv.ID)
	if got.Status != portal.InvitationAccepted || got.AcceptedAt == nil || got.ClosedAt == nil {
		t.Errorf("invitation %s, accepted at %v, closed at %v", got.Status, got.AcceptedAt, got.ClosedAt)
	}
	if a := accessOf(t, hc, c); a != portal.AccessActive {
		t.Errorf("access %s, want active", a)
	}
	if n := count(t, `SELECT count(*) FROM portal_accounts WHERE contact_id = ? AND password_hash = '$argon2id$staged-b'`, c.ID); n != 1 {
		t.Errorf("%d accounts hold the second stage's hash, want 1", n)
	}
	actor := count(t, `SELECT count(*) FROM audit_events WHERE action = ? AND target = ? AND actor LIKE 'customer:%'`,
		portal.AuditInvitationAccepted, portal.InvitationTarget(inv.ID))
	if stages() != 0 || accepted() != 1 || actor != 1 {
		t.Errorf("%d stages left, %d invitation.accepted events (%d by the customer), want 0, 1, 1", stages(), accepted(), actor)
	}

	if err := db.AcceptInvitation(ctx, inv.ID, first); err != nil {
		t.Fatalf("accepting again: %v", err)
	}
	if accepted() != 1 {
		t.Errorf("%d invitation.accepted events after a second accept, want 1", accepted())
	}
}

// An admin's decision that committed first holds: the accept withdraws
// the invitation and sets no password.
func TestAcceptInvitationYieldsToADeactivation(t *testing.T) {
	ctx := context.Background()
	hc, c := newHelpCenter(t, "accept-held"), newContact(t, "accept-held")
	inv := invite(t, hc, c)
	stage := uuid.NewString()
	if err := db.StageCredential(ctx, stage, inv.ID, "$argon2id$held"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DB.ExecContext(ctx, `UPDATE portal_access SET status = 'deactivated' WHERE help_center_id = ?`, hc.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.AcceptInvitation(ctx, inv.ID, stage); !errors.Is(err, store.ErrNotPending) {
		t.Fatalf("accept: %v, want ErrNotPending", err)
	}
	if got := invitation(t, inv.ID).Status; got != portal.InvitationRevoked {
		t.Errorf("invitation %s, want revoked", got)
	}
	if n := count(t, `SELECT count(*) FROM portal_accounts WHERE contact_id = ? AND password_hash IS NOT NULL`, c.ID); n != 0 {
		t.Errorf("%d accounts with a password, want 0", n)
	}
	if a := accessOf(t, hc, c); a != portal.AccessDeactivated {
		t.Errorf("access %s, want deactivated", a)
	}
}
