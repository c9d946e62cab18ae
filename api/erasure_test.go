package api_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// personName is a name no other test gives anyone: letters only, as the
// name rule wants.
func personName() string {
	n := unique("")
	var b strings.Builder
	for _, d := range n {
		b.WriteString(string("abcdefghij"[strings.IndexRune("0123456789", d)]))
	}
	return "Erin Q" + b.String()
}

// TestErasureLeavesNoTraceOfThePerson erases a contact who has an active
// account (with a session and a password reset asked for), a pending
// invitation elsewhere, a sign-up waiting for approval and a ticket:
// afterwards no column of any table holds their address or their name,
// their sessions and workflows ended, the ticket stays without them, and
// the audit trail says who erased whom by IDs only. The histories of the
// invitation, the sign-up and the reset hold neither the address nor the
// name.
func TestErasureLeavesNoTraceOfThePerson(t *testing.T) {
	accepted, pending, signupHC := newHelpCenter(t, "unique"), newHelpCenter(t, "unique"), newHelpCenter(t, "unique")
	setSignup(t, signupHC, true, true)
	email, name := unique("erin")+"@example.com", personName()
	ct := admin(t, "POST", "/api/v1/contacts", map[string]any{"email": email, "name": name, "verified": true}, 201)
	contact := int64(ct["id"].(float64))
	id := strconv.FormatInt(contact, 10)

	// An active account, logged in, that asked for a password reset.
	inviteContact(t, accepted, contact)
	home := acceptWith(t, email, accepted, "correct-horse-1")
	if r := home.get(app.URL + "/portal/" + accepted + "/home"); r.Status != 200 || !strings.Contains(string(r.Body), name) {
		t.Fatalf("home before erasure: %d", r.Status)
	}
	askForReset(t, accepted, email)
	resetLinkTo(t, email, 1)
	resetID := workflows.PasswordResetWorkflowID(helpCenterScope(t, accepted), app.Service.Tokens.AddressKey(helpCenterScope(t, accepted), email))
	// A pending invitation, and a verified sign-up waiting for an admin.
	inviteContact(t, pending, contact)
	inviteLinkTo(t, email, pending)
	signUp(t, signupHC, name, email, "correct-horse-2")
	if _, r := verify(t, email, "correct-horse-2"); r.Status != 200 && r.Status != 303 {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	userID(t, signupHC, email, "pending_approval")
	ticket := admin(t, "POST", "/api/v1/tickets", map[string]any{"help_center": accepted, "email": email, "subject": "Printer on fire"}, 201)
	waitCompleted(t, app.Service.Temporal, workflows.InvitationWorkflowID(accepted, contact))

	histories := map[string]string{
		"invitation": workflows.InvitationWorkflowID(accepted, contact),
		"sign-up":    workflows.SignupWorkflowID(signupHC, contact),
		"reset":      resetID,
	}
	for what, wfID := range histories {
		assertHistoryHoldsNoPerson(t, what, wfID, email, name)
	}
	running := []string{workflows.InvitationWorkflowID(pending, contact), workflows.SignupWorkflowID(signupHC, contact), resetID}
	for _, wfID := range running {
		if status := workflowStatus(t, app.Service.Temporal, wfID); status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Fatalf("%s is %v before the erasure, want running", wfID, status)
		}
	}
	// The scan sees the person before the erasure, so its silence after
	// means something.
	if tables := tablesHolding(t, email); len(tables) == 0 {
		t.Fatal("no table holds the address before the erasure: the scan sees nothing")
	}
	if tables := tablesHolding(t, name); len(tables) == 0 {
		t.Fatal("no table holds the name before the erasure: the scan sees nothing")
	}
	if countSQL(t, `SELECT count(*) FROM portal_sessions s JOIN portal_accounts a ON a.id = s.account_id WHERE a.contact_id = ?`, contact) == 0 {
		t.Fatal("no session before the erasure")
	}

	agentKey, _ := newKey(t, map[string]any{"role": "agent"})
	if r := call(t, "DELETE", "/api/v1/contacts/"+id, agentKey, nil); r.Status != 403 {
		t.Fatalf("agent erasure: %d %s", r.Status, r.Body)
	}
	if r := call(t, "DELETE", "/api/v1/contacts/"+id, app.AdminKey, nil); r.Status != 204 {
		t.Fatalf("erasure: %d %s", r.Status, r.Body)
	}
	if r := call(t, "DELETE", "/api/v1/contacts/"+id, app.AdminKey, nil); r.Status != 404 || r.errorCode(t) != "contact_not_found" {
		t.Fatalf("second erasure: %d %s", r.Status, r.Body)
	}
	if r := call(t, "DELETE", "/api/v1/contacts/999999999", app.AdminKey, nil); r.Status != 404 || r.errorCode(t) != "contact_not_found" {
		t.Fatalf("erasure of an unknown contact: %d %s", r.Status, r.Body)
	}
	if r := call(t, "GET", "/api/v1/contacts/"+id, app.AdminKey, nil); r.Status != 404 {
		t.Fatalf("erased contact still answers: %d", r.Status)
	}

	for _, what := range []string{email, name} {
		if tables := tablesHolding(t, what); len(tables) > 0 {
			t.Errorf("after the erasure, %v still hold %q", tables, what)
		}
	}
	// Sessions ended: the browser that was logged in is not any more.
	if r := home.get(app.URL + "/portal/" + accepted + "/home"); r.Status == 200 {
		t.Fatal("the erased person's session still opens the home page")
	}
	if n := login(t, accepted, email, "correct-horse-1"); n == 303 {
		t.Fatal("the erased person can still log in")
	}
	// The ticket stays with the help center, without a requester.
	var requester *int64
	if err := app.Service.Store.DB.NewRaw(`SELECT contact_id FROM tickets WHERE id = ?`, int64(ticket["id"].(float64))).
		Scan(context.Background(), &requester); err != nil || requester != nil {
		t.Fatalf("ticket after erasure: requester %v, %v", requester, err)
	}
	// The pending invitation, the sign-up and the reset end.
	for _, wfID := range running {
		waitClosed(t, wfID)
	}
	for what, wfID := range histories {
		assertHistoryHoldsNoPerson(t, what, wfID, email, name)
	}
	events := auditEvents(t, "target=contact:"+id+"&action=contact.erased")
	if len(events) != 1 || events[0]["actor"] != "api_key:"+adminKeyID(t) {
		t.Fatalf("erasure audit events %v", events)
	}
	if s := fmt.Sprint(events[0]); strings.Contains(strings.ToLower(s), strings.ToLower(email)) || strings.Contains(s, name) {
		t.Fatalf("the audit event names the person: %v", events[0])
	}
}

// assertHistoryHoldsNoPerson fetches a workflow's history from the server
// and looks for the address and the name in every event as the server
// stores it (payloads are bytes there, so the search reads them raw).
func assertHistoryHoldsNoPerson(t *testing.T, what, wfID, email, name string) {
	t.Helper()
	var all bytes.Buffer
	it := app.Service.Temporal.GetWorkflowHistory(context.Background(), wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("%s history: %v", what, err)
		}
		b, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	history := bytes.ToLower(all.Bytes())
	// The search reads payloads: every one of these workflows is started
	// with its help center's ID in its input.
	if !bytes.Contains(history, []byte("helpcenterid")) {
		t.Fatalf("%s history (%d bytes) shows no input: the search reads nothing", what, all.Len())
	}
	for _, s := range []string{email, name} {
		if bytes.Contains(history, bytes.ToLower([]byte(s))) {
			t.Errorf("the %s workflow's history holds %q", what, s)
		}
	}
}

// tablesHolding lists the tables with a row whose text holds s, in any
// letter case: every table of the schema, every column, generically.
func tablesHolding(t *testing.T, s string) []string {
	t.Helper()
	db := app.Service.Store.DB
	var tables []string
	if err := db.NewRaw(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`).
		Scan(context.Background(), &tables); err != nil {
		t.Fatal(err)
	}
	var holding []string
	for _, table := range tables {
		var n int
		q := fmt.Sprintf(`SELECT count(*) FROM %q AS r WHERE strpos(lower(r::text), lower(?)) > 0`, table)
		if err := db.NewRaw(q, s).Scan(context.Background(), &n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if n > 0 {
			holding = append(holding, table)
		}
	}
	return holding
}

// TestAnErasureCutShortIsFinishedByTheSweeper erases a contact in
// Postgres only, as a process that died right after the transaction
// would have: the sweeper ends the pending invitation's workflow, and an
// email that a send under way wrote after the erasure is removed.
func TestAnErasureCutShortIsFinishedByTheSweeper(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("cut") + "@example.com"
	contact := newContact(t, email, true)
	inv := inviteContact(t, slug, contact)
	inviteLinkTo(t, email, slug)
	wfID := workflows.InvitationWorkflowID(slug, contact)

	ev := store.AuditEvent{Actor: portal.ActorSystem, Action: portal.AuditContactErased, Target: portal.Target("contact", contact)}
	if _, err := app.Service.Store.EraseContact(context.Background(), contact, nil, ev); err != nil {
		t.Fatal(err)
	}
	// A send that had read the contact before the erasure lands after it.
	lateKey := "invitation/" + inv["id"].(string) + "/invite/2"
	execSQL(t, `INSERT INTO email_log (idempotency_key, kind, recipient, status) VALUES (?, 'invite', ?, 'sent')`, lateKey, email)
	execSQL(t, `INSERT INTO outbox_messages (recipient, subject, text_body, html_body, kind, idempotency_key) VALUES (?, 'Join', 'x', 'x', 'invite', ?)`, email, lateKey)

	waitClosed(t, wfID)
	if status := workflowStatus(t, app.Service.Temporal, wfID); status != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("the invitation's workflow is %v, want terminated by the sweeper", status)
	}
	waitUntilGone(t, "the late email log entry", `SELECT count(*) FROM email_log WHERE idempotency_key = ?`, lateKey)
	waitUntilGone(t, "the late outbox message", `SELECT count(*) FROM outbox_messages WHERE idempotency_key = ?`, lateKey)
	waitUntilGone(t, "the open erasure", `SELECT count(*) FROM contact_erasures WHERE contact_id = ? AND closed_at IS NULL`, contact)
	if tables := tablesHolding(t, email); len(tables) > 0 {
		t.Fatalf("%v still hold the address", tables)
	}
}
