package store_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/testenv"
)

// findingsIn runs the check on st and keeps the findings of one help
// center: other tests share the database.
func findingsIn(t *testing.T, st *store.Store, hc *store.HelpCenter, grace time.Duration) []store.Finding {
	t.Helper()
	var out []store.Finding
	err := st.CheckConsistency(context.Background(), grace, func(f store.Finding) error {
		if f.HelpCenterID == hc.ID {
			out = append(out, f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sendEmail logs an email of an invitation under key, ending in status.
func sendEmail(t *testing.T, inv *store.Invitation, key, status string) {
	t.Helper()
	ctx := context.Background()
	id := inv.ID
	if _, _, err := db.ClaimEmail(ctx, &store.EmailLog{IdempotencyKey: key, Kind: portal.EmailInvite, Recipient: "c@example.com", InvitationID: &id}); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishEmail(ctx, key, status, "provider-id", "", true); err != nil {
		t.Fatal(err)
	}
}

func inviteKey(inv *store.Invitation, gen string) string {
	return "invitation/" + inv.ID + "/invite/" + gen
}

// accept accepts inv with a staged password, as the accept page does.
func accept(t *testing.T, inv *store.Invitation) {
	t.Helper()
	ctx := context.Background()
	stage := uuid.NewString()
	if err := db.StageCredential(ctx, stage, inv.ID, "argon2id-hash"); err != nil {
		t.Fatal(err)
	}
	if err := db.AcceptInvitation(ctx, inv.ID, stage); err != nil {
		t.Fatal(err)
	}
}

func exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := db.DB.NewRaw(query, args...).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// wantOne fails unless exactly one finding of kind names id.
func wantOne(t *testing.T, found []store.Finding, kind, id string) {
	t.Helper()
	n := 0
	for _, f := range found {
		if f.Kind == kind && slices.Contains(f.IDs, id) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d findings %s naming %s, want 1; found %+v", n, kind, id, found)
	}
}

// Every state the product leaves on purpose passes: a pending invitation
// emailed with its reminders and a new link, one accepted, one accepted and
// then deactivated, an active sign-up, and bulk jobs mid-way and done.
func TestConsistencyCheckFindsNothingInAConsistentHelpCenter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc := newHelpCenter(t, "consistent")

	pending := invite(t, hc, newContact(t, "consistent"))
	sendEmail(t, pending, inviteKey(pending, "1"), store.EmailSent)
	sendEmail(t, pending, inviteKey(pending, "1")+"/reminder/1", store.EmailSent)
	sendEmail(t, pending, inviteKey(pending, "2"), store.EmailUnconfirmed)

	accepted := invite(t, hc, newContact(t, "consistent"))
	sendEmail(t, accepted, inviteKey(accepted, "1"), store.EmailSent)
	accept(t, accepted)

	deactivated := invite(t, hc, newContact(t, "consistent"))
	sendEmail(t, deactivated, inviteKey(deactivated, "1"), store.EmailSent)
	accept(t, deactivated)
	account, err := db.AccountID(ctx, deactivated.ContactID, hc.AccountScope())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetAccess(ctx, hc.ID, account, portal.ActionDeactivate, "deactivate-1"); err != nil {
		t.Fatal(err)
	}

	signedUp := newContact(t, "consistent")
	exec(t, `INSERT INTO signups (id, help_center_id, contact_id, status, workflow_id) VALUES (?, ?, ?, 'active', 'signup')`, uuid.NewString(), hc.ID, signedUp.ID)
	exec(t, `WITH a AS (INSERT INTO portal_accounts (contact_id, scope, password_hash) VALUES (?, ?, 'hash') RETURNING id)
		INSERT INTO portal_access (account_id, help_center_id, status, accepted_at) SELECT id, ?, 'active', now() FROM a`, signedUp.ID, hc.AccountScope(), hc.ID)

	running := newBulkJob(t, hc, []int64{1, 2, 3})
	if err := db.RecordBulkOutcomes(ctx, running.ID, []store.BulkOutcome{{ContactID: 1, Outcome: portal.OutcomeInvited}}); err != nil {
		t.Fatal(err)
	}
	done := newBulkJob(t, hc, []int64{1, 2})
	if err := db.RecordBulkOutcomes(ctx, done.ID, []store.BulkOutcome{{ContactID: 1, Outcome: portal.OutcomeInvited}, {ContactID: 2, Outcome: portal.ReasonNoEmail}}); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordBulkChildFailure(ctx, done.ID, 1, "undeliverable"); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishBulkJob(ctx, done.ID, portal.BulkCompleted); err != nil {
		t.Fatal(err)
	}

	// A filter's total is counted at the start; a contact deleted during
	// the job leaves it one result short, legitimately.
	filtered := newBulkJob(t, hc, []int64{1, 2})
	if err := db.RecordBulkOutcomes(ctx, filtered.ID, []store.BulkOutcome{{ContactID: 1, Outcome: portal.OutcomeInvited}}); err != nil {
		t.Fatal(err)
	}
	exec(t, `UPDATE bulk_jobs SET selection = 'filter' WHERE id = ?`, filtered.ID)
	if err := db.FinishBulkJob(ctx, filtered.ID, portal.BulkCompleted); err != nil {
		t.Fatal(err)
	}

	if found := findingsIn(t, db, hc, 0); len(found) != 0 {
		t.Fatalf("a consistent help center has findings: %+v", found)
	}
}

// Each inconsistency a crash or a bug could leave is found and names the
// records involved.
func TestConsistencyCheckFindsEachInconsistency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc := newHelpCenter(t, "inconsistent")

	twice := invite(t, hc, newContact(t, "inconsistent"))
	sendEmail(t, twice, inviteKey(twice, "1"), store.EmailSent)
	// The same generation under a second key: not how the product keys
	// it, so only a bug sends it.
	sendEmail(t, twice, inviteKey(twice, "01"), store.EmailUnconfirmed)

	silent := invite(t, hc, newContact(t, "inconsistent"))
	sendEmail(t, silent, inviteKey(silent, "1"), store.EmailFailed)
	exec(t, `UPDATE invitations SET created_at = now() - interval '2 hours' WHERE id = ?`, silent.ID)
	justStarted := invite(t, hc, newContact(t, "inconsistent"))

	lost := invite(t, hc, newContact(t, "inconsistent"))
	exec(t, `UPDATE invitations SET status = 'accepted', accepted_at = now(), closed_at = now() WHERE id = ?`, lost.ID)

	stray := newContact(t, "inconsistent")
	var strayAccount int64
	if err := db.DB.NewRaw(`INSERT INTO portal_accounts (contact_id, scope, password_hash) VALUES (?, ?, 'hash') RETURNING id`,
		stray.ID, hc.AccountScope()).Scan(ctx, &strayAccount); err != nil {
		t.Fatal(err)
	}
	exec(t, `INSERT INTO portal_access (account_id, help_center_id, status) VALUES (?, ?, 'active')`, strayAccount, hc.ID)

	miscounted := newBulkJob(t, hc, []int64{1, 2})
	if err := db.RecordBulkOutcomes(ctx, miscounted.ID, []store.BulkOutcome{{ContactID: 1, Outcome: portal.OutcomeInvited}}); err != nil {
		t.Fatal(err)
	}
	exec(t, `UPDATE bulk_jobs SET invited = invited + 1 WHERE id = ?`, miscounted.ID)
	short := newBulkJob(t, hc, []int64{1, 2})
	if err := db.RecordBulkOutcomes(ctx, short.ID, []store.BulkOutcome{{ContactID: 1, Outcome: portal.OutcomeInvited}}); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishBulkJob(ctx, short.ID, portal.BulkCompleted); err != nil {
		t.Fatal(err)
	}

	found := findingsIn(t, db, hc, time.Hour)
	wantOne(t, found, store.FindingDuplicateInvite, twice.ID)
	wantOne(t, found, store.FindingNoInviteEmail, silent.ID)
	wantOne(t, found, store.FindingLostAccept, lost.ID)
	wantOne(t, found, store.FindingAccessWithoutOrigin, "account:"+strconv.FormatInt(strayAccount, 10))
	wantOne(t, found, store.FindingBulkCounts, miscounted.ID)
	wantOne(t, found, store.FindingBulkCounts, short.ID)
	for _, f := range found {
		if slices.Contains(f.IDs, justStarted.ID) {
			t.Fatalf("an invitation within the grace period is reported: %+v", f)
		}
	}
	if len(found) != 6 {
		t.Fatalf("%d findings, want 6: %+v", len(found), found)
	}
}

// Two pending invitations for one contact are refused by a unique index;
// on a database without it (restored from an old dump, say) the check
// still finds them.
func TestConsistencyCheckFindsTwoPendingInvitations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, drop, err := testenv.Database(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	st := store.Open(url)
	defer func() { _ = st.Close() }()
	if _, err := st.DB.ExecContext(ctx, `DROP INDEX invitations_one_pending`); err != nil {
		t.Fatal(err)
	}
	hc := &store.HelpCenter{Slug: unique("twopending"), Name: "Acme", UserBase: portal.UserBaseUnique, InvitePolicy: portal.DefaultInvitePolicy()}
	if err := st.CreateHelpCenter(ctx, hc); err != nil {
		t.Fatal(err)
	}
	email := unique("twopending") + "@example.com"
	c := &store.Contact{Email: &email, Name: "Ada", Verified: true}
	if err := st.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	first, second := uuid.NewString(), uuid.NewString()
	for _, id := range []string{first, second} {
		if _, err := st.DB.NewRaw(`INSERT INTO invitations (id, help_center_id, contact_id, status, workflow_id) VALUES (?, ?, ?, 'pending', 'raw')`,
			id, hc.ID, c.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	found := findingsIn(t, st, hc, time.Hour)
	wantOne(t, found, store.FindingTwoPending, first)
	wantOne(t, found, store.FindingTwoPending, second)
}

// A second invitation accepted on top of the first one's access: the
// store applies it (eligibility is the caller's), leaving the contact
// accepted twice, which the check reports naming both invitations; a
// contact accepted once, then deactivated and reactivated, is not.
func TestConsistencyCheckFindsAnAcceptAppliedTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc := newHelpCenter(t, "twice")
	c := newContact(t, "twice")
	first := invite(t, hc, c)
	sendEmail(t, first, inviteKey(first, "1"), store.EmailSent)
	accept(t, first)
	second := invite(t, hc, c)
	sendEmail(t, second, inviteKey(second, "1"), store.EmailSent)
	accept(t, second)
	if n := count(t, `SELECT count(*) FROM invitations WHERE contact_id = ? AND status = 'accepted'`, c.ID); n != 2 {
		t.Fatalf("%d accepted invitations planted, want 2", n)
	}

	once := newContact(t, "twice")
	inv := invite(t, hc, once)
	sendEmail(t, inv, inviteKey(inv, "1"), store.EmailSent)
	accept(t, inv)
	account, err := db.AccountID(ctx, once.ID, hc.AccountScope())
	if err != nil {
		t.Fatal(err)
	}
	for i, action := range []portal.AccessAction{portal.ActionDeactivate, portal.ActionReactivate} {
		if _, err := db.SetAccess(ctx, hc.ID, account, action, "change-"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}

	found := findingsIn(t, db, hc, time.Hour)
	wantOne(t, found, store.FindingAcceptTwice, first.ID)
	wantOne(t, found, store.FindingAcceptTwice, second.ID)
	if len(found) != 1 {
		t.Fatalf("%d findings, want only the accept applied twice: %+v", len(found), found)
	}
}

// The check reads tables a page at a time by key: findings spread over
// several pages are each reported once, none skipped or repeated.
func TestConsistencyCheckPagesThroughLargeTables(t *testing.T) {
	t.Parallel()
	const n = 1203 // more than two pages
	hc := newHelpCenter(t, "pages")
	exec(t, `WITH c AS (INSERT INTO contacts (name) SELECT 'Ada' FROM generate_series(1, ?) RETURNING id)
		INSERT INTO invitations (id, help_center_id, contact_id, status, workflow_id, created_at)
		SELECT gen_random_uuid(), ?, c.id, 'pending', 'raw', now() - interval '2 hours' FROM c`, n, hc.ID)
	exec(t, `INSERT INTO bulk_jobs (id, help_center_id, selection, status, invited, workflow_id, started_at)
		SELECT gen_random_uuid(), ?, 'ids', 'running', 1, 'raw', now() FROM generate_series(1, ?)`, hc.ID, n)

	seen := map[string]map[string]int{}
	for _, f := range findingsIn(t, db, hc, time.Hour) {
		if seen[f.Kind] == nil {
			seen[f.Kind] = map[string]int{}
		}
		seen[f.Kind][f.IDs[0]]++
	}
	for _, kind := range []string{store.FindingNoInviteEmail, store.FindingBulkCounts} {
		if len(seen[kind]) != n {
			t.Fatalf("%d distinct %s findings, want %d", len(seen[kind]), kind, n)
		}
		for id, times := range seen[kind] {
			if times != 1 {
				t.Fatalf("%s %s reported %d times", kind, id, times)
			}
		}
	}
	if len(seen) != 2 {
		t.Fatalf("findings of kinds %v, want only the two seeded", seen)
	}
}
