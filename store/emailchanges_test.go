package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/store"
)

func apiKey(t *testing.T) int64 {
	t.Helper()
	k := &store.APIKey{Name: unique("key"), Role: portal.RoleAdmin, KeyHash: credentials.Hash(uuid.NewString())}
	if err := db.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return k.ID
}

func requestChange(t *testing.T, c *store.Contact, to *string, key int64) *store.EmailChange {
	t.Helper()
	ch := &store.EmailChange{ID: uuid.NewString(), ContactID: c.ID, OldEmail: c.Email, NewEmail: to, APIKeyID: key}
	if err := db.RequestEmailChange(context.Background(), ch); err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestApplyEmailChangeEndsSessionsAndPendingLinksInOneGo(t *testing.T) {
	ctx := context.Background()
	key := apiKey(t)
	hc, other := newHelpCenter(t, "chg"), newHelpCenter(t, "chg-su")
	c := newContact(t, "chg")
	inv := invite(t, hc, c)
	var accountID int64
	if err := db.DB.NewRaw(`SELECT id FROM portal_accounts WHERE contact_id = ?`, c.ID).Scan(ctx, &accountID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DB.NewRaw(`INSERT INTO portal_sessions (token_hash, account_id, help_center_id, expires_at) VALUES (?, ?, ?, ?)`,
		credentials.Hash(uuid.NewString()), accountID, hc.ID, time.Now().Add(time.Hour)).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// A sign-up to another help center waits for its link.
	su := &store.Signup{ID: uuid.NewString(), HelpCenterID: other.ID, ContactID: c.ID, WorkflowID: "signup/x/" + uuid.NewString()}
	if err := db.CreateSignup(ctx, su, uuid.NewString(), "staged-hash"); err != nil {
		t.Fatal(err)
	}
	if err := db.IssueSignupToken(ctx, su.ID, credentials.Hash("verify-token-"+su.ID), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// And a password reset link is open.
	resetToken := credentials.Hash(uuid.NewString())
	if _, err := db.DB.NewRaw(`INSERT INTO password_resets (token_hash, reset_id, generation, workflow_id, account_id, help_center_id, email, expires_at)
		VALUES (?, ?, 1, 'reset/x', ?, ?, ?, ?)`, resetToken, uuid.NewString(), accountID, hc.ID, c.EmailAddress(), time.Now().Add(time.Hour)).Exec(ctx); err != nil {
		t.Fatal(err)
	}

	to := unique("moved") + "@example.com"
	ch := requestChange(t, c, &to, key)
	got, err := db.ApplyEmailChange(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Refused != "" || !got.HadEmail || got.SessionsEnded != 1 || got.SignupsClosed != 1 || got.ResetLinksClosed != 1 {
		t.Fatalf("applied %+v, want one session, one sign-up and one reset link ended", got)
	}
	if link, err := db.PasswordResetByToken(ctx, resetToken); err != nil || link.ClosedReason == nil || *link.ClosedReason != portal.ResetLinkEmailChanged {
		t.Fatalf("the reset link: %+v, %v; want closed for the address change", link, err)
	}
	if len(got.Invitations) != 1 || got.Invitations[0] != inv.WorkflowID {
		t.Fatalf("invitations to revoke %v, want %s", got.Invitations, inv.WorkflowID)
	}
	if fresh, _ := db.ContactByID(ctx, c.ID); fresh.EmailAddress() != to {
		t.Fatalf("contact address %q, want %q", fresh.EmailAddress(), to)
	}
	if n := count(t, `SELECT count(*) FROM portal_sessions WHERE account_id = ?`, accountID); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
	if s, _ := db.SignupByID(ctx, su.ID); s.Status != portal.SignupExpired {
		t.Fatalf("the sign-up is %s, want expired: its link is dead", s.Status)
	}
	if n := count(t, `SELECT count(*) FROM credential_stages WHERE signup_id = ?`, su.ID); n != 0 {
		t.Fatal("the sign-up's staged password is still there")
	}
	if applied, _ := db.EmailChangeByID(ctx, ch.ID); applied.Status != "applied" || applied.AppliedAt == nil {
		t.Fatalf("change %+v, want applied", applied)
	}

	// A retry after the commit gets the same answer and changes nothing.
	again, err := db.ApplyEmailChange(ctx, ch.ID)
	if err != nil || len(again.Invitations) != 1 || again.Refused != "" {
		t.Fatalf("repeat: %+v, %v", again, err)
	}
}

func TestApplyEmailChangeRefusesAStaleOrTakenAddress(t *testing.T) {
	ctx := context.Background()
	key := apiKey(t)
	c, taken := newContact(t, "stale"), newContact(t, "taken")

	t.Run("taken", func(t *testing.T) {
		ch := requestChange(t, c, taken.Email, key)
		got, err := db.ApplyEmailChange(ctx, ch.ID)
		if err != nil || got.Refused != store.ChangeRefusedTaken {
			t.Fatalf("%+v, %v; want refused as taken", got, err)
		}
		if again, err := db.ApplyEmailChange(ctx, ch.ID); err != nil || again.Refused == "" {
			t.Fatalf("a refused change applied on retry: %+v, %v", again, err)
		}
	})
	t.Run("stale", func(t *testing.T) {
		first, second := unique("first")+"@example.com", unique("second")+"@example.com"
		a, b := requestChange(t, c, &first, key), requestChange(t, c, &second, key)
		if got, err := db.ApplyEmailChange(ctx, a.ID); err != nil || got.Refused != "" {
			t.Fatalf("first change: %+v, %v", got, err)
		}
		// The second was asked against the address the first replaced.
		if got, err := db.ApplyEmailChange(ctx, b.ID); err != nil || got.Refused != store.ChangeRefusedStale {
			t.Fatalf("second change: %+v, %v; want refused as stale", got, err)
		}
		if fresh, _ := db.ContactByID(ctx, c.ID); fresh.EmailAddress() != first {
			t.Fatalf("address %q, want %q", fresh.EmailAddress(), first)
		}
	})
	t.Run("removed", func(t *testing.T) {
		fresh, _ := db.ContactByID(ctx, c.ID)
		ch := requestChange(t, fresh, nil, key)
		if got, err := db.ApplyEmailChange(ctx, ch.ID); err != nil || got.Refused != "" || !got.HadEmail {
			t.Fatalf("removal: %+v, %v", got, err)
		}
		if fresh, _ := db.ContactByID(ctx, c.ID); fresh.Email != nil {
			t.Fatalf("address %q, want none", *fresh.Email)
		}
	})
}

// TestLowerFoldsNormalisedAddressesAsGoDoes checks, on the real database,
// the agreement NormalizeEmail promises: SQL's lower() of a normalised
// address equals Go's EmailKey, non-ASCII local parts included.
func TestLowerFoldsNormalisedAddressesAsGoDoes(t *testing.T) {
	for _, in := range []string{"ÉLODIE@Example.com", "ΣΊΣΥΦΟΣ@example.com", "STRAẞE@example.com", "İSTANBUL@example.com",
		"Ǆemal@example.com", "Ada.LOVELACE@EXAMPLE.com", "JOSE\u0301@B\u00dcCHER.example", "Пётр@пример.рф", "\u212Aelvin@example.com"} {
		n, ok := portal.NormalizeEmail(in)
		if !ok {
			t.Fatalf("NormalizeEmail(%q) refused", in)
		}
		var lower string
		if err := db.DB.NewRaw(`SELECT lower(?)`, n).Scan(context.Background(), &lower); err != nil {
			t.Fatal(err)
		}
		if lower != portal.EmailKey(n) {
			t.Errorf("%q: SQL lower() gives %q, Go's EmailKey %q", n, lower, portal.EmailKey(n))
		}
	}
}
