package store_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// The one read an invitation's email is made from answers what the
// separate reads it replaces answer: the invitation, its help center and
// contact, the contact's decline and the address's suppression.
func TestInvitationMailAnswersAsTheSeparateReads(t *testing.T) {
	ctx := context.Background()
	hc, other := newHelpCenter(t, "mail"), newHelpCenter(t, "mail-other")
	c := newContact(t, "mail")
	first := invite(t, hc, c)

	check := func(id string, declined bool, suppressed portal.UndeliverableReason) {
		t.Helper()
		m, err := db.InvitationMailByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		inv := invitation(t, id)
		if m.ID != inv.ID || m.Status != inv.Status || m.HelpCenterSlug != inv.HelpCenterSlug ||
			m.TokenGeneration != inv.TokenGeneration || !equalTime(m.DeclinedAt, inv.DeclinedAt) {
			t.Errorf("invitation %+v, want %+v", m.Invitation, *inv)
		}
		if m.HelpCenter.ID != hc.ID || m.HelpCenter.Name != hc.Name || m.HelpCenter.Slug != hc.Slug ||
			!reflect.DeepEqual(m.HelpCenter.InvitePolicy, hc.InvitePolicy) {
			t.Errorf("help center %+v, want %+v", *m.HelpCenter, *hc)
		}
		if m.Contact.ID != c.ID || m.Contact.EmailAddress() != c.EmailAddress() || m.Contact.Name != c.Name {
			t.Errorf("contact %+v, want %+v", *m.Contact, *c)
		}
		if n := declines(t, hc, c); m.ContactDeclined != declined || (n > 0) != declined {
			t.Errorf("declined %v (%d decline rows), want %v", m.ContactDeclined, n, declined)
		}
		sup, err := db.SuppressionFor(ctx, c.EmailAddress())
		if err != nil {
			t.Fatal(err)
		}
		if m.SuppressionReason() != suppressed || (sup != nil) != (suppressed != "") {
			t.Errorf("suppressed %q (SuppressionFor %v), want %q", m.SuppressionReason(), sup, suppressed)
		}
	}
	check(first.ID, false, "")

	// A decline through the first invitation: the second, later one is
	// declined too, but only the first says when through its own link.
	if err := db.Decline(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := invite(t, hc, c)
	check(first.ID, true, "")
	check(second.ID, true, "")
	if m, _ := db.InvitationMailByID(ctx, second.ID); m.DeclinedAt != nil {
		t.Errorf("second invitation declined at %v through the first's link", m.DeclinedAt)
	}
	// Another help center's invitation knows nothing of that decline.
	elsewhere := invite(t, other, c)
	if m, err := db.InvitationMailByID(ctx, elsewhere.ID); err != nil || m.ContactDeclined || m.HelpCenter.ID != other.ID {
		t.Errorf("other help center: declined %v, help center %d, err %v", m.ContactDeclined, m.HelpCenter.ID, err)
	}

	// The address suppressed, in capitals, then lifted.
	if _, err := db.Suppress(ctx, strings.ToUpper(c.EmailAddress()), portal.UndeliverableBounced, store.SuppressedByWebhook, "550"); err != nil {
		t.Fatal(err)
	}
	check(second.ID, true, portal.UndeliverableBounced)
	if _, err := db.LiftSuppression(ctx, c.EmailAddress(), "admin"); err != nil {
		t.Fatal(err)
	}
	check(second.ID, true, "")

	if _, err := db.InvitationMailByID(ctx, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown invitation: %v, want ErrNotFound", err)
	}
}

// declines counts the contact's declines of hc: one at most, by its key.
func declines(t *testing.T, hc *store.HelpCenter, c *store.Contact) int {
	t.Helper()
	return count(t, `SELECT count(*) FROM invitation_declines WHERE help_center_id = ? AND contact_id = ?`, hc.ID, c.ID)
}

func equalTime(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}
