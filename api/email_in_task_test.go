package api_test

import (
	"context"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/portalaccess/portal/metrics"
	"github.com/portalaccess/portal/testenv"
)

// An invitation sends its emails in its workflow task, but not one a
// caller waits behind (the admin's invite waiting for the record, the
// customer's accept): with every send to the provider held for 3 s (less
// than a send in a workflow task may take), the invite answers while its
// email is still held, and the accept while the welcome is.
func TestInviteAndAcceptAnswerWithoutWaitingForTheirEmails(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	mg := testenv.NewMailgun()
	defer mg.Close()
	var answered atomic.Int32
	apiBase := slowMailgun(t, mg, 3*time.Second, func() { answered.Add(1) })
	p, err := testenv.StartPortal(context.Background(), databaseURL, temporalAddress, testenv.Options{Env: map[string]string{
		"MAIL_DRIVER": "mailgun", "MAILGUN_DOMAIN": "mg.example.com", "MAILGUN_API_KEY": "key-test",
		"MAILGUN_API_BASE": apiBase, "MAILGUN_TIMEOUT": "10s", "MAILGUN_EVENTS_DELAY": "0s",
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()

	slug := newHelpCenter(t, "unique")
	email := unique("held") + "@example.com"
	contact := newContact(t, email, true)
	r := callOn(t, p.URL, p.AdminKey, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": contact})
	if r.Status != 202 {
		t.Fatalf("invite: %d %s", r.Status, r.Body)
	}
	if n := answered.Load(); n != 0 {
		t.Fatalf("the invite answered after its email's send: %d sends answered", n)
	}
	invitationID := r.json(t)["id"].(string)
	until(t, 30*time.Second, "the invite email", func() bool { return answered.Load() == 1 && mg.Accepted()[email] == 1 })

	token := p.Service.Tokens.Invitation(invitationID, 1)
	b := newBrowser(t)
	page := b.get(p.URL + "/portal/" + slug + "/invitations/accept?token=" + url.QueryEscape(token))
	if page.Status != 200 {
		t.Fatalf("accept page: %d %s", page.Status, page.Body)
	}
	form := url.Values{"token": {token}, "password": {"correct-horse-held"}, "password_confirm": {"correct-horse-held"}}
	if m := csrfField.FindSubmatch(page.Body); m != nil {
		form.Set("csrf_token", string(m[1]))
	}
	resp, err := postForm(t, b.client, p.URL+"/portal/"+slug+"/invitations/accept", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 {
		t.Fatalf("accept: %d", resp.StatusCode)
	}
	if n := answered.Load(); n != 1 {
		t.Fatalf("the accept answered after the welcome's send: %d sends answered", n)
	}
	until(t, 30*time.Second, "the welcome email", func() bool { return answered.Load() == 2 && mg.Accepted()[email] == 2 })
}

// Emails sent in the workflow task keep MAIL_RATE_PER_SECOND together
// with those sent from the mail task queue: a bulk invite of 24 contacts
// at 4 a second spreads its emails over at least 3 s (a second's worth
// may go at once from each path, then the rate holds; unbounded, all 24
// go in well under a second), some sent in their workflow task and the
// rest left to the queue.
func TestBulkEmailsKeepTheMailRateInTheWorkflowTaskAndOnTheQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const contacts, rate = 24, 4
	p, err := testenv.StartPortal(context.Background(), databaseURL, temporalAddress, testenv.Options{Env: map[string]string{
		"MAIL_RATE_PER_SECOND": "4"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	queued := func() float64 { return testutil.ToFloat64(metrics.Emails.WithLabelValues("invite", "queued")) }
	queuedBefore := queued()
	slug := newHelpCenter(t, "unique")
	tag := unique("rate")
	seedContacts(t, tag, "e", contacts, true, true)
	if r := callOn(t, p.URL, p.AdminKey, "POST", "/api/v1/help-centers/"+slug+"/invitations/bulk",
		map[string]any{"filter": map[string]any{"q": tag}}); r.Status != 202 {
		t.Fatalf("bulk invite: %d %s", r.Status, r.Body)
	}
	var sent struct {
		N    int     `bun:"n"`
		Span float64 `bun:"span"`
	}
	until(t, time.Minute, "every invite email", func() bool {
		err := app.Service.Store.DB.NewRaw(`SELECT count(*) AS n, coalesce(extract(epoch FROM max(created_at) - min(created_at)), 0) AS span
			FROM outbox_messages WHERE recipient LIKE ? AND kind = 'invite'`, strings.ToLower(tag)+"-%").Scan(context.Background(), &sent)
		return err == nil && sent.N >= contacts
	})
	if sent.N != contacts {
		t.Fatalf("%d invite emails for %d contacts", sent.N, contacts)
	}
	if least := float64(contacts-3*rate) / rate; sent.Span < least {
		t.Fatalf("%d emails went out in %.1f s: faster than %d a second (at least %.0f s)", contacts, sent.Span, rate, least)
	}
	if n := queued() - queuedBefore; n < 1 || n >= contacts {
		t.Fatalf("%v of %d emails were left to the queue; want some, not all", n, contacts)
	}
}

// until waits for cond, checking it every 100 ms, and fails the test
// naming what never came.
func until(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not come within %v", what, within)
		}
	}
}
