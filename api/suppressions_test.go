package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mailgun/mailgun-go/v4"

	"github.com/portalaccess/portal/testenv"
	"github.com/portalaccess/portal/workflows"
)

// bulkFinished waits until a bulk job is no longer running and returns it.
func bulkFinished(t *testing.T, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j := admin(t, "GET", "/api/v1/bulk-invitations/"+id, nil, 200)
		if j["status"] != "running" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("bulk job %v after 30s", j)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// skipped reads one skip reason's count of a bulk job.
func skipped(j map[string]any, reason string) int {
	return num(j["skipped"].(map[string]any)[reason])
}

// suppressionsOf lists the suppressions in force for an address.
func suppressionsOf(t *testing.T, email string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, it := range admin(t, "GET", "/api/v1/suppressions?email="+url.QueryEscape(email), nil, 200)["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// bounce posts a signed permanent failure of the address's first email
// and waits for its invitation to close.
func bounce(t *testing.T, slug string, contact int64, email string) {
	t.Helper()
	waitForMail(t, email, "invite", 1)
	m := outboxEntries(t, email)[0]
	hook := mailgunEvent(testenv.WebhookSigningKey, time.Now(), unique("tok"), m, "failed", "permanent")
	if r := call(t, "POST", "/webhooks/mailgun", "", hook); r.Status != 200 || r.json(t)["status"] != "recorded" {
		t.Fatalf("permanent failure webhook: %d %s", r.Status, r.Body)
	}
	waitClosed(t, workflows.InvitationWorkflowID(slug, contact))
}

func TestABouncedAddressIsSuppressedForInvitesAndBulkJobsUntilAnAdminLiftsIt(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("suppressed") + "@example.com"
	contact := newContact(t, email, true)
	first := inviteContact(t, slug, contact)["id"].(string)
	bounce(t, slug, contact, email)

	sups := suppressionsOf(t, email)
	if len(sups) != 1 || sups[0]["reason"] != "bounced" || sups[0]["source"] != "webhook" || sups[0]["lifted_at"] != nil {
		t.Fatalf("suppressions of the bounced address: %v", sups)
	}
	supID := int64(num(sups[0]["id"]))

	// A single invite is refused, naming the suppression.
	path := "/api/v1/help-centers/" + slug + "/invitations"
	if r := call(t, "POST", path, app.AdminKey, map[string]any{"contact_id": contact}); r.Status != 409 || r.errorCode(t) != "contact_suppressed" {
		t.Fatalf("invite of a suppressed address: %d %s", r.Status, r.Body)
	}
	// So is the override of a decline: a suppression has none.
	if r := call(t, "POST", path, app.AdminKey, map[string]any{"contact_id": contact, "override_decline": true}); r.Status != 409 || r.errorCode(t) != "contact_suppressed" {
		t.Fatalf("invite with override_decline of a suppressed address: %d %s", r.Status, r.Body)
	}

	// A bulk job skips it with the reason, and invites the others.
	otherEmail := unique("not-suppressed") + "@example.com"
	other := newContact(t, otherEmail, true)
	job := bulkFinished(t, admin(t, "POST", path+"/bulk", map[string]any{"contact_ids": []int64{contact, other}}, 202)["id"].(string))
	if job["status"] != "completed" || skipped(job, "suppressed") != 1 || num(job["invited"]) != 1 || num(job["processed"]) != 2 {
		t.Fatalf("bulk job over a suppressed address: %v", job)
	}
	csv := string(call(t, "GET", "/api/v1/bulk-invitations/"+job["id"].(string)+"/results.csv", app.AdminKey, nil).Body)
	if !strings.Contains(csv, fmt.Sprintf("%d,%s,Ada Lovelace,suppressed,", contact, email)) {
		t.Fatalf("results CSV does not skip the address as suppressed:\n%s", csv)
	}
	waitForMail(t, otherEmail, "invite", 1)

	// A re-invite of undeliverable invitations skips it while it is
	// still suppressed.
	resend := path + "/bulk-resend"
	job = bulkFinished(t, admin(t, "POST", resend, map[string]any{"status": "undeliverable"}, 202)["id"].(string))
	if job["selection"] != "invitations" || num(job["total"]) != 1 || skipped(job, "suppressed") != 1 || num(job["invited"]) != 0 {
		t.Fatalf("re-invite of a still suppressed address: %v", job)
	}

	// An admin lifts it: the audit trail records it, a second lift finds
	// nothing in force.
	lifted := admin(t, "DELETE", fmt.Sprintf("/api/v1/suppressions/%d", supID), nil, 200)
	if lifted["lifted_at"] == nil || lifted["lifted_by"] == nil {
		t.Fatalf("lifted suppression %v", lifted)
	}
	if evs := auditEvents(t, fmt.Sprintf("action=suppression.lifted&target=suppression:%d", supID)); len(evs) != 1 {
		t.Fatalf("audit events of the lift: %v", evs)
	}
	if r := call(t, "DELETE", fmt.Sprintf("/api/v1/suppressions/%d", supID), app.AdminKey, nil); r.Status != 404 || r.errorCode(t) != "suppression_not_found" {
		t.Fatalf("second lift: %d %s", r.Status, r.Body)
	}
	if got := suppressionsOf(t, email); len(got) != 0 {
		t.Fatalf("suppressions in force after the lift: %v", got)
	}
	if got := len(outbox(t, email)); got != 1 {
		t.Fatalf("%d emails to the address while it was suppressed, want the first invite alone", got)
	}

	// Now the re-invite of undeliverable invitations sends it a fresh link.
	job = bulkFinished(t, admin(t, "POST", resend, map[string]any{"status": "undeliverable"}, 202)["id"].(string))
	if num(job["invited"]) != 1 || skipped(job, "suppressed") != 0 {
		t.Fatalf("re-invite after the lift: %v", job)
	}
	mails := waitForMail(t, email, "invite", 2)
	if a, _ := linkIn(t, mails[0]); a == func() string { b, _ := linkIn(t, mails[1]); return b }() {
		t.Fatal("the re-invite carries the bounced invitation's link")
	}
	// A single invite answers the pending re-invitation, not a 409.
	again := admin(t, "POST", path, map[string]any{"contact_id": contact}, 202)
	if again["id"] == first || again["status"] != "pending" {
		t.Fatalf("invite after the lift: %v", again)
	}
}

func TestBulkResendOfExpiredInvitationsSendsEachAFreshLinkOnce(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	short := workflows.Policy{LinkLifetime: workflows.Duration(time.Second)}
	var emails []string
	for range 3 {
		email := unique("expired") + "@example.com"
		contact := newContact(t, email, true)
		wf := startInvitation(t, slug, contact, short)
		waitForMail(t, email, "invite", 1)
		waitClosed(t, wf)
		emails = append(emails, email)
	}
	// A pending invitation is not expired: the job leaves it alone.
	pendingEmail := unique("pending") + "@example.com"
	inviteContact(t, slug, newContact(t, pendingEmail, true))
	waitForMail(t, pendingEmail, "invite", 1)

	path := "/api/v1/help-centers/" + slug + "/invitations/bulk-resend"
	dry := bulkFinished(t, admin(t, "POST", path, map[string]any{"status": "expired", "dry_run": true}, 202)["id"].(string))
	if num(dry["total"]) != 3 || num(dry["invited"]) != 3 || dry["dry_run"] != true {
		t.Fatalf("dry run: %v", dry)
	}
	for _, e := range emails {
		if n := len(outbox(t, e)); n != 1 {
			t.Fatalf("a dry run sent %s %d emails", e, n)
		}
	}

	key := unique("reinvite-key")
	first := callWithKey(t, path, key, map[string]any{"status": "expired"})
	if repeat := callWithKey(t, path, key, map[string]any{"status": "expired"}); first["id"] != repeat["id"] {
		t.Fatalf("the same Idempotency-Key started two jobs: %v, %v", first["id"], repeat["id"])
	}
	job := bulkFinished(t, first["id"].(string))
	if job["status"] != "completed" || num(job["total"]) != 3 || num(job["invited"]) != 3 || num(job["failed"]) != 0 {
		t.Fatalf("re-invite of expired invitations: %v", job)
	}
	// Their latest invitations are pending now: another re-invite of
	// expired ones finds nobody.
	if again := bulkFinished(t, admin(t, "POST", path, map[string]any{"status": "expired"}, 202)["id"].(string)); num(again["total"]) != 0 || num(again["invited"]) != 0 {
		t.Fatalf("second re-invite of expired invitations: %v", again)
	}
	for _, e := range emails {
		mails := waitForMail(t, e, "invite", 2)
		newLink, _ := linkIn(t, mails[0])
		oldLink, _ := linkIn(t, mails[1])
		if newLink == oldLink {
			t.Fatalf("%s got the expired link again", e)
		}
	}
	time.Sleep(time.Second)
	for _, e := range emails {
		if n := len(outbox(t, e)); n != 2 {
			t.Fatalf("%s got %d emails, want the first and one fresh link", e, n)
		}
	}
	if n := len(outbox(t, pendingEmail)); n != 1 {
		t.Fatalf("the pending invitation got %d emails", n)
	}
	// One pending invitation per contact.
	pending := admin(t, "GET", "/api/v1/help-centers/"+slug+"/invitations?status=pending&limit=200", nil, 200)["items"].([]any)
	seen := map[float64]bool{}
	for _, it := range pending {
		c := it.(map[string]any)["contact_id"].(float64)
		if seen[c] {
			t.Fatalf("contact %v has two pending invitations", c)
		}
		seen[c] = true
	}
	if len(pending) != 4 {
		t.Fatalf("%d pending invitations, want 4", len(pending))
	}
	if evs := auditEvents(t, "action=bulk.started&target=bulk_job:"+first["id"].(string)); len(evs) != 1 || evs[0]["details"].(map[string]any)["status"] != "expired" {
		t.Fatalf("audit events of the re-invite: %v", evs)
	}
}

// callWithKey posts body to path with an Idempotency-Key and wants 202.
func callWithKey(t *testing.T, path, key string, body any) map[string]any {
	t.Helper()
	buf, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, app.URL+path, bytes.NewReader(buf))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+app.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := checkedClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Body: out}
	if r.Status != 202 {
		t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
	}
	return r.json(t)
}

func TestBulkResendOfOldPendingInvitationsGivesThemANewLink(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	oldEmail, newEmail := unique("old")+"@example.com", unique("new")+"@example.com"
	oldID := inviteContact(t, slug, newContact(t, oldEmail, true))["id"].(string)
	inviteContact(t, slug, newContact(t, newEmail, true))
	waitForMail(t, oldEmail, "invite", 1)
	waitForMail(t, newEmail, "invite", 1)
	waitSendCount(t, oldID, 1)
	// The first link went out three days ago.
	if _, err := app.Service.Store.DB.NewRaw(`UPDATE invitations SET last_sent_at = last_sent_at - interval '3 days',
		created_at = created_at - interval '3 days' WHERE id = ?`, oldID).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/help-centers/" + slug + "/invitations/bulk-resend"
	if r := call(t, "POST", path, app.AdminKey, map[string]any{"status": "pending"}); r.Status != 422 {
		t.Fatalf("pending without pending_days: %d %s", r.Status, r.Body)
	}
	if r := call(t, "POST", path, app.AdminKey, map[string]any{"status": "expired", "pending_days": 2}); r.Status != 422 {
		t.Fatalf("pending_days with expired: %d %s", r.Status, r.Body)
	}
	job := bulkFinished(t, admin(t, "POST", path, map[string]any{"status": "pending", "pending_days": 2}, 202)["id"].(string))
	if num(job["total"]) != 1 || num(job["invited"]) != 1 || job["reinvite"].(map[string]any)["pending_days"] != float64(2) {
		t.Fatalf("re-invite of old pending invitations: %v", job)
	}
	mails := waitForMail(t, oldEmail, "invite", 2)
	newLink, _ := linkIn(t, mails[0])
	oldLink, _ := linkIn(t, mails[1])
	if newLink == oldLink {
		t.Fatal("the pending invitation got its old link again")
	}
	// The same invitation, with its second link: still one pending.
	inv := waitSendCount(t, oldID, 2)
	if inv["status"] != "pending" {
		t.Fatalf("invitation after the re-invite: %v", inv)
	}
	time.Sleep(time.Second)
	if n := len(outbox(t, newEmail)); n != 1 {
		t.Fatalf("a recent pending invitation got %d emails", n)
	}
}

func TestImportSuppressionsReadsMailgunsBounceAndComplaintLists(t *testing.T) {
	// The outbox driver has no lists.
	if r := call(t, "POST", "/api/v1/suppressions/import", app.AdminKey, nil); r.Status != 409 || r.errorCode(t) != "import_unavailable" {
		t.Fatalf("import with the outbox driver: %d %s", r.Status, r.Body)
	}
	mg := testenv.NewMailgun()
	defer mg.Close()
	const domain = "mg.example.com"
	client := mailgun.NewMailgun(domain, "key-test")
	client.SetAPIBase(mg.URL())
	complainer, bouncer := unique("complainer")+"@example.com", unique("bouncer")+"@example.com"
	if err := client.CreateComplaint(t.Context(), complainer); err != nil {
		t.Fatal(err)
	}
	if err := client.AddBounce(t.Context(), bouncer, "550", "5.1.1 no such user"); err != nil {
		t.Fatal(err)
	}
	no := false
	p, err := testenv.StartPortal(t.Context(), databaseURL, temporalAddress, testenv.Options{Worker: &no, Env: map[string]string{
		"MAIL_DRIVER": "mailgun", "MAILGUN_DOMAIN": domain, "MAILGUN_API_KEY": "key-test", "MAILGUN_API_BASE": mg.URL(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	r := callOn(t, p.URL, p.AdminKey, "POST", "/api/v1/suppressions/import", nil)
	if r.Status != 200 {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	res := r.json(t)
	if num(res["added"]) < 2 {
		t.Fatalf("import result %v", res)
	}
	if s := suppressionsOf(t, complainer); len(s) != 1 || s[0]["reason"] != "complained" || s[0]["source"] != "import" {
		t.Fatalf("complainer's suppression: %v", s)
	}
	if s := suppressionsOf(t, bouncer); len(s) != 1 || s[0]["reason"] != "bounced" || !strings.Contains(s[0]["detail"].(string), "no such user") {
		t.Fatalf("bouncer's suppression: %v", s)
	}
	// A new contact with a suppressed address writes in: its auto-invite
	// is skipped with the reason, and nothing is sent.
	slug := newHelpCenter(t, "unique")
	admin(t, "PATCH", "/api/v1/help-centers/"+slug, map[string]any{"auto_invite": map[string]any{"enabled": true, "departments": "all"}}, 200)
	tk := admin(t, "POST", "/api/v1/tickets", map[string]any{"help_center": slug, "email": complainer, "subject": "Hello"}, 201)
	if tk["new_contact"] != true || tk["auto_invite"] != "skipped" || tk["auto_invite_reason"] != "suppressed" {
		t.Fatalf("ticket from a suppressed address: %v", tk)
	}
	if n := len(invitationsOf(t, slug)); n != 0 {
		t.Fatalf("%d invitations for a suppressed address", n)
	}

	// An admin's lift stands at the next import; nothing is added twice.
	bouncerID := num(suppressionsOf(t, bouncer)[0]["id"])
	admin(t, "DELETE", fmt.Sprintf("/api/v1/suppressions/%d", bouncerID), nil, 200)
	again := callOn(t, p.URL, p.AdminKey, "POST", "/api/v1/suppressions/import", nil).json(t)
	if num(again["added"]) != 0 || num(again["lifted"]) < 1 || num(again["listed"]) != num(res["listed"]) {
		t.Fatalf("second import %v (first %v)", again, res)
	}
	if s := suppressionsOf(t, bouncer); len(s) != 0 {
		t.Fatalf("the import undid the lift: %v", s)
	}
	if evs := auditEvents(t, "action=suppressions.imported"); len(evs) < 2 {
		t.Fatalf("audit events of the imports: %v", evs)
	}
}
