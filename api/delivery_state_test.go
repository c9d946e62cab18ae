package api_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portalaccess/portal/workflows"
)

// mailEvent has the development outbox post a signed webhook of event
// for the only email of kind sent to to.
func mailEvent(t *testing.T, to, kind, event, severity string) {
	t.Helper()
	for _, m := range outboxEntries(t, to) {
		if m.Kind == kind {
			body := map[string]any{"event": event}
			if severity != "" {
				body["severity"] = severity
			}
			admin(t, "POST", fmt.Sprintf("/dev/outbox/%d/webhook", m.ID), body, 200)
			return
		}
	}
	t.Fatalf("no %s email to %s", kind, to)
}

// lastEmailOf waits until the user list shows email's latest email in
// state, and returns the user.
func lastEmailOf(t *testing.T, slug, email, state string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		u := portalUserByEmail(t, slug, email)
		if u != nil && u["last_email_state"] == state {
			return u
		}
		if time.Now().After(deadline) {
			t.Fatalf("user %s: %v, want last_email_state %s", email, u, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestUsersListAndExportShowEachUsersLastEmailAndWhoDeclined(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	delivered, bounced, sent, declined := unique("ls-delivered")+"@example.com", unique("ls-bounced")+"@example.com",
		unique("ls-sent")+"@example.com", unique("ls-declined")+"@example.com"
	invitations := map[string]string{}
	for _, email := range []string{delivered, bounced, sent, declined} {
		invitations[email] = inviteContact(t, slug, newContact(t, email, true))["id"].(string)
	}
	for _, email := range []string{delivered, bounced, sent, declined} {
		waitForMail(t, email, "invite", 1)
	}
	// The provider's news of each invite, through signed webhooks.
	mailEvent(t, delivered, "invite", "delivered", "")
	mailEvent(t, bounced, "invite", "delivered", "")
	u := lastEmailOf(t, slug, delivered, "delivered")
	if u["last_email_kind"] != "invite" || u["last_email_at"] == nil || u["status"] != "invited" {
		t.Fatalf("user after a delivered invite: %v", u)
	}
	if u := lastEmailOf(t, slug, sent, "sent"); u["last_email_kind"] != "invite" {
		t.Fatalf("user whose invite the provider said nothing of: %v", u)
	}
	// One user accepts: the welcome email is their latest.
	acceptWith(t, delivered, slug, "correct-horse-1")
	waitForMail(t, delivered, "welcome", 1)
	if u := lastEmailOf(t, slug, delivered, "sent"); u["last_email_kind"] != "welcome" || u["status"] != "active" {
		t.Fatalf("user after accepting: %v", u)
	}
	// One contact declines: the invitation says when, and the contact
	// leaves the user list for the export's declined rows.
	link := declineLinkIn(t, waitForMail(t, declined, "invite", 1)[0])
	if r := postOneClick(t, link, "List-Unsubscribe=One-Click"); r.Status != 200 {
		t.Fatalf("decline: %d %s", r.Status, r.Body)
	}
	inv := waitInvitationStatus(t, invitations[declined], "declined")
	declinedAt, err := time.Parse(time.RFC3339, fmt.Sprint(inv["declined_at"]))
	if err != nil || time.Since(declinedAt) > time.Minute {
		t.Fatalf("declined invitation: %v", inv)
	}
	list := admin(t, "GET", "/api/v1/help-centers/"+slug+"/invitations?status=declined", nil, 200)
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["declined_at"] == nil {
		t.Fatalf("declined invitations: %v", list)
	}
	// The other bounces for good: its invitation closes and the list
	// shows why, as long as the user is listed.
	mailEvent(t, bounced, "invite", "failed", "permanent")
	waitInvitationStatus(t, invitations[bounced], "undeliverable")

	r := call(t, "GET", "/api/v1/help-centers/"+slug+"/users/export.csv", app.AdminKey, nil)
	if r.Status != 200 {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("export %q: %v", r.Body, err)
	}
	if !slices.Equal(rows[0], exportHeader) {
		t.Fatalf("export header %v, want %v", rows[0], exportHeader)
	}
	byEmail := map[string][]string{}
	for _, row := range rows[1:] {
		byEmail[row[0]] = row
	}
	check := func(email, status, kind, state string, declined bool) {
		t.Helper()
		row := byEmail[email]
		if row == nil {
			t.Fatalf("%s is not in the export: %v", email, rows)
		}
		if row[2] != status || row[7] != kind || row[8] != state || (row[9] == "") != (kind == "") || (row[10] != "") != declined {
			t.Fatalf("export row of %s: %v, want status %s, last email %s %s, declined %v", email, row, status, kind, state, declined)
		}
	}
	check(delivered, "active", "welcome", "sent", false)
	check(sent, "invited", "invite", "sent", false)
	check(declined, "declined", "invite", "sent", true)
	if byEmail[declined][3] == "" || byEmail[declined][6] != "1" {
		t.Fatalf("a declined row keeps its invitation's record: %v", byEmail[declined])
	}
	if _, listed := byEmail[bounced]; listed {
		t.Fatalf("the undeliverable invitee holds no access, so is no user: %v", byEmail[bounced])
	}
	// Chosen users: a declined contact is chosen by the account its
	// invitation made.
	var account int64
	if err := app.Service.Store.DB.NewRaw(`SELECT a.id FROM portal_accounts a JOIN contacts c ON c.id = a.contact_id WHERE c.email = ?`,
		declined).Scan(context.Background(), &account); err != nil {
		t.Fatal(err)
	}
	chosen := call(t, "GET", fmt.Sprintf("/api/v1/help-centers/%s/users/export.csv?ids=%d", slug, account), app.AdminKey, nil)
	if rows, err := csv.NewReader(strings.NewReader(string(chosen.Body))).ReadAll(); err != nil || len(rows) != 2 || rows[1][0] != declined {
		t.Fatalf("export of the declined contact's account: %q %v", chosen.Body, err)
	}
}

func TestBouncedVerificationEmailClosesTheSignupAsUndeliverable(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	setSignup(t, slug, true, false)
	email := unique("su-bounce") + "@example.com"
	if r := signUp(t, slug, "Bo Bounce", email, "correct-horse-1"); r.Status != 200 {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
	waitForMail(t, email, "signup_verify", 1)
	contact := admin(t, "GET", "/api/v1/contacts?q="+url.QueryEscape(email), nil, 200)["items"].([]any)[0].(map[string]any)["id"].(float64)
	wfID := workflows.SignupWorkflowID(slug, int64(contact))
	if desc, err := app.Service.Temporal.DescribeWorkflow(t.Context(), wfID, ""); err != nil || desc.RawResponse.WorkflowExecutionInfo.CloseTime != nil {
		t.Fatalf("the sign-up is not waiting for its link: %v %v", desc, err)
	}
	mailEvent(t, email, "signup_verify", "failed", "permanent")
	waitClosed(t, wfID)
	var status string
	if err := app.Service.Store.DB.NewRaw(`SELECT status FROM signups WHERE workflow_id = ? ORDER BY created_at DESC LIMIT 1`, wfID).
		Scan(context.Background(), &status); err != nil || status != "undeliverable" {
		t.Fatalf("sign-up after the bounce: %q %v", status, err)
	}
	var st workflows.SignupState
	v, err := app.Service.Temporal.QueryWorkflow(t.Context(), wfID, "", workflows.StatusQuery)
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil || st.Status != "undeliverable" || st.UndeliverableReason != "bounced" {
		t.Fatalf("sign-up workflow: %+v %v", st, err)
	}
	// Signing up again sends nothing to the suppressed address.
	if r := signUp(t, slug, "Bo Bounce", email, "correct-horse-1"); r.Status != 200 {
		t.Fatalf("second sign-up: %d %s", r.Status, r.Body)
	}
	time.Sleep(2 * time.Second)
	if got := waitForMail(t, email, "signup_verify", 1); len(got) != 1 {
		t.Fatalf("%d verification emails, want the first alone", len(got))
	}
}

func TestComplaintOfAResetEmailStopsFurtherResetLinks(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email, _, _ := activeUser(t, slug, "correct-horse-1")
	askForReset(t, slug, email)
	resetLinkTo(t, email, 1)
	scope := helpCenterScope(t, slug)
	mailEvent(t, email, "password_reset", "complained", "")
	id := workflows.PasswordResetWorkflowID(scope, app.Service.Tokens.AddressKey(scope, email))
	state := func(want func(workflows.PasswordResetState) bool) workflows.PasswordResetState {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			var st workflows.PasswordResetState
			v, err := app.Service.Temporal.QueryWorkflow(context.Background(), id, "", workflows.StatusQuery)
			if err == nil {
				err = v.Get(&st)
			}
			if err == nil && want(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("reset: %+v %v after 20s", st, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	state(func(st workflows.PasswordResetState) bool { return st.UndeliverableReason == "complained" })
	askForReset(t, slug, email)
	st := state(func(st workflows.PasswordResetState) bool { return st.Requests == 2 })
	if st.Undelivered != 1 || st.EmailsSent != 1 || st.Throttled != 0 {
		t.Fatalf("reset after the complaint: %+v", st)
	}
	if got := waitForMail(t, email, "password_reset", 1); len(got) != 1 {
		t.Fatalf("%d reset emails, want the first alone", len(got))
	}
}
