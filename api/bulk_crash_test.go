package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/portalaccess/portal/starter"
	"github.com/portalaccess/portal/workflows"
)

// seedContacts inserts n contacts in one statement, all with tag in
// their names; label keeps each batch's emails apart.
func seedContacts(t *testing.T, tag, label string, n int, withEmail, verified bool) []int64 {
	t.Helper()
	var ids []int64
	err := app.Service.Store.DB.NewRaw(`INSERT INTO contacts (email, name, verified)
		SELECT CASE WHEN ? THEN ? || '-' || ? || '-' || g || '@example.com' END, 'Bulk ' || ? || ' ' || g, ?
		FROM generate_series(1, ?) AS g RETURNING id`,
		withEmail, tag, label, tag, verified, n).Scan(context.Background(), &ids)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func bulkGet(t *testing.T, base, key, id string) map[string]any {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "GET", base+"/api/v1/bulk-invitations/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := checkedClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return v
}

func num(v any) int { f, _ := v.(float64); return int(f) }

// TestBulkInviteSurvivesWorkerCrash invites 1,000 contacts (some without
// email, some unverified, some already active) while the worker process
// is killed and started again. Afterwards every eligible contact has
// exactly one pending invitation and one invite email, the counts add up,
// and no run of the bulk workflow grew with the size of the job.
func TestBulkInviteSurvivesWorkerCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("long integration test")
	}
	ctx := context.Background()
	p2, w := splitPortal(t, nil)
	w.start()
	defer func() { w.kill() }()

	slug := newHelpCenter(t, "unique")
	tag := unique("crash")
	eligible := seedContacts(t, tag, "e", 900, true, true)
	seedContacts(t, tag, "n", 40, false, true)
	seedContacts(t, tag, "u", 40, true, false)
	active := seedContacts(t, tag, "a", 20, true, true)
	hc, _ := app.Service.Store.HelpCenterBySlug(ctx, slug)
	for _, id := range active {
		var acct int64
		if err := app.Service.Store.DB.NewRaw(`INSERT INTO portal_accounts (contact_id, scope) VALUES (?, ?) RETURNING id`, id, hc.AccountScope()).Scan(ctx, &acct); err != nil {
			t.Fatal(err)
		}
		if _, err := app.Service.Store.DB.NewRaw(`INSERT INTO portal_access (account_id, help_center_id, status) VALUES (?, ?, 'active')`, acct, hc.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}

	post := func() map[string]any {
		body, _ := json.Marshal(map[string]any{"filter": map[string]any{"q": tag}})
		req, _ := http.NewRequestWithContext(context.Background(), "POST", p2.URL+"/api/v1/help-centers/"+slug+"/invitations/bulk", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+p2.AdminKey)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "crash-"+tag)
		resp, err := checkedClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 202 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("bulk invite: %d %s", resp.StatusCode, b)
		}
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return v
	}
	job := post()
	id := job["id"].(string)
	if num(job["total"]) != 1000 {
		t.Fatalf("total %v, want 1000", job["total"])
	}
	if again := post(); again["id"] != id {
		t.Fatalf("same Idempotency-Key made a second job: %v", again["id"])
	}

	// Kill the worker part-way through, then bring it back.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j := bulkGet(t, p2.URL, p2.AdminKey, id)
		if num(j["processed"]) >= 200 {
			if num(j["processed"]) == 1000 {
				t.Logf("job finished before the kill; the crash happened after it")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job made no progress: %v", j)
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.kill()
	killedAt := bulkGet(t, p2.URL, p2.AdminKey, id)
	t.Logf("worker killed at %d of 1000 processed", num(killedAt["processed"]))
	time.Sleep(time.Second)
	w.start()

	var final map[string]any
	for {
		final = bulkGet(t, p2.URL, p2.AdminKey, id)
		if final["status"] == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not completed: %v", final)
		}
		time.Sleep(100 * time.Millisecond)
	}
	skipped := final["skipped"].(map[string]any)
	if num(final["invited"])+num(final["already_invited"]) != 900 || num(final["failed"]) != 0 ||
		num(skipped["no_email"]) != 40 || num(skipped["unverified"]) != 40 || num(skipped["already_active"]) != 20 ||
		num(final["processed"]) != 1000 || final["finished_at"] == nil {
		t.Fatalf("final counts %v", final)
	}

	// Every eligible contact: one pending invitation, one invite email.
	db := app.Service.Store.DB
	for {
		var pending, sent int
		_ = db.NewRaw(`SELECT count(*) FROM invitations WHERE help_center_id = ? AND status = 'pending'`, hc.ID).Scan(ctx, &pending)
		_ = db.NewRaw(`SELECT count(*) FROM email_log e JOIN invitations i ON i.id = e.invitation_id
			WHERE i.help_center_id = ? AND e.kind = 'invite' AND e.status = 'sent'`, hc.ID).Scan(ctx, &sent)
		if pending == 900 && sent == 900 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d pending invitations and %d invite emails, want 900 each", pending, sent)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var badInvites, badEmails, badOutbox int
	_ = db.NewRaw(`SELECT count(*) FROM (SELECT contact_id FROM invitations WHERE help_center_id = ? GROUP BY contact_id HAVING count(*) <> 1) x`, hc.ID).Scan(ctx, &badInvites)
	_ = db.NewRaw(`SELECT count(*) FROM (SELECT recipient FROM email_log e JOIN invitations i ON i.id = e.invitation_id
		WHERE i.help_center_id = ? AND e.kind = 'invite' GROUP BY recipient HAVING count(*) <> 1) x`, hc.ID).Scan(ctx, &badEmails)
	_ = db.NewRaw(`SELECT count(*) FROM (SELECT recipient FROM outbox_messages WHERE recipient LIKE ? AND kind = 'invite'
		GROUP BY recipient HAVING count(*) <> 1) x`, tag+"-%").Scan(ctx, &badOutbox)
	if badInvites != 0 || badEmails != 0 || badOutbox != 0 {
		t.Fatalf("contacts with other than one invitation: %d, one invite log: %d, one outbox email: %d", badInvites, badEmails, badOutbox)
	}
	var invitedIDs []int64
	_ = db.NewRaw(`SELECT contact_id FROM invitations WHERE help_center_id = ? ORDER BY contact_id`, hc.ID).Scan(ctx, &invitedIDs)
	if len(invitedIDs) != len(eligible) || invitedIDs[0] != eligible[0] || invitedIDs[len(invitedIDs)-1] != eligible[len(eligible)-1] {
		t.Fatalf("the invited contacts are not the eligible ones")
	}

	// The results file: one row per contact, skipped ones with reasons.
	req, _ := http.NewRequestWithContext(context.Background(), "GET", p2.URL+"/api/v1/bulk-invitations/"+id+"/results.csv", nil)
	req.Header.Set("Authorization", "Bearer "+p2.AdminKey)
	resp, err := checkedClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(rows) != 1001 || strings.Join(rows[0], ",") != "contact_id,email,name,outcome,detail" {
		t.Fatalf("results.csv: %d rows, %v", len(rows), err)
	}
	byOutcome := map[string]int{}
	for _, r := range rows[1:] {
		byOutcome[r[3]]++
	}
	if byOutcome["no_email"] != 40 || byOutcome["unverified"] != 40 || byOutcome["already_active"] != 20 || byOutcome["invited"]+byOutcome["already_invited"] != 900 {
		t.Fatalf("results by outcome %v", byOutcome)
	}

	// No run of the bulk workflow grew with the job: it continued as new.
	tc := app.Service.Temporal
	runs, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: "WorkflowId = '" + workflows.BulkWorkflowID(id) + "'"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs.Executions) < 2 {
		t.Fatalf("%d runs; a 900-invitation job should continue as new", len(runs.Executions))
	}
	// Per invitation started: two child events and at most one workflow
	// task (three events); the rest is pages. The bound depends on the
	// run size, never on the job's.
	bound := int64(5*starter.DefaultBulkSettings.ChildrenPerRun + 300)
	for _, r := range runs.Executions {
		if r.HistoryLength > bound {
			t.Errorf("run %s has %d events, more than %d", r.Execution.RunId, r.HistoryLength, bound)
		}
	}
	// Operators find the job's invitations by its search attribute.
	for {
		n, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: "BulkJob = '" + id + "' AND WorkflowType = 'Invitation'"})
		if err == nil && n.Count == 900 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("BulkJob search attribute finds %v invitations (%v), want 900", n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
