package activities_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/testsuite"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
	"github.com/portalaccess/portal/store"
)

// selection makes one contact per case and returns their IDs by case.
func selection(t *testing.T, hc *store.HelpCenter) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	out := map[string]int64{}
	mk := func(name string, withEmail, verified bool, access portal.AccessStatus) {
		c := &store.Contact{Name: name, Verified: verified}
		if withEmail {
			e := fmt.Sprintf("%s-%s@example.com", name, hc.Slug)
			c.Email = &e
		}
		if err := db.CreateContact(ctx, c); err != nil {
			t.Fatal(err)
		}
		if access != "" {
			var acct int64
			if err := db.DB.NewRaw(`INSERT INTO portal_accounts (contact_id, scope) VALUES (?, ?) RETURNING id`, c.ID, hc.AccountScope()).Scan(ctx, &acct); err != nil {
				t.Fatal(err)
			}
			if _, err := db.DB.NewRaw(`INSERT INTO portal_access (account_id, help_center_id, status) VALUES (?, ?, ?)`, acct, hc.ID, access).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		out[name] = c.ID
	}
	mk("eligible", true, true, "")
	mk("noemail", false, true, "")
	mk("unverified", true, false, "")
	mk("active", true, true, portal.AccessActive)
	mk("deactivated", true, true, portal.AccessDeactivated)
	mk("pending", true, true, "")
	inv := &store.Invitation{ID: uuid.NewString(), HelpCenterID: hc.ID, ContactID: out["pending"], WorkflowID: "wf"}
	if _, err := db.CreateInvitation(ctx, inv); err != nil {
		t.Fatal(err)
	}
	return out
}

func bulkFixture(t *testing.T, dryRun bool) (*activities.Activities, *testsuite.TestActivityEnvironment, *store.BulkJob, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	hc := &store.HelpCenter{Slug: fmt.Sprintf("bulk-%d", time.Now().UnixNano()%1e9), Name: "Bulk", UserBase: "unique", InvitePolicy: portal.DefaultInvitePolicy()}
	if err := db.CreateHelpCenter(ctx, hc); err != nil {
		t.Fatal(err)
	}
	cs := selection(t, hc)
	idList := []int64{999999999} // no such contact
	for _, id := range cs {
		idList = append(idList, id)
	}
	job := &store.BulkJob{ID: uuid.NewString(), HelpCenterID: hc.ID, Selection: portal.SelectIDs, DryRun: dryRun, WorkflowID: "bulk"}
	if err := db.CreateBulkJob(ctx, job, idList); err != nil {
		t.Fatal(err)
	}
	a := &activities.Activities{Store: db}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return a, env, job, cs
}

func outcomes(t *testing.T, jobID string) map[int64]portal.Outcome {
	t.Helper()
	out := map[int64]portal.Outcome{}
	if err := db.EachBulkResult(context.Background(), jobID, func(r store.BulkResult) error {
		out[r.ContactID] = r.Outcome
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBulkPageRecordsEverySkipReason(t *testing.T) {
	a, env, job, cs := bulkFixture(t, false)
	// Pages of 3: keyset pagination must visit every contact exactly once.
	var eligible []int64
	after, pages := int64(0), 0
	for {
		v, err := env.ExecuteActivity(a.BulkPage, activities.BulkPageInput{JobID: job.ID, After: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		var page activities.BulkPageResult
		if err := v.Get(&page); err != nil {
			t.Fatal(err)
		}
		pages++
		eligible = append(eligible, page.Eligible...)
		after = page.Next
		if page.Done {
			break
		}
	}
	if pages != 3 {
		t.Fatalf("%d pages for 7 contacts in pages of 3", pages)
	}
	// The pending contact is eligible here: the bulk workflow learns it is
	// already invited when its invitation workflow is found running.
	if len(eligible) != 2 {
		t.Fatalf("eligible %v", eligible)
	}
	got := outcomes(t, job.ID)
	want := map[int64]portal.Outcome{cs["noemail"]: "no_email", cs["unverified"]: "unverified", cs["active"]: "already_active",
		cs["deactivated"]: "deactivated", 999999999: "not_found"}
	for id, o := range want {
		if got[id] != o {
			t.Errorf("contact %d: %q, want %q", id, got[id], o)
		}
	}
	j, _ := db.BulkJobByID(context.Background(), job.ID)
	if j.Total != 7 || j.SkippedNoEmail != 1 || j.SkippedUnverified != 1 || j.SkippedAlreadyActive != 1 || j.SkippedDeactivated != 1 || j.SkippedNotFound != 1 {
		t.Fatalf("counts %+v", j)
	}
}

func TestBulkDryRunRecordsWhatWouldHappen(t *testing.T) {
	a, env, job, cs := bulkFixture(t, true)
	v, err := env.ExecuteActivity(a.BulkPage, activities.BulkPageInput{JobID: job.ID, After: 0, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var page activities.BulkPageResult
	_ = v.Get(&page)
	if len(page.Eligible) != 0 || !page.Done {
		t.Fatalf("a dry run handed back contacts to invite: %+v", page)
	}
	got := outcomes(t, job.ID)
	if got[cs["eligible"]] != "invited" || got[cs["pending"]] != "already_invited" || got[cs["noemail"]] != "no_email" {
		t.Fatalf("dry run outcomes %v", got)
	}
	var invitations int
	_ = db.DB.NewRaw(`SELECT count(*) FROM invitations WHERE contact_id = ?`, cs["eligible"]).Scan(context.Background(), &invitations)
	if invitations != 0 {
		t.Fatal("a dry run invited someone")
	}
}

func TestRecordingOutcomesTwiceCountsOnce(t *testing.T) {
	a, env, job, cs := bulkFixture(t, false)
	in := activities.BulkOutcomesInput{JobID: job.ID, Outcomes: []activities.BulkOutcome{
		{ContactID: cs["eligible"], Outcome: portal.OutcomeInvited},
		{ContactID: cs["pending"], Outcome: portal.OutcomeAlreadyInvited},
	}}
	for i := 0; i < 2; i++ {
		if _, err := env.ExecuteActivity(a.RecordBulkOutcomes, in); err != nil {
			t.Fatal(err)
		}
	}
	j, _ := db.BulkJobByID(context.Background(), job.ID)
	if j.Invited != 1 || j.AlreadyInvited != 1 {
		t.Fatalf("counts after a retried record: %+v", j)
	}
}
