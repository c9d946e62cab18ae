package store_test

import (
	"context"
	"testing"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// A contact's standing, read in one statement, answers as the three reads
// it replaces: access in the help center's scope, suppression, decline.
func TestStandingAnswersAsTheSeparateReads(t *testing.T) {
	ctx := context.Background()
	hc, other := newHelpCenter(t, "standing"), newHelpCenter(t, "standing-other")
	c := newContact(t, "standing")
	check := func(hc *store.HelpCenter, want store.Standing) {
		t.Helper()
		got, err := db.StandingOf(ctx, c, hc)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: standing %+v, want %+v", hc.Slug, got, want)
		}
		sup, _ := db.SuppressionFor(ctx, c.EmailAddress())
		declined := declines(t, hc, c) > 0
		if accessOf(t, hc, c) != got.Access || (sup != nil) != got.Suppressed || declined != got.Declined {
			t.Errorf("%s: standing %+v, but the separate reads say access %q, suppressed %v, declined %v",
				hc.Slug, got, accessOf(t, hc, c), sup != nil, declined)
		}
	}
	check(hc, store.Standing{})

	inv := invite(t, hc, c)
	check(hc, store.Standing{Access: portal.AccessInvited})
	check(other, store.Standing{})

	if _, err := db.DB.ExecContext(ctx, `UPDATE portal_access SET status = 'deactivated' WHERE help_center_id = ?`, hc.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.Decline(ctx, inv); err != nil {
		t.Fatal(err)
	}
	check(hc, store.Standing{Access: portal.AccessDeactivated, Declined: true})
	check(other, store.Standing{})

	if _, err := db.Suppress(ctx, c.EmailAddress(), portal.UndeliverableComplained, store.SuppressedByWebhook, ""); err != nil {
		t.Fatal(err)
	}
	check(hc, store.Standing{Access: portal.AccessDeactivated, Declined: true, Suppressed: true})
	check(other, store.Standing{Suppressed: true})
	if _, err := db.LiftSuppression(ctx, c.EmailAddress(), "admin"); err != nil {
		t.Fatal(err)
	}
	check(other, store.Standing{})
}
