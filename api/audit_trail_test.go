package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/portalaccess/portal/workflows"
)

// Tests that each change to an invitation, a bulk job or a password is in
// the audit trail once, by who made it and with the request that asked.

// eventsOf waits until target has n events and returns them, newest
// first: a workflow writes some of them just after the API answers.
func eventsOf(t *testing.T, target string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		events := auditEvents(t, "target="+target)
		if len(events) >= n || time.Now().After(deadline) {
			if len(events) != n {
				t.Fatalf("events of %s: %v, want %d", target, events, n)
			}
			return events
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requireEvent fails unless e is action by actor in request requestID
// (any request when empty) of help center slug.
func requireEvent(t *testing.T, e map[string]any, action, actor, requestID, slug string) {
	t.Helper()
	if e["action"] != action || e["actor"] != actor || e["help_center"] != slug ||
		(requestID != "" && e["request_id"] != requestID) || (requestID == "" && e["request_id"] == "") {
		t.Fatalf("event %v, want %s by %s in request %q of %s", e, action, actor, requestID, slug)
	}
}

// requireNoPersonalData fails if an event holds the address or the name.
func requireNoPersonalData(t *testing.T, events []map[string]any, email string) {
	t.Helper()
	b, _ := json.Marshal(events)
	if strings.Contains(strings.ToLower(string(b)), strings.ToLower(email)) || strings.Contains(string(b), "Lovelace") {
		t.Fatalf("audit events hold personal data: %s", b)
	}
}

func TestInviteResendAndRevokeAreAuditedByTheKeyAndRequest(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("audited") + "@example.com"
	contact := newContact(t, email, true)
	agent, agentID := newKey(t, map[string]any{"role": "agent"})
	by := "api_key:" + agentID

	invite := unique("invite-")
	r := callWithRequestID(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", agent, invite, map[string]any{"contact_id": contact})
	if r.Status != 202 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	id := r.json(t)["id"].(string)
	target := "invitation:" + id
	created := eventsOf(t, target, 1)
	requireEvent(t, created[0], "invitation.created", by, invite, slug)
	if d := created[0]["details"].(map[string]any); d["contact_id"] != float64(contact) {
		t.Fatalf("created details %v", d)
	}
	// Asking again finds the pending invitation: nothing new is created.
	if r := call(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", agent, map[string]any{"contact_id": contact}); r.Status != 202 {
		t.Fatalf("second invite: %d %s", r.Status, r.Body)
	}

	waitSendCount(t, id, 1)
	resend := unique("resend-")
	if r := callWithRequestID(t, "POST", "/api/v1/invitations/"+id+"/resend", agent, resend, nil); r.Status != 200 {
		t.Fatalf("resend: %d %s", r.Status, r.Body)
	}
	events := eventsOf(t, target, 2)
	requireEvent(t, events[0], "invitation.resent", by, resend, slug)
	if d := events[0]["details"].(map[string]any); d["generation"] != float64(2) {
		t.Fatalf("resent details %v", d)
	}

	revoke := unique("revoke-")
	if r := callWithRequestID(t, "POST", "/api/v1/invitations/"+id+"/revoke", agent, revoke, nil); r.Status != 200 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	events = eventsOf(t, target, 3)
	requireEvent(t, events[0], "invitation.revoked", by, revoke, slug)
	// A revoke repeated after the close is refused and records nothing.
	if r := call(t, "POST", "/api/v1/invitations/"+id+"/revoke", agent, nil); r.Status != 409 {
		t.Fatalf("second revoke: %d %s", r.Status, r.Body)
	}
	time.Sleep(quietPeriod)
	requireNoPersonalData(t, eventsOf(t, target, 3), email)
}

func TestAcceptAndPasswordResetAreAuditedAsTheCustomer(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email, _, _ := activeUser(t, slug, "correct-horse-1")
	user := jsonID(waitForUser(t, slug, email, "active")["id"])
	customer := "customer:" + user

	accepted := auditEvents(t, "action=invitation.accepted&actor="+customer)
	if len(accepted) != 1 {
		t.Fatalf("accept events by %s: %v, want 1", customer, accepted)
	}
	requireEvent(t, accepted[0], "invitation.accepted", customer, "", slug)
	if d := accepted[0]["details"].(map[string]any); d["user"] != "user:"+user {
		t.Fatalf("accepted details %v", d)
	}

	if r := askForReset(t, slug, email); r.Status != 200 {
		t.Fatalf("forgot password: %d", r.Status)
	}
	_, link, token := resetLinkTo(t, email, 1)
	if _, r := resetWith(t, link, token, "correct-horse-2", "correct-horse-2"); r.Status != 303 {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	events := eventsOf(t, "user:"+user, 1)
	requireEvent(t, events[0], "password.reset", customer, "", slug)
	requireNoPersonalData(t, append(events, accepted...), email)
}

func TestExpiryIsAuditedAsSystem(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	contact := newContact(t, unique("expiring")+"@example.com", true)
	wf := startInvitation(t, slug, contact, workflows.Policy{LinkLifetime: workflows.Duration(2 * time.Second)})
	waitClosed(t, wf)
	desc, err := app.Service.Temporal.DescribeWorkflow(t.Context(), wf, "")
	if err != nil {
		t.Fatal(err)
	}
	events := eventsOf(t, "invitation:"+desc.RawResponse.WorkflowExecutionInfo.Execution.RunId, 2)
	if events[0]["action"] != "invitation.expired" || events[0]["actor"] != "system" ||
		events[1]["action"] != "invitation.created" || events[1]["actor"] != "system" {
		t.Fatalf("events %v, want created then expired, both by system", events)
	}
}

func TestDeactivationRevokesAPendingInvitationInTheDeactivatorsName(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("invited") + "@example.com"
	contact := newContact(t, email, true)
	id := inviteContact(t, slug, contact)["id"].(string)
	user := jsonID(waitForUser(t, slug, email, "invited")["id"])
	rid := unique("deactivate-")
	if r := callWithRequestID(t, "POST", userPath(slug, user)+"/deactivate", app.AdminKey, rid, nil); r.Status != 200 {
		t.Fatalf("deactivate: %d %s", r.Status, r.Body)
	}
	waitInvitationStatus(t, id, "revoked")
	events := eventsOf(t, "invitation:"+id, 2)
	requireEvent(t, events[0], "invitation.revoked", "api_key:"+adminKeyID(t), rid, slug)
}

func TestBulkInvitationsAreCreatedInTheNameOfWhoStartedTheJob(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	ids := seedContacts(t, unique("bulkaudit"), "b", 3, true, true)
	agent, agentID := newKey(t, map[string]any{"role": "agent"})
	by := "api_key:" + agentID
	rid := unique("bulk-")
	r := callWithRequestID(t, "POST", "/api/v1/help-centers/"+slug+"/invitations/bulk", agent, rid, map[string]any{"contact_ids": ids})
	if r.Status != 202 {
		t.Fatalf("bulk: %d %s", r.Status, r.Body)
	}
	job := r.json(t)["id"].(string)
	started := eventsOf(t, "bulk_job:"+job, 1)
	requireEvent(t, started[0], "bulk.started", by, rid, slug)
	if d := started[0]["details"].(map[string]any); d["total"] != float64(3) || d["selection"] != "ids" {
		t.Fatalf("bulk.started details %v", d)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		created := auditEvents(t, "action=invitation.created&actor="+by)
		if len(created) == len(ids) {
			for _, e := range created {
				requireEvent(t, e, "invitation.created", by, rid, slug)
				if d := e["details"].(map[string]any); d["bulk_job"] != job {
					t.Fatalf("bulk child's created details %v", d)
				}
			}
			return
		}
		if len(created) > len(ids) || time.Now().After(deadline) {
			t.Fatalf("%d invitation.created events by %s, want %d", len(created), by, len(ids))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
