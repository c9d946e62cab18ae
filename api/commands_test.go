package api_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/portalaccess/portal/workflows"
)

// command posts an admin's command with an Idempotency-Key ("" for none).
func command(t *testing.T, path, key string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", app.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+app.AdminKey)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := checkedClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: out, Header: resp.Header}
}

func TestResendAnswersTheNewStateAndARetriedCallIsOneResend(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("again") + "@example.com"
	inv := inviteContact(t, slug, newContact(t, email, true))
	id := inv["id"].(string)
	waitForMail(t, email, "invite", 1)
	before := waitSendCount(t, id, 1)

	path := "/api/v1/invitations/" + id + "/resend"
	r := command(t, path, "resend-"+id)
	if r.Status != 200 {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	first := r.json(t)
	if first["id"] != id || first["status"] != "pending" || first["send_count"] != 2.0 {
		t.Fatalf("resend answered %v, want the pending invitation sent twice", first)
	}
	if !parseTime(t, first["expires_at"]).After(parseTime(t, before["expires_at"])) {
		t.Fatalf("answered deadline %v is not after %v", first["expires_at"], before["expires_at"])
	}
	// The admin's client retries the call (a lost answer): the same key
	// is the same update, answered as before, not a resend refused as too
	// soon and not a third email.
	again := command(t, path, "resend-"+id)
	if again.Status != 200 || again.json(t)["send_count"] != 2.0 || again.json(t)["expires_at"] != first["expires_at"] {
		t.Fatalf("retried resend: %d %s", again.Status, again.Body)
	}
	waitForMail(t, email, "invite", 2)
	time.Sleep(quietPeriod)
	if n := mailsOfKind(t, email, "invite"); n != 2 {
		t.Fatalf("%d invite emails after a resend and its retry, want 2", n)
	}
}

func TestCommandsOnAClosedInvitationAreRefusedWithWhatItBecame(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("closed") + "@example.com"
	inv := inviteContact(t, slug, newContact(t, email, true))
	id := inv["id"].(string)
	waitForMail(t, email, "invite", 1)
	waitSendCount(t, id, 1)

	r := command(t, "/api/v1/invitations/"+id+"/revoke", "")
	if r.Status != 200 || r.json(t)["status"] != "revoked" {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	// The answer is the record's state: no waiting for the close.
	if got := admin(t, "GET", "/api/v1/invitations/"+id, nil, 200); got["status"] != "revoked" {
		t.Fatalf("after the revoke answered, the invitation is %v", got["status"])
	}
	if r := command(t, "/api/v1/invitations/"+id+"/revoke", ""); r.Status != 409 || r.errorCode(t) != "revoked" {
		t.Fatalf("second revoke: %d %s", r.Status, r.Body)
	}

	other := unique("accepted") + "@example.com"
	accepted := inviteContact(t, slug, newContact(t, other, true))["id"].(string)
	acceptWith(t, other, slug, "correct-horse-1")
	waitInvitationStatus(t, accepted, "accepted")
	for _, cmd := range []string{"resend", "revoke"} {
		if r := command(t, "/api/v1/invitations/"+accepted+"/"+cmd, ""); r.Status != 409 || r.errorCode(t) != "already_accepted" {
			t.Fatalf("%s of an accepted invitation: %d %s", cmd, r.Status, r.Body)
		}
	}
	if r := command(t, "/api/v1/invitations/00000000-0000-0000-0000-000000000000/revoke", ""); r.Status != 404 {
		t.Fatalf("revoke of an unknown invitation: %d %s", r.Status, r.Body)
	}
}

// An invitation's ID is the first run ID of its workflow, and commands
// are addressed to that run chain: one naming an old invitation never
// reaches the invitation that now holds the workflow ID.
func TestCommandForAnOldInvitationNeverReachesTheNewOne(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("reuse") + "@example.com"
	contact := newContact(t, email, true)
	old := inviteContact(t, slug, contact)["id"].(string)
	waitForMail(t, email, "invite", 1)
	waitSendCount(t, old, 1)
	admin(t, "POST", "/api/v1/invitations/"+old+"/revoke", nil, 200)
	current := inviteContact(t, slug, contact)["id"].(string)
	if current == old {
		t.Fatal("a new invitation reused the old one")
	}
	waitForMail(t, email, "invite", 2)
	waitSendCount(t, current, 1)

	// A stale record: the old invitation looks pending in Postgres (the
	// new one's record is set aside to allow it).
	execSQL(t, `UPDATE invitations SET status = 'expired' WHERE id = ?`, current)
	execSQL(t, `UPDATE invitations SET status = 'pending', closed_at = NULL WHERE id = ?`, old)
	r := command(t, "/api/v1/invitations/"+old+"/revoke", "")
	if r.Status != 200 || r.json(t)["id"] != old || r.json(t)["status"] != "revoked" {
		t.Fatalf("revoke of the stale invitation: %d %s", r.Status, r.Body)
	}

	// The running invitation was not touched.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := app.Service.Temporal.QueryWorkflow(ctx, workflows.InvitationWorkflowID(slug, contact), current, workflows.StatusQuery)
	if err != nil {
		t.Fatal(err)
	}
	var st workflows.InvitationState
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	if st.InvitationID != current || st.Status != "pending" {
		t.Fatalf("the new invitation's run is %+v after a revoke of the old one", st)
	}
}

func TestApproveAndRejectAnswerTheUserAndARepeatIsOneDecision(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	setSignup(t, slug, true, true)
	email := unique("decide") + "@example.com"
	signUp(t, slug, "Dora Decide", email, "correct-horse-1")
	verify(t, email, "correct-horse-1")
	id := userID(t, slug, email, "pending_approval")
	path := "/api/v1/help-centers/" + slug + "/users/" + id

	r := command(t, path+"/approve", "")
	if r.Status != 200 || r.json(t)["status"] != "active" {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	if r := command(t, path+"/reject", ""); r.Status != 409 || r.errorCode(t) != "not_waiting" {
		t.Fatalf("reject after approval: %d %s", r.Status, r.Body)
	}
	waitForMail(t, email, "signup_approved", 1)
	time.Sleep(quietPeriod)
	if n := mailsOfKind(t, email, "signup_approved"); n != 1 {
		t.Fatalf("%d approval emails, want 1", n)
	}
}

func TestCancelAnswersTheCancelledJobAndASecondIsRefused(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	ids := seedContacts(t, unique("cancel"), "c", 3000, true, true)
	job := admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations/bulk", map[string]any{"contact_ids": ids}, 202)
	// Cancel once the job's workflow is under way, so the update reaches
	// it.
	deadline := time.Now().Add(20 * time.Second)
	for num(admin(t, "GET", "/api/v1/bulk-invitations/"+job["id"].(string), nil, 200)["processed"]) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("bulk job processed nothing after 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	path := "/api/v1/bulk-invitations/" + job["id"].(string) + "/cancel"
	r := command(t, path, "")
	if r.Status != 200 {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	got := r.json(t)
	if got["status"] != "cancelled" || got["finished_at"] == nil || num(got["processed"]) >= 3000 {
		t.Fatalf("cancel answered %v, want the job cancelled before its end", got)
	}
	if r := command(t, path, ""); r.Status != 409 || r.errorCode(t) != "not_running" {
		t.Fatalf("second cancel: %d %s", r.Status, r.Body)
	}
	// Started and cancelled, once each, by the admin's key in the
	// requests that asked.
	events := eventsOf(t, "bulk_job:"+job["id"].(string), 2)
	admin := "api_key:" + adminKeyID(t)
	requireEvent(t, events[0], "bulk.cancelled", admin, r.Header.Get("X-Request-Id"), slug)
	requireEvent(t, events[1], "bulk.started", admin, "", slug)
}

func TestRevokeOfAnInvitationThatEndedOnItsOwnNamesHowItEnded(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	for _, status := range []string{"expired", "undeliverable"} {
		email := unique("ended") + "@example.com"
		id := inviteContact(t, slug, newContact(t, email, true))["id"].(string)
		waitSendCount(t, id, 1)
		// The record closed as the workflow closes it at its end.
		execSQL(t, `UPDATE invitations SET status = ?, closed_at = now() WHERE id = ?`, status, id)
		if r := command(t, "/api/v1/invitations/"+id+"/revoke", ""); r.Status != 409 || r.errorCode(t) != status {
			t.Fatalf("revoke of an %s invitation: %d %s", status, r.Status, r.Body)
		}
	}
}

func TestARetriedRevokeWithItsKeyAnswersAsTheFirstAfterTheInvitationClosed(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("retry") + "@example.com"
	id := inviteContact(t, slug, newContact(t, email, true))["id"].(string)
	waitSendCount(t, id, 1)
	path := "/api/v1/invitations/" + id + "/revoke"
	first := command(t, path, "revoke-"+id)
	if first.Status != 200 || first.json(t)["status"] != "revoked" {
		t.Fatalf("revoke: %d %s", first.Status, first.Body)
	}
	waitInvitationStatus(t, id, "revoked")
	// The answer was lost and the client retries with its key: the same
	// command, answered the same, though the invitation's workflow closed.
	if again := command(t, path, "revoke-"+id); again.Status != 200 || string(again.Body) != string(first.Body) {
		t.Fatalf("retried revoke: %d %s, want %s", again.Status, again.Body, first.Body)
	}
	// Without the key it is a new revoke of a revoked invitation.
	if r := command(t, path, ""); r.Status != 409 || r.errorCode(t) != "revoked" {
		t.Fatalf("revoke without the key: %d %s", r.Status, r.Body)
	}
}
