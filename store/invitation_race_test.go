package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// A sign-up held for approval that commits while an invitation of the
// same contact waits for its account is seen: the invitation is recorded
// as revoked and no link is issued. The account's statement waits for
// the sign-up's; a read of the access in that same statement would see
// the database as it was before the wait, without the sign-up's access.
func TestInvitationSeesAHoldCommittedWhileItWaited(t *testing.T) {
	ctx := context.Background()
	hc, c := newHelpCenter(t, "race-hold"), newContact(t, "race-hold")

	signup, err := db.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = signup.Rollback() }()
	var signupPID int
	if err := signup.NewRaw(`SELECT pg_backend_pid()`).Scan(ctx, &signupPID); err != nil {
		t.Fatal(err)
	}
	var accountID int64
	if err := signup.NewRaw(`INSERT INTO portal_accounts (contact_id, scope) VALUES (?, ?) RETURNING id`,
		c.ID, hc.AccountScope()).Scan(ctx, &accountID); err != nil {
		t.Fatal(err)
	}
	if _, err := signup.ExecContext(ctx, `INSERT INTO portal_access (account_id, help_center_id, status) VALUES (?, ?, 'pending_approval')`,
		accountID, hc.ID); err != nil {
		t.Fatal(err)
	}

	id := uuid.NewString()
	type result struct {
		rec store.Recorded
		err error
	}
	done := make(chan result, 1)
	go func() {
		inv := &store.Invitation{ID: id, HelpCenterID: hc.ID, ContactID: c.ID, WorkflowID: "invitation:" + id,
			TokenGeneration: 1, TokenHash: []byte(uuid.NewString())}
		expires := time.Now().Add(time.Hour)
		inv.ExpiresAt = &expires
		rec, err := db.CreateInvitation(ctx, inv)
		done <- result{rec, err}
	}()
	waitForALockWaitOn(t, signupPID)
	if err := signup.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !r.rec.Blocked || r.rec.Linked {
		t.Errorf("recorded %+v, want blocked and no link", r.rec)
	}
	if got := invitation(t, id).Status; got != portal.InvitationRevoked {
		t.Errorf("invitation %s, want revoked", got)
	}
	if a := accessOf(t, hc, c); a != portal.AccessPendingApproval {
		t.Errorf("access %s, want pending_approval", a)
	}
}

// waitForALockWaitOn returns once a statement waits for a lock that the
// backend pid holds, or fails the test after 10 s.
func waitForALockWaitOn(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if count(t, `SELECT count(*) FROM pg_stat_activity WHERE ? = ANY (pg_blocking_pids(pid))`, pid) > 0 {
			return
		}
	}
	t.Fatal("no statement waited for a lock")
}
