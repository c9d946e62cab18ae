package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// activeAccount makes c an active user of hc with password hash pw and
// returns the account's ID.
func activeAccount(t *testing.T, hc *store.HelpCenter, c *store.Contact, pw string) int64 {
	t.Helper()
	ctx := context.Background()
	inv := invite(t, hc, c)
	stage := uuid.NewString()
	if err := db.StageCredential(ctx, stage, inv.ID, pw); err != nil {
		t.Fatal(err)
	}
	if err := db.AcceptInvitation(ctx, inv.ID, stage); err != nil {
		t.Fatal(err)
	}
	id, err := db.AccountID(ctx, c.ID, hc.AccountScope())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// lockoutKey stands in for credentials.Tokens.AddressKey.
func lockoutKey(scope, email string) string { return scope + "/" + strings.ToLower(email) }

// resetLink is generation gen of reset resetID for c in hc.
func resetLink(hc *store.HelpCenter, c *store.Contact, resetID string, gen int) *store.PasswordReset {
	return &store.PasswordReset{TokenHash: fmt.Appendf(nil, "%s/%d", resetID, gen), ResetID: resetID, Generation: gen,
		WorkflowID: "password-reset/test", HelpCenterID: hc.ID, Email: strings.ToUpper(*c.Email), ExpiresAt: time.Now().Add(time.Hour)}
}

func issue(t *testing.T, hc *store.HelpCenter, link *store.PasswordReset) (int64, bool) {
	t.Helper()
	id, ok, err := db.IssuePasswordReset(context.Background(), hc.AccountScope(), link)
	if err != nil {
		t.Fatal(err)
	}
	return id, ok
}

func session(t *testing.T, accountID, helpCenterID int64) []byte {
	t.Helper()
	token := []byte(uuid.NewString())
	if err := db.CreateSession(context.Background(), token, accountID, helpCenterID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return token
}

func linkState(t *testing.T, link *store.PasswordReset) *store.PasswordReset {
	t.Helper()
	got, err := db.PasswordResetByToken(context.Background(), link.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func closedAs(t *testing.T, link *store.PasswordReset, want portal.ResetLinkClosed) {
	t.Helper()
	got := linkState(t, link)
	if got.ClosedAt == nil || got.ClosedReason == nil || *got.ClosedReason != want {
		t.Fatalf("link %d closed %v (%v), want %s", got.Generation, got.ClosedAt, got.ClosedReason, want)
	}
}

func stagePassword(t *testing.T, accountID int64, pw string) string {
	t.Helper()
	id := uuid.NewString()
	if err := db.StageAccountPassword(context.Background(), id, accountID, pw); err != nil {
		t.Fatal(err)
	}
	return id
}

func password(t *testing.T, accountID int64) string {
	t.Helper()
	pw, err := db.AccountPassword(context.Background(), accountID)
	if err != nil || pw == nil {
		t.Fatalf("password of %d: %v %v", accountID, pw, err)
	}
	return *pw
}

func TestIssuePasswordResetGivesLinksOnlyToActiveAccountsWithAPassword(t *testing.T) {
	ctx := context.Background()
	hc := newHelpCenter(t, "reset")

	t.Run("UnknownAddress", func(t *testing.T) {
		email := unique("nobody") + "@example.com"
		link := &store.PasswordReset{TokenHash: []byte(uuid.NewString()), ResetID: uuid.NewString(), Generation: 1,
			WorkflowID: "w", HelpCenterID: hc.ID, Email: email, ExpiresAt: time.Now().Add(time.Hour)}
		if _, ok := issue(t, hc, link); ok {
			t.Fatal("a link for an address with no account")
		}
	})
	t.Run("InvitedWithoutPassword", func(t *testing.T) {
		c := newContact(t, "invited")
		invite(t, hc, c)
		if _, ok := issue(t, hc, resetLink(hc, c, uuid.NewString(), 1)); ok {
			t.Fatal("a link for an account with no password")
		}
	})
	t.Run("Deactivated", func(t *testing.T) {
		c := newContact(t, "gone")
		id := activeAccount(t, hc, c, "hash")
		if _, err := db.SetAccess(ctx, hc.ID, id, portal.ActionDeactivate, "k"); err != nil {
			t.Fatal(err)
		}
		if _, ok := issue(t, hc, resetLink(hc, c, uuid.NewString(), 1)); ok {
			t.Fatal("a link for a deactivated account")
		}
	})
	t.Run("ActiveInAnotherHelpCenterOnly", func(t *testing.T) {
		other := newHelpCenter(t, "reset-other")
		c := newContact(t, "elsewhere")
		activeAccount(t, other, c, "hash")
		if _, ok := issue(t, hc, resetLink(hc, c, uuid.NewString(), 1)); ok {
			t.Fatal("a link for a help center the account has no access to")
		}
	})
	t.Run("ActiveGetsOneOpenLinkAndARepeatIsTheSame", func(t *testing.T) {
		c := newContact(t, "active")
		id := activeAccount(t, hc, c, "hash")
		reset := uuid.NewString()
		first := resetLink(hc, c, reset, 1)
		got, ok := issue(t, hc, first)
		if !ok || got != id {
			t.Fatalf("issue: %d %v, want account %d", got, ok, id)
		}
		if stored := linkState(t, first); stored.Email != strings.ToLower(*c.Email) || !stored.Open(time.Now()) {
			t.Fatalf("stored link %+v", stored)
		}
		if again, ok := issue(t, hc, resetLink(hc, c, reset, 1)); !ok || again != id {
			t.Fatal("issuing the same generation again must answer as the first time")
		}
		second := resetLink(hc, c, reset, 2)
		issue(t, hc, second)
		closedAs(t, first, portal.ResetLinkReplaced)
		if n := count(t, `SELECT count(*) FROM password_resets WHERE account_id = ? AND closed_at IS NULL`, id); n != 1 {
			t.Fatalf("%d open links, want 1", n)
		}
		// A second reset of the same account (a new workflow run) also
		// replaces the open link.
		third := resetLink(hc, c, uuid.NewString(), 1)
		issue(t, hc, third)
		closedAs(t, second, portal.ResetLinkReplaced)
	})
}

func TestApplyPasswordResetEndsEverySessionAndClosesEveryOtherLink(t *testing.T) {
	ctx := context.Background()
	hc := newHelpCenter(t, "apply")
	c := newContact(t, "apply")
	id := activeAccount(t, hc, c, "old-hash")
	session(t, id, hc.ID)
	session(t, id, hc.ID)
	reset := uuid.NewString()
	link := resetLink(hc, c, reset, 1)
	issue(t, hc, link)
	stage := stagePassword(t, id, "new-hash")

	// Someone guessing has locked the address out of logging in.
	key := lockoutKey(hc.AccountScope(), *c.Email)
	for range portal.DefaultLoginLockout.Threshold {
		if _, err := db.RecordLoginFailure(ctx, key, portal.DefaultLoginLockout); err != nil {
			t.Fatal(err)
		}
	}
	if wait, err := db.LoginLocked(ctx, key); err != nil || wait <= 0 {
		t.Fatalf("not locked after the threshold: %s %v", wait, err)
	}

	if err := db.ApplyPasswordReset(ctx, reset, 1, stage, lockoutKey); err != nil {
		t.Fatal(err)
	}
	if wait, err := db.LoginLocked(ctx, key); err != nil || wait != 0 {
		t.Fatalf("still locked for %s after the reset (%v)", wait, err)
	}
	if pw := password(t, id); pw != "new-hash" {
		t.Fatalf("password %q", pw)
	}
	if n := count(t, `SELECT count(*) FROM portal_sessions WHERE account_id = ?`, id); n != 0 {
		t.Fatalf("%d sessions survived the reset", n)
	}
	closedAs(t, link, portal.ResetLinkUsed)
	if n := count(t, `SELECT count(*) FROM credential_stages WHERE id = ?`, stage); n != 0 {
		t.Fatal("the staged password outlived its use")
	}
	if n := count(t, `SELECT count(*) FROM password_changes WHERE account_id = ? AND via = 'reset_link'`, id); n != 1 {
		t.Fatalf("%d recorded changes, want 1", n)
	}
	// A retry after the commit changes nothing and succeeds.
	if err := db.ApplyPasswordReset(ctx, reset, 1, stage, lockoutKey); err != nil {
		t.Fatalf("retry: %v", err)
	}

	// A link that was replaced sets nothing.
	reset2 := uuid.NewString()
	old := resetLink(hc, c, reset2, 1)
	issue(t, hc, old)
	issue(t, hc, resetLink(hc, c, reset2, 2))
	if err := db.ApplyPasswordReset(ctx, reset2, 1, stagePassword(t, id, "other-hash"), lockoutKey); !errors.Is(err, store.ErrResetClosed) {
		t.Fatalf("replaced link: %v, want ErrResetClosed", err)
	}
	if pw := password(t, id); pw != "new-hash" {
		t.Fatalf("a replaced link changed the password to %q", pw)
	}
}

func TestApplyPasswordResetRefusesADeactivatedAccountOrAChangedAddress(t *testing.T) {
	ctx := context.Background()
	hc := newHelpCenter(t, "refuse")

	deactivated := newContact(t, "deact")
	id := activeAccount(t, hc, deactivated, "old-hash")
	reset := uuid.NewString()
	issue(t, hc, resetLink(hc, deactivated, reset, 1))
	if _, err := db.SetAccess(ctx, hc.ID, id, portal.ActionDeactivate, "k"); err != nil {
		t.Fatal(err)
	}
	if err := db.ApplyPasswordReset(ctx, reset, 1, stagePassword(t, id, "new-hash"), lockoutKey); !errors.Is(err, store.ErrResetClosed) {
		t.Fatalf("deactivated: %v, want ErrResetClosed", err)
	}
	if pw := password(t, id); pw != "old-hash" {
		t.Fatal("a deactivated account's password changed")
	}

	moved := newContact(t, "moved")
	id = activeAccount(t, hc, moved, "old-hash")
	reset = uuid.NewString()
	issue(t, hc, resetLink(hc, moved, reset, 1))
	newEmail := unique("moved-new") + "@example.com"
	moved.Email = &newEmail
	if err := db.UpdateContact(ctx, moved); err != nil {
		t.Fatal(err)
	}
	if err := db.ApplyPasswordReset(ctx, reset, 1, stagePassword(t, id, "new-hash"), lockoutKey); !errors.Is(err, store.ErrResetClosed) {
		t.Fatalf("changed address: %v, want ErrResetClosed", err)
	}
}

func TestChangePasswordEndsSessionsAndClosesOpenLinks(t *testing.T) {
	ctx := context.Background()
	hc := newHelpCenter(t, "change")
	c := newContact(t, "change")
	id := activeAccount(t, hc, c, "old-hash")
	session(t, id, hc.ID)
	link := resetLink(hc, c, uuid.NewString(), 1)
	issue(t, hc, link)
	stage := stagePassword(t, id, "new-hash")
	if err := db.ChangePassword(ctx, id, stage, lockoutKey); err != nil {
		t.Fatal(err)
	}
	if pw := password(t, id); pw != "new-hash" {
		t.Fatalf("password %q", pw)
	}
	if n := count(t, `SELECT count(*) FROM portal_sessions WHERE account_id = ?`, id); n != 0 {
		t.Fatalf("%d sessions survived the change", n)
	}
	closedAs(t, link, portal.ResetLinkPasswordChanged)
	if err := db.ChangePassword(ctx, id, stage, lockoutKey); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if err := db.ChangePassword(ctx, id, uuid.NewString(), lockoutKey); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a stage that never existed: %v, want ErrNotFound", err)
	}
	// Another account's stage can't change this one.
	other := activeAccount(t, hc, newContact(t, "change-other"), "hash")
	if err := db.ChangePassword(ctx, id, stagePassword(t, other, "stolen"), lockoutKey); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account's stage: %v, want ErrNotFound", err)
	}
	if pw := password(t, id); pw != "new-hash" {
		t.Fatalf("password %q", pw)
	}
}

func TestPurgeStaleAccountPasswordsKeepsRecentOnes(t *testing.T) {
	ctx := context.Background()
	hc := newHelpCenter(t, "purge")
	id := activeAccount(t, hc, newContact(t, "purge"), "hash")
	stale, fresh := stagePassword(t, id, "a"), stagePassword(t, id, "b")
	if _, err := db.DB.NewRaw(`UPDATE credential_stages SET created_at = now() - interval '2 hours' WHERE id = ?`, stale).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PurgeStaleAccountPasswords(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if count(t, `SELECT count(*) FROM credential_stages WHERE id = ?`, stale) != 0 || count(t, `SELECT count(*) FROM credential_stages WHERE id = ?`, fresh) != 1 {
		t.Fatal("purge removed the wrong stages")
	}
}

func TestPurgeOldPasswordResetsKeepsLinksThatStillExplainThemselves(t *testing.T) {
	ctx := context.Background()
	hc := newHelpCenter(t, "purge-reset")
	old, recent := newContact(t, "purge-old"), newContact(t, "purge-recent")
	activeAccount(t, hc, old, "hash")
	activeAccount(t, hc, recent, "hash")
	oldLink, recentLink := resetLink(hc, old, uuid.NewString(), 1), resetLink(hc, recent, uuid.NewString(), 1)
	issue(t, hc, oldLink)
	issue(t, hc, recentLink)
	if _, err := db.DB.NewRaw(`UPDATE password_resets SET expires_at = now() - interval '31 days' WHERE token_hash = ?`, oldLink.TokenHash).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DB.NewRaw(`UPDATE password_resets SET expires_at = now() - interval '29 days' WHERE token_hash = ?`, recentLink.TokenHash).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PurgeOldPasswordResets(ctx, 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if count(t, `SELECT count(*) FROM password_resets WHERE token_hash = ?`, oldLink.TokenHash) != 0 {
		t.Fatal("a link dead for 31 days was kept")
	}
	if count(t, `SELECT count(*) FROM password_resets WHERE token_hash = ?`, recentLink.TokenHash) != 1 {
		t.Fatal("a link dead for 29 days was purged")
	}
}
