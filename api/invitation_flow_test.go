package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/portalaccess/portal/workflows"
)

func TestInvitationEndToEnd(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("ada") + "@example.com"
	contact := newContact(t, email, true)

	inv := admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact}, 202)
	if inv["status"] != "pending" || inv["workflow_id"] != workflows.InvitationWorkflowID(slug, contact) || inv["help_center"] != slug {
		t.Fatalf("invitation %v", inv)
	}
	again := admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact}, 202)
	if again["id"] != inv["id"] {
		t.Fatalf("second invite made a new invitation: %v vs %v", again["id"], inv["id"])
	}

	mail := waitForMail(t, email, "invite", 1)
	if len(mail) != 1 {
		t.Fatalf("%d invite emails, want 1", len(mail))
	}
	if !strings.Contains(mail[0].Subject, "Help "+slug) || !strings.Contains(mail[0].Text, "Help "+slug) {
		t.Fatalf("email does not name the help center: %+v", mail[0])
	}
	link, token := linkIn(t, mail[0])
	if !strings.HasPrefix(link, app.URL+"/portal/"+slug+"/invitations/accept?token=") {
		t.Fatalf("link %s", link)
	}

	b := newBrowser(t)
	page := b.get(link)
	if page.Status != 200 || !strings.Contains(string(page.Body), `name="password"`) {
		t.Fatalf("accept page %d: %s", page.Status, page.Body)
	}
	// Opening the link consumed nothing.
	if again := b.get(link); again.Status != 200 {
		t.Fatalf("second GET of the link: %d", again.Status)
	}

	form := url.Values{"token": {token}, "password": {"correct-horse-1"}, "password_confirm": {"different-horse"}}
	if r := b.post("/portal/"+slug+"/invitations/accept", page, form); r.Status != 422 || !strings.Contains(string(r.Body), "do not match") {
		t.Fatalf("mismatched passwords: %d %s", r.Status, r.Body)
	}
	form.Set("password_confirm", "correct-horse-1")
	r := b.post("/portal/"+slug+"/invitations/accept", page, form)
	if r.Status != 303 || r.Header.Get("Location") != "/portal/"+slug+"/home" {
		t.Fatalf("accept: %d %v %s", r.Status, r.Header, r.Body)
	}
	home := b.get(app.URL + "/portal/" + slug + "/home")
	if home.Status != 200 || !strings.Contains(string(home.Body), "Ada Lovelace") || !strings.Contains(string(home.Body), "no requests") {
		t.Fatalf("home: %d %s", home.Status, home.Body)
	}

	// A double submit activates once and says so.
	if r := b.post("/portal/"+slug+"/invitations/accept", page, form); r.Status != 409 || !strings.Contains(string(r.Body), "already active") {
		t.Fatalf("second submit: %d %s", r.Status, r.Body)
	}

	// Log in from a fresh browser.
	b2 := newBrowser(t)
	login := b2.get(app.URL + "/portal/" + slug + "/login")
	if r := b2.post("/portal/"+slug+"/login", login, url.Values{"email": {email}, "password": {"wrong-horse-1"}}); r.Status != 401 {
		t.Fatalf("wrong password: %d", r.Status)
	}
	r = b2.post("/portal/"+slug+"/login", login, url.Values{"email": {strings.ToUpper(email)}, "password": {"correct-horse-1"}})
	if r.Status != 303 || r.Header.Get("Location") != "/portal/"+slug+"/home" {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	cookie := r.Header.Get("Set-Cookie")
	if !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Lax") {
		t.Fatalf("session cookie %q", cookie)
	}
	if home := b2.get(app.URL + "/portal/" + slug + "/home"); home.Status != 200 || !strings.Contains(string(home.Body), "Ada Lovelace") {
		t.Fatalf("home after login: %d", home.Status)
	}

	got := admin(t, "GET", "/api/v1/invitations/"+inv["id"].(string), nil, 200)
	if got["status"] != "accepted" || got["send_count"].(float64) != 1 {
		t.Fatalf("invitation after accept: %v", got)
	}
	users := admin(t, "GET", "/api/v1/help-centers/"+slug+"/users?status=active", nil, 200)
	if items := users["items"].([]any); len(items) != 1 || items[0].(map[string]any)["email"] != email {
		t.Fatalf("active users %v", users)
	}
	waitForMail(t, email, "welcome", 1)

	// The workflow completed, its search attributes say so, and neither the
	// token nor the password is anywhere in its history.
	tc := app.Service.Temporal
	wfID := workflows.InvitationWorkflowID(slug, contact)
	waitCompleted(t, tc, wfID)
	desc, err := tc.DescribeWorkflow(context.Background(), wfID, "")
	if err != nil {
		t.Fatal(err)
	}
	sa := desc.RawResponse.WorkflowExecutionInfo.SearchAttributes.IndexedFields
	if !strings.Contains(string(sa["InvitationStatus"].Data), "accepted") || !strings.Contains(string(sa["HelpCenter"].Data), slug) {
		t.Fatalf("search attributes %v", sa)
	}
	// Both emails had a caller waiting behind them (the invite, the
	// accept), so both went through the rate-limited mail task queue.
	it := tc.GetWorkflowHistory(context.Background(), wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	mailSends := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && strings.HasPrefix(a.ActivityType.Name, "Send") {
			mailSends++
			if a.TaskQueue.Name != app.Env["MAIL_TASK_QUEUE"] {
				t.Fatalf("%s scheduled on %s, want the mail queue %s", a.ActivityType.Name, a.TaskQueue.Name, app.Env["MAIL_TASK_QUEUE"])
			}
		}
	}
	if mailSends != 2 {
		t.Fatalf("%d email activities, want invite and welcome", mailSends)
	}
	history := historyText(t, tc, wfID)
	for _, secret := range []string{token, "correct-horse-1", "argon2id"} {
		if strings.Contains(history, secret) {
			t.Fatalf("workflow history contains %q", secret)
		}
	}
	assertNoCleartextToken(t, token)
}

func waitCompleted(t *testing.T, tc client.Client, wfID string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		desc, err := tc.DescribeWorkflow(context.Background(), wfID, "")
		if err != nil {
			t.Fatal(err)
		}
		if desc.RawResponse.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("workflow %s is %v after 20s", wfID, desc.RawResponse.WorkflowExecutionInfo.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func historyText(t *testing.T, tc client.Client, wfID string) string {
	t.Helper()
	var b strings.Builder
	it := tc.GetWorkflowHistory(context.Background(), wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		// The wire form, not JSON: JSON would show payloads as base64, and
		// a secret in one would pass unseen.
		raw, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(raw)
	}
	if !strings.Contains(b.String(), `{"`) {
		t.Fatalf("the history of %s shows no JSON payload: a search of it would read nothing", wfID)
	}
	return b.String()
}

// assertNoCleartextToken checks that no text column of any table holds the
// token.
func assertNoCleartextToken(t *testing.T, token string) {
	t.Helper()
	db := app.Service.Store.DB
	var tables []string
	if err := db.NewRaw(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`).Scan(context.Background(), &tables); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		var n int
		q := fmt.Sprintf(`SELECT count(*) FROM %q AS r WHERE r::text LIKE '%%' || ? || '%%'`, table)
		if table == "outbox_messages" {
			continue // the development outbox is the customer's mailbox
		}
		if err := db.NewRaw(q, token).Scan(context.Background(), &n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if n > 0 {
			t.Fatalf("table %s holds the token in clear", table)
		}
	}
}

func TestResendKillsOldLinkAndExtendsDeadline(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("bo") + "@example.com"
	contact := newContact(t, email, true)
	inv := admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact}, 202)
	first := waitForMail(t, email, "invite", 1)[0]
	oldLink, _ := linkIn(t, first)
	before := waitSendCount(t, inv["id"].(string), 1)

	admin(t, "POST", "/api/v1/invitations/"+inv["id"].(string)+"/resend", nil, 200)
	second := waitForMail(t, email, "invite", 2)[0]
	newLink, _ := linkIn(t, second)
	if newLink == oldLink {
		t.Fatal("resend kept the old link")
	}
	after := waitSendCount(t, inv["id"].(string), 2)
	if !parseTime(t, after["expires_at"]).After(parseTime(t, before["expires_at"])) {
		t.Fatalf("deadline not extended: %v -> %v", before["expires_at"], after["expires_at"])
	}
	b := newBrowser(t)
	if r := b.get(oldLink); r.Status != 410 || !strings.Contains(string(r.Body), "replaced") {
		t.Fatalf("old link: %d %s", r.Status, r.Body)
	}
	if r := b.get(newLink); r.Status != 200 {
		t.Fatalf("new link: %d", r.Status)
	}
}

func waitSendCount(t *testing.T, id string, n float64) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		inv := admin(t, "GET", "/api/v1/invitations/"+id, nil, 200)
		if inv["send_count"].(float64) >= n {
			return inv
		}
		if time.Now().After(deadline) {
			t.Fatalf("send_count %v after 20s, want %v", inv["send_count"], n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func parseTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %v: %v", v, err)
	}
	return ts
}

func TestRevokedLinkSaysSoAndCanBeReinvited(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("cy") + "@example.com"
	contact := newContact(t, email, true)
	inv := admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact}, 202)
	link, _ := linkIn(t, waitForMail(t, email, "invite", 1)[0])
	id := inv["id"].(string)
	if r := admin(t, "POST", "/api/v1/invitations/"+id+"/revoke", nil, 200); r["status"] != "revoked" {
		t.Fatalf("revoke answered %v", r)
	}

	deadline := time.Now().Add(20 * time.Second)
	for admin(t, "GET", "/api/v1/invitations/"+id, nil, 200)["status"] != "revoked" {
		if time.Now().After(deadline) {
			t.Fatal("invitation not revoked after 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := newBrowser(t).get(link); r.Status != 410 || !strings.Contains(string(r.Body), "withdrawn") {
		t.Fatalf("revoked link: %d %s", r.Status, r.Body)
	}
	if r := call(t, "POST", "/api/v1/invitations/"+id+"/revoke", app.AdminKey, nil); r.Status != 409 || r.errorCode(t) != "revoked" {
		t.Fatalf("second revoke: %d %s", r.Status, r.Body)
	}
	revoked := admin(t, "GET", "/api/v1/help-centers/"+slug+"/invitations?status=revoked", nil, 200)
	if len(revoked["items"].([]any)) != 1 {
		t.Fatalf("revoked list %v", revoked)
	}
	// Re-inviting a revoked invitation starts a new one.
	fresh := admin(t, "POST", "/api/v1/invitations/"+id+"/resend", nil, 202)
	if fresh["id"] == id || fresh["status"] != "pending" {
		t.Fatalf("re-invite after revoke: %v", fresh)
	}
	waitForMail(t, email, "invite", 2)
}

func TestInviteRefusesContactsThatCannotBeInvited(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	noEmail := newContact(t, nil, true)
	unverified := newContact(t, unique("un")+"@example.com", false)
	for _, c := range []struct {
		id   any
		code string
		want int
	}{
		{noEmail, "no_email", 422},
		{unverified, "unverified", 422},
		{999999999, "invalid_field", 422},
		{"7", "invalid_field", 422},
	} {
		r := call(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", app.AdminKey, map[string]any{"contact_id": c.id})
		if r.Status != c.want || r.errorCode(t) != c.code {
			t.Errorf("contact %v: %d %s, want %d %s", c.id, r.Status, r.Body, c.want, c.code)
		}
	}
	if r := call(t, "POST", "/api/v1/help-centers/no-such-center/invitations", app.AdminKey, map[string]any{"contact_id": noEmail}); r.Status != 404 || r.errorCode(t) != "help_center_not_found" {
		t.Errorf("unknown help center: %d %s", r.Status, r.Body)
	}
}
