package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/portalaccess/portal/testenv"
)

func TestHelpCenterSenderNameAndReplyToAreOnEveryEmailAndTokenEmailsAreUntracked(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	path := "/api/v1/help-centers/" + slug
	hc := admin(t, "GET", path, nil, 200)
	if s := hc["sender"].(map[string]any); s["name"] != "Help "+slug || s["custom_name"] != false || s["reply_to"] != nil {
		t.Fatalf("default sender %v", s)
	}
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "Acme\r\nBcc: x@evil.example"}, "sender.name"},
		{map[string]any{"reply_to": "not an address"}, "sender.reply_to"},
		{map[string]any{"from_address": "help@evil.example"}, "sender.from_address"},
	} {
		r := call(t, "PATCH", path, app.AdminKey, map[string]any{"sender": bad.body})
		if r.Status != 422 || r.json(t)["error"].(map[string]any)["field"] != bad.field {
			t.Fatalf("sender %v: %d %s", bad.body, r.Status, r.Body)
		}
	}
	if r := call(t, "PATCH", path, app.AdminKey, map[string]any{"sender": map[string]any{"from_address": "help@evil.example"}}); r.errorCode(t) != "sender_not_allowed" {
		t.Fatalf("from address off the allow-list: %s", r.Body)
	}
	hc = admin(t, "PATCH", path, map[string]any{"sender": map[string]any{"name": "Acme Support", "reply_to": "support@acme.example"}}, 200)
	if s := hc["sender"].(map[string]any); s["name"] != "Acme Support" || s["custom_name"] != true || s["reply_to"] != "support@acme.example" || s["from_address"] != nil {
		t.Fatalf("sender %v", s)
	}

	email := unique("sender") + "@example.com"
	contact := newContact(t, email, true)
	admin(t, "POST", path+"/invitations", map[string]any{"contact_id": contact}, 202)
	m := waitForMail(t, email, "invite", 1)[0]
	if m.From != `"Acme Support" <no-reply@localhost>` || m.ReplyTo == nil || *m.ReplyTo != "support@acme.example" {
		t.Fatalf("invitation from %q reply-to %v", m.From, m.ReplyTo)
	}
	if m.Tracking == nil || m.Tracking.Clicks || m.Tracking.Opens {
		t.Fatalf("invitation tracking %+v, want clicks and opens off", m.Tracking)
	}
}

func TestSenderReachesTheMailgunMockFromAnAllowedAddress(t *testing.T) {
	mg := testenv.NewMailgunRecorder()
	defer mg.Close()
	p, err := testenv.StartPortal(context.Background(), databaseURL, temporalAddress, testenv.Options{Env: map[string]string{
		"MAIL_DRIVER": "mailgun", "MAILGUN_DOMAIN": "mg.example.com", "MAILGUN_API_KEY": "key-test", "MAILGUN_API_BASE": mg.URL(),
		"MAIL_FROM": "Help Center <no-reply@mg.example.com>", "MAIL_FROM_ALLOWED": "@mg.example.com,help@brand.example",
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	slug := unique("hc-")
	if r := callOn(t, p.URL, p.AdminKey, "POST", "/api/v1/help-centers", map[string]any{"slug": slug, "name": "Acme", "user_base": "unique"}); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	path := "/api/v1/help-centers/" + slug
	if r := callOn(t, p.URL, p.AdminKey, "PATCH", path, map[string]any{"sender": map[string]any{"from_address": "help@other.example"}}); r.Status != 422 || r.errorCode(t) != "sender_not_allowed" {
		t.Fatalf("from outside the sending domains: %d %s", r.Status, r.Body)
	}
	if r := callOn(t, p.URL, p.AdminKey, "PATCH", path, map[string]any{"sender": map[string]any{
		"name": "Acme Support", "reply_to": "support@acme.example", "from_address": "acme@mg.example.com"}}); r.Status != 200 {
		t.Fatalf("sender: %d %s", r.Status, r.Body)
	}
	email := unique("mg-sender") + "@example.com"
	c := callOn(t, p.URL, p.AdminKey, "POST", "/api/v1/contacts", map[string]any{"email": email, "name": "Ada", "verified": true}).json(t)
	if r := callOn(t, p.URL, p.AdminKey, "POST", path+"/invitations", map[string]any{"contact_id": c["id"]}); r.Status != 202 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(mg.Sent(email)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no message reached the Mailgun mock")
		}
		time.Sleep(50 * time.Millisecond)
	}
	got := mg.Sent(email)[0]
	for field, want := range map[string]string{
		"from": `"Acme Support" <acme@mg.example.com>`, "h:Reply-To": "support@acme.example",
		"o:tracking": "no", "o:tracking-clicks": "no", "o:tracking-opens": "no",
	} {
		if got.Get(field) != want {
			t.Errorf("%s = %q, want %q", field, got.Get(field), want)
		}
	}
}
