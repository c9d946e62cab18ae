package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var declinePattern = regexp.MustCompile(`https?://\S+/invitations/decline\?invitation=[0-9a-f-]+&sig=[A-Za-z0-9_-]+`)

// declineLinkIn returns the decline link of an invitation email, checking
// that the headers and the body carry the same one.
func declineLinkIn(t *testing.T, m outboxItem) string {
	t.Helper()
	link := declinePattern.FindString(m.Text)
	if link == "" || !strings.Contains(m.Text, "I don't want to join") || !strings.Contains(m.HTML, "want to join</a>") {
		t.Fatalf("no visible decline link in %q", m.Text)
	}
	lu := m.Headers["List-Unsubscribe"]
	if !strings.HasPrefix(lu, "<"+link+">, <mailto:") || m.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe %q, List-Unsubscribe-Post %q; body link %s", lu, m.Headers["List-Unsubscribe-Post"], link)
	}
	return link
}

func postOneClick(t *testing.T, link, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, link, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: b, Header: resp.Header}
}

func TestOneClickDeclineClosesTheInvitationAndTheHelpCenterInvitesNoMoreWithoutAnOverride(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email := unique("decline") + "@example.com"
	contact := newContact(t, email, true)
	id := inviteContact(t, slug, contact)["id"].(string)
	link := declineLinkIn(t, waitForMail(t, email, "invite", 1)[0])

	// Another invitation's link: its signature does not fit this one.
	otherEmail := unique("decline-other") + "@example.com"
	other := inviteContact(t, slug, newContact(t, otherEmail, true))["id"].(string)
	otherLink := declineLinkIn(t, waitForMail(t, otherEmail, "invite", 1)[0])
	u, _ := url.Parse(link)
	ou, _ := url.Parse(otherLink)
	q := u.Query()
	q.Set("sig", ou.Query().Get("sig"))
	crossed := u.Scheme + "://" + u.Host + u.Path + "?" + q.Encode()
	q.Set("sig", strings.Repeat("A", 43))
	forged := u.Scheme + "://" + u.Host + u.Path + "?" + q.Encode()
	for name, bad := range map[string]string{"crossed": crossed, "forged": forged, "other help center": strings.Replace(link, "/portal/"+slug+"/", "/portal/"+newHelpCenter(t, "unique")+"/", 1)} {
		if r := newBrowser(t).get(bad); r.Status != 404 || !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s link GET: %d %s", name, r.Status, r.Body)
		}
		if r := postOneClick(t, bad, "List-Unsubscribe=One-Click"); r.Status != 404 {
			t.Fatalf("%s link POST: %d %s", name, r.Status, r.Body)
		}
	}

	// Opening the link (as a scanner does) shows a page and changes nothing.
	page := newBrowser(t).get(link)
	if page.Status != 200 || !strings.Contains(string(page.Body), `name="List-Unsubscribe" value="One-Click"`) || !strings.Contains(string(page.Body), "<main") {
		t.Fatalf("confirmation page %d %s", page.Status, page.Body)
	}
	if r := postOneClick(t, link, "List-Unsubscribe=One-Click&extra=1"); r.Status != 400 {
		t.Fatalf("a body other than the one-click one: %d", r.Status)
	}
	time.Sleep(300 * time.Millisecond)
	if inv := admin(t, "GET", "/api/v1/invitations/"+id, nil, 200); inv["status"] != "pending" {
		t.Fatalf("after GET the invitation is %v", inv["status"])
	}

	// The mail client's one-click POST: no session, no CSRF token.
	if r := postOneClick(t, link, "List-Unsubscribe=One-Click"); r.Status != 200 || !strings.Contains(string(r.Body), "be invited again") {
		t.Fatalf("one-click decline: %d %s", r.Status, r.Body)
	}
	waitInvitationStatus(t, id, "declined")
	if inv := admin(t, "GET", "/api/v1/invitations/"+other, nil, 200); inv["status"] != "pending" {
		t.Fatalf("the other invitation is %v", inv["status"])
	}
	// Declining again still answers, and changes nothing more.
	if r := postOneClick(t, link, "List-Unsubscribe=One-Click"); r.Status != 200 {
		t.Fatalf("second decline: %d", r.Status)
	}

	path := "/api/v1/help-centers/" + slug + "/invitations"
	if r := call(t, "POST", path, app.AdminKey, map[string]any{"contact_id": contact}); r.Status != 409 || r.errorCode(t) != "contact_declined" {
		t.Fatalf("invite after decline: %d %s", r.Status, r.Body)
	}
	job := admin(t, "POST", path+"/bulk", map[string]any{"contact_ids": []int64{contact}}, 202)
	deadline := time.Now().Add(20 * time.Second)
	for {
		j := admin(t, "GET", "/api/v1/bulk-invitations/"+job["id"].(string), nil, 200)
		if j["status"] == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bulk job %v after 20s", j)
		}
		time.Sleep(100 * time.Millisecond)
	}
	csv := call(t, "GET", "/api/v1/bulk-invitations/"+job["id"].(string)+"/results.csv", app.AdminKey, nil)
	if !strings.Contains(string(csv.Body), "declined") {
		t.Fatalf("bulk results do not skip the contact as declined: %s", csv.Body)
	}

	// An admin's override invites again, and the audit trail says who.
	inv := admin(t, "POST", path, map[string]any{"contact_id": contact, "override_decline": true}, 202)
	if inv["id"] == id || inv["status"] != "pending" {
		t.Fatalf("override invitation %v", inv)
	}
	found := false
	for _, ev := range auditEvents(t, "action=invitation.decline_overridden") {
		if ev["target"] == fmt.Sprintf("contact:%d", contact) {
			found = true
		}
	}
	if !found {
		t.Fatal("no audit event records the override")
	}
	waitForMail(t, email, "invite", 2)
}
