package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// portalUser makes c an active user of hc and returns the account's ID.
func portalUser(t *testing.T, hc *store.HelpCenter, c *store.Contact) int64 {
	t.Helper()
	ctx := context.Background()
	inv := invite(t, hc, c)
	stage := uuid.NewString()
	if err := db.StageCredential(ctx, stage, inv.ID, "$argon2id$test"); err != nil {
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

func newSession(t *testing.T, accountID, helpCenterID int64) []byte {
	t.Helper()
	hash := []byte(uuid.NewString())
	if err := db.CreateSession(context.Background(), hash, accountID, helpCenterID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return hash
}

func sessionLive(t *testing.T, hash []byte, helpCenterID int64) bool {
	t.Helper()
	_, err := db.SessionUser(context.Background(), hash, helpCenterID, 8*time.Hour)
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func ageSession(t *testing.T, hash []byte, unused string) {
	t.Helper()
	if _, err := db.DB.NewRaw(`UPDATE portal_sessions SET last_seen_at = now() - ?::interval WHERE token_hash = ?`, unused, hash).
		Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSessionsEndAfterTheIdleTimeoutAndUseKeepsThemAlive(t *testing.T) {
	t.Parallel()
	hc, c := newHelpCenter(t, "idle"), newContact(t, "idle")
	account := portalUser(t, hc, c)
	idle, used := newSession(t, account, hc.ID), newSession(t, account, hc.ID)
	ageSession(t, idle, "8 hours 1 minute")
	if sessionLive(t, idle, hc.ID) {
		t.Fatal("a session unused for over 8 hours is still live")
	}
	// Used 7 hours ago: still live, and using it now moves its last use on.
	ageSession(t, used, "7 hours")
	if !sessionLive(t, used, hc.ID) {
		t.Fatal("a session used 7 hours ago is not live")
	}
	if n := count(t, `SELECT count(*) FROM portal_sessions WHERE token_hash = ? AND last_seen_at > now() - interval '1 minute'`, used); n != 1 {
		t.Fatal("using a session did not record the use")
	}
}

func TestEndSessionsEndsEveryHelpCenterOfTheAccountOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc, other := newHelpCenter(t, "endall"), newHelpCenter(t, "endall")
	c, bystander := newContact(t, "endall"), newContact(t, "endall")
	account, otherAccount := portalUser(t, hc, c), portalUser(t, other, c)
	bystanderAccount := portalUser(t, hc, bystander)
	mine := []struct {
		hash []byte
		hc   int64
	}{{newSession(t, account, hc.ID), hc.ID}, {newSession(t, account, hc.ID), hc.ID}}
	elsewhere := newSession(t, otherAccount, other.ID)
	theirs := newSession(t, bystanderAccount, hc.ID)

	n, err := db.EndSessions(ctx, account)
	if err != nil || n != 2 {
		t.Fatalf("EndSessions ended %d (%v), want 2", n, err)
	}
	for _, s := range mine {
		if sessionLive(t, s.hash, s.hc) {
			t.Fatal("a session of the account survived")
		}
	}
	if !sessionLive(t, theirs, hc.ID) || !sessionLive(t, elsewhere, other.ID) {
		t.Fatal("another account's session ended")
	}
	// The contact's sessions under every account end together.
	if n, err := db.EndContactSessions(ctx, c.ID); err != nil || n != 1 || sessionLive(t, elsewhere, other.ID) {
		t.Fatalf("EndContactSessions ended %d (%v), want the other account's 1", n, err)
	}
	if !sessionLive(t, theirs, hc.ID) {
		t.Fatal("a bystander's session ended with the contact's")
	}
}

func TestPurgeSessionsDropsExpiredAndIdleOnes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc, c := newHelpCenter(t, "purgesess"), newContact(t, "purgesess")
	account := portalUser(t, hc, c)
	expired, idle, live := newSession(t, account, hc.ID), newSession(t, account, hc.ID), newSession(t, account, hc.ID)
	if _, err := db.DB.NewRaw(`UPDATE portal_sessions SET expires_at = now() - interval '1 second' WHERE token_hash = ?`, expired).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	ageSession(t, idle, "9 hours")
	if _, err := db.PurgeSessions(ctx, 8*time.Hour); err != nil {
		t.Fatal(err)
	}
	for what, hash := range map[string][]byte{"expired": expired, "idle": idle} {
		if count(t, `SELECT count(*) FROM portal_sessions WHERE token_hash = ?`, hash) != 0 {
			t.Errorf("the %s session survived the purge", what)
		}
	}
	if count(t, `SELECT count(*) FROM portal_sessions WHERE token_hash = ?`, live) != 1 {
		t.Fatal("a live session was purged")
	}
}

func TestPurgeStaleTokensKeepsLinksThatStillExplainThemselves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc := newHelpCenter(t, "stale")
	issue := func(inv *store.Invitation, gen int) []byte {
		hash := []byte(uuid.NewString())
		if err := db.IssueToken(ctx, inv.ID, gen, hash, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		return hash
	}
	tokensOf := func(inv *store.Invitation) int {
		return count(t, `SELECT count(*) FROM invitation_tokens WHERE invitation_id = ?`, inv.ID)
	}
	old, recent, pending := invite(t, hc, newContact(t, "stale")), invite(t, hc, newContact(t, "stale")), invite(t, hc, newContact(t, "stale"))
	for _, inv := range []*store.Invitation{old, recent, pending} {
		issue(inv, 1)
		issue(inv, 2)
	}
	for _, inv := range []*store.Invitation{old, recent} {
		if err := db.CloseInvitation(ctx, inv.ID, portal.InvitationRevoked); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.DB.NewRaw(`UPDATE invitations SET closed_at = now() - interval '31 days' WHERE id = ?`, old.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PurgeStaleTokens(ctx, 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := tokensOf(old); n != 0 || invitation(t, old.ID).TokenHash != nil {
		t.Fatalf("%d tokens of an invitation closed 31 days ago survived", n)
	}
	if tokensOf(recent) != 2 || tokensOf(pending) != 2 {
		t.Fatal("tokens of a recently closed or a pending invitation were purged")
	}
}
