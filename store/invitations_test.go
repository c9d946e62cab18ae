package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

func pendingCount(t *testing.T, hc *store.HelpCenter, c *store.Contact) int {
	t.Helper()
	return count(t, `SELECT count(*) FROM invitations WHERE help_center_id = ? AND contact_id = ? AND status = 'pending'`, hc.ID, c.ID)
}

func accessOf(t *testing.T, hc *store.HelpCenter, c *store.Contact) portal.AccessStatus {
	t.Helper()
	s, err := db.AccessStatus(context.Background(), c.ID, hc)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A new run for a contact whose earlier run is gone (an operator
// terminated it) replaces the earlier invitation instead of failing.
func TestCreateInvitationRevokesTheEarlierPendingOne(t *testing.T) {
	t.Parallel()
	hc, c := newHelpCenter(t, "onepending"), newContact(t, "onepending")
	first := invite(t, hc, c)
	second := invite(t, hc, c)
	if got := invitation(t, first.ID); got.Status != portal.InvitationRevoked || got.ClosedAt == nil {
		t.Fatalf("first invitation is %s (closed at %v), want revoked and closed", got.Status, got.ClosedAt)
	}
	if got := invitation(t, second.ID); got.Status != portal.InvitationPending || got.ClosedAt != nil {
		t.Fatalf("second invitation is %s, want pending", got.Status)
	}
	if n := pendingCount(t, hc, c); n != 1 {
		t.Fatalf("%d pending invitations, want 1", n)
	}
	if s := accessOf(t, hc, c); s != portal.AccessInvited {
		t.Fatalf("access is %q, want invited", s)
	}
}

func TestConcurrentInvitationsLeaveOnePending(t *testing.T) {
	t.Parallel()
	hc, c := newHelpCenter(t, "racepending"), newContact(t, "racepending")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			id := uuid.NewString()
			_, err := db.CreateInvitation(context.Background(), &store.Invitation{ID: id, HelpCenterID: hc.ID, ContactID: c.ID, WorkflowID: "invitation:" + id})
			if err != nil && !errors.Is(err, store.ErrConflict) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := pendingCount(t, hc, c); n != 1 {
		t.Fatalf("%d pending invitations after concurrent creates, want 1", n)
	}
}

// The index behind "one pending invitation per contact and help center"
// holds even for a write that skips CreateInvitation.
func TestDatabaseRefusesSecondPendingInvitation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	insert := func(hc *store.HelpCenter, c *store.Contact, status portal.InvitationStatus) error {
		_, err := db.DB.NewRaw(`INSERT INTO invitations (id, help_center_id, contact_id, status, workflow_id) VALUES (?, ?, ?, ?, 'raw')`,
			uuid.NewString(), hc.ID, c.ID, status).Exec(ctx)
		return err
	}
	t.Run("SamePairRefused", func(t *testing.T) {
		hc, c := newHelpCenter(t, "rawpending"), newContact(t, "rawpending")
		invite(t, hc, c)
		uniqueViolation(t, insert(hc, c, portal.InvitationPending), "invitations_one_pending")
		if n := pendingCount(t, hc, c); n != 1 {
			t.Fatalf("%d pending invitations, want 1", n)
		}
	})
	t.Run("AnotherHelpCenterAllowed", func(t *testing.T) {
		hc, other, c := newHelpCenter(t, "rawpending"), newHelpCenter(t, "rawpending"), newContact(t, "rawpending")
		invite(t, hc, c)
		if err := insert(other, c, portal.InvitationPending); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("AnotherContactAllowed", func(t *testing.T) {
		hc := newHelpCenter(t, "rawpending")
		invite(t, hc, newContact(t, "rawpending"))
		if err := insert(hc, newContact(t, "rawpending"), portal.InvitationPending); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ClosedInvitationsAllowed", func(t *testing.T) {
		hc, c := newHelpCenter(t, "rawpending"), newContact(t, "rawpending")
		invite(t, hc, c)
		for _, s := range []portal.InvitationStatus{portal.InvitationExpired, portal.InvitationExpired, portal.InvitationRevoked, portal.InvitationAccepted} {
			if err := insert(hc, c, s); err != nil {
				t.Fatalf("%s beside a pending invitation: %v", s, err)
			}
		}
	})
}

// A workflow's first activity may run twice; the second must find the
// invitation it recorded, not revoke it for a new one.
func TestCreateInvitationIsIdempotentOnID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc, c := newHelpCenter(t, "idem"), newContact(t, "idem")
	first := invite(t, hc, c)
	again := &store.Invitation{ID: first.ID, HelpCenterID: hc.ID, ContactID: c.ID, WorkflowID: first.WorkflowID}
	rec, err := db.CreateInvitation(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Blocked {
		t.Fatal("a repeat of a pending invitation reports it blocked")
	}
	got := invitation(t, first.ID)
	if got.Status != portal.InvitationPending || !got.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("repeat changed the invitation: %s created %v, want pending created %v", got.Status, got.CreatedAt, first.CreatedAt)
	}
	if n := count(t, `SELECT count(*) FROM invitations WHERE help_center_id = ? AND contact_id = ?`, hc.ID, c.ID); n != 1 {
		t.Fatalf("%d invitations after a repeat, want 1", n)
	}
}

// A new invitation's first link is written in the record's own
// transaction; a repeat leaves the link alone, and an account that
// already has a password gets none.
func TestCreateInvitationRecordsItsFirstLink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	withLink := func(hc *store.HelpCenter, c *store.Contact, id string) *store.Invitation {
		expires := time.Now().Add(time.Hour).Truncate(time.Microsecond)
		return &store.Invitation{ID: id, HelpCenterID: hc.ID, ContactID: c.ID, WorkflowID: "invitation:" + id,
			TokenHash: []byte("hash-of-" + id), TokenGeneration: 1, ExpiresAt: &expires}
	}
	t.Run("New", func(t *testing.T) {
		hc, c := newHelpCenter(t, "firstlink"), newContact(t, "firstlink")
		id := uuid.NewString()
		rec, err := db.CreateInvitation(ctx, withLink(hc, c, id))
		if err != nil || !rec.Linked {
			t.Fatalf("record with a link: %+v %v", rec, err)
		}
		found, gen, err := db.InvitationByToken(ctx, []byte("hash-of-"+id))
		if err != nil || found.ID != id || gen != 1 || found.TokenGeneration != 1 || found.ExpiresAt == nil {
			t.Fatalf("the first link does not find its invitation: %+v gen %d %v", found, gen, err)
		}
		rec, err = db.CreateInvitation(ctx, withLink(hc, c, id))
		if err != nil || rec.Linked {
			t.Fatalf("a repeat wrote the link again: %+v %v", rec, err)
		}
		if n := count(t, `SELECT count(*) FROM invitation_tokens WHERE invitation_id = ?`, id); n != 1 {
			t.Fatalf("%d token rows after a repeat, want 1", n)
		}
	})
	t.Run("AccountWithPassword", func(t *testing.T) {
		hc, c := newHelpCenter(t, "firstlinkpw"), newContact(t, "firstlinkpw")
		accept(t, invite(t, hc, c))
		id := uuid.NewString()
		rec, err := db.CreateInvitation(ctx, withLink(hc, c, id))
		if err != nil || !rec.HasPassword || rec.Linked {
			t.Fatalf("record for an account with a password: %+v %v", rec, err)
		}
		if got := invitation(t, id); got.TokenGeneration != 0 || got.TokenHash != nil {
			t.Fatalf("an account with a password got a link: generation %d", got.TokenGeneration)
		}
		if n := count(t, `SELECT count(*) FROM invitation_tokens WHERE invitation_id = ?`, id); n != 0 {
			t.Fatalf("%d token rows for an account with a password, want 0", n)
		}
	})
}

func TestCloseInvitation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("WithdrawsInvitedAccess", func(t *testing.T) {
		hc, c := newHelpCenter(t, "close"), newContact(t, "close")
		inv := invite(t, hc, c)
		if err := db.CloseInvitation(ctx, inv.ID, portal.InvitationUndeliverable); err != nil {
			t.Fatal(err)
		}
		if got := invitation(t, inv.ID); got.Status != portal.InvitationUndeliverable || got.ClosedAt == nil {
			t.Fatalf("invitation is %s closed at %v, want undeliverable and closed", got.Status, got.ClosedAt)
		}
		if s := accessOf(t, hc, c); s != "" {
			t.Fatalf("access is %q after the close, want none", s)
		}
	})
	// The expiry timer and an admin's revoke can both land; the first
	// close stands and the second is not an error.
	t.Run("SecondCloseIsHarmless", func(t *testing.T) {
		hc, c := newHelpCenter(t, "close"), newContact(t, "close")
		inv := invite(t, hc, c)
		if err := db.CloseInvitation(ctx, inv.ID, portal.InvitationExpired); err != nil {
			t.Fatal(err)
		}
		closed := invitation(t, inv.ID)
		for _, s := range []portal.InvitationStatus{portal.InvitationExpired, portal.InvitationRevoked} {
			if err := db.CloseInvitation(ctx, inv.ID, s); err != nil {
				t.Fatalf("closing again as %s: %v", s, err)
			}
		}
		got := invitation(t, inv.ID)
		if got.Status != portal.InvitationExpired || !got.ClosedAt.Equal(*closed.ClosedAt) {
			t.Fatalf("second close changed the invitation: %s closed %v, want expired closed %v", got.Status, got.ClosedAt, closed.ClosedAt)
		}
	})
	// Closing must not undo an acceptance, nor withdraw the access it gave.
	t.Run("AcceptedInvitationStaysAccepted", func(t *testing.T) {
		hc, c := newHelpCenter(t, "close"), newContact(t, "close")
		inv := invite(t, hc, c)
		if err := db.GrantInvitation(ctx, inv.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.CloseInvitation(ctx, inv.ID, portal.InvitationRevoked); err != nil {
			t.Fatal(err)
		}
		if got := invitation(t, inv.ID); got.Status != portal.InvitationAccepted {
			t.Fatalf("invitation is %s, want accepted", got.Status)
		}
		if s := accessOf(t, hc, c); s != portal.AccessActive {
			t.Fatalf("access is %q, want active", s)
		}
	})
	t.Run("NonClosingStatusRefused", func(t *testing.T) {
		hc, c := newHelpCenter(t, "close"), newContact(t, "close")
		inv := invite(t, hc, c)
		for _, s := range []portal.InvitationStatus{portal.InvitationAccepted, portal.InvitationPending, "cancelled", ""} {
			if err := db.CloseInvitation(ctx, inv.ID, s); err == nil {
				t.Fatalf("closing as %q was accepted", s)
			}
		}
		if got := invitation(t, inv.ID); got.Status != portal.InvitationPending || got.ClosedAt != nil {
			t.Fatalf("a refused close changed the invitation to %s", got.Status)
		}
		if s := accessOf(t, hc, c); s != portal.AccessInvited {
			t.Fatalf("a refused close changed access to %q", s)
		}
	})
}
