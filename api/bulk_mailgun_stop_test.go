package api_test

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portalaccess/portal/testenv"
)

// TestBulkInviteSendsEachInviteOnceWhenTheWorkerStopsOrDies runs a
// 500-contact bulk invite with the worker process sending through
// Mailgun's mock server, and stops the worker while sends are in flight:
// with SIGTERM (it lets the sends in flight finish), and in a second job
// with SIGKILL (a send the mock took but the worker never recorded is
// confirmed through the events API, not repeated). Afterwards every
// contact has exactly one invite the mock accepted, none two.
func TestBulkInviteSendsEachInviteOnceWhenTheWorkerStopsOrDies(t *testing.T) {
	if testing.Short() {
		t.Skip("long integration test")
	}
	ctx := context.Background()
	mg := testenv.NewMailgun()
	defer mg.Close()
	// Every answer to a send comes 30 ms after the mock took the
	// message, so a stop always finds sends in flight, some of them
	// already taken.
	apiBase := slowMailgun(t, mg, 30*time.Millisecond, nil)

	p, w := splitPortal(t, map[string]string{
		"MAIL_DRIVER": "mailgun", "MAILGUN_DOMAIN": "mg.example.com", "MAILGUN_API_KEY": "key-test",
		"MAILGUN_API_BASE": apiBase, "MAILGUN_TIMEOUT": "5s", "WORKER_STOP_TIMEOUT": "10s",
		// The mock indexes at once: an unknown send is judged on the
		// first retry.
		"MAILGUN_EVENTS_DELAY": "0s",
	})
	w.start()
	defer func() { w.kill() }()

	const contacts = 500
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			slug := newHelpCenter(t, "unique")
			tag := unique("mgstop")
			seedContacts(t, tag, "e", contacts, true, true)
			if r := callOn(t, p.URL, p.AdminKey, "POST", "/api/v1/help-centers/"+slug+"/invitations/bulk",
				map[string]any{"filter": map[string]any{"q": tag}}); r.Status != 202 {
				t.Fatalf("bulk invite: %d %s", r.Status, r.Body)
			}
			accepted := func() (one, more int) {
				for to, n := range mg.Accepted() {
					if strings.HasPrefix(to, strings.ToLower(tag)+"-") {
						if n == 1 {
							one++
						} else {
							more++
						}
					}
				}
				return one, more
			}
			deadline := time.Now().Add(3 * time.Minute)
			for {
				if one, _ := accepted(); one >= contacts/10 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no sends under way")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if sig == syscall.SIGKILL {
				w.kill()
			} else {
				if err := w.cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				if err := w.cmd.Wait(); err != nil {
					log, _ := os.ReadFile(w.log.Name())
					t.Fatalf("worker exit after SIGTERM: %v\n%s", err, log)
				}
			}
			one, more := accepted()
			t.Logf("worker stopped with %s after %d of %d invites", sig, one+more, contacts)
			w.start()

			// Done once every invite is on record as sent: none is left
			// to confirm or to send again.
			db := app.Service.Store.DB
			for {
				var sent, open int
				_ = db.NewRaw(`SELECT count(*) FILTER (WHERE e.status = 'sent'), count(*) FILTER (WHERE e.status <> 'sent')
					FROM email_log e JOIN invitations i ON i.id = e.invitation_id JOIN help_centers h ON h.id = i.help_center_id
					WHERE h.slug = ? AND e.kind = 'invite'`, slug).Scan(ctx, &sent, &open)
				if sent == contacts && open == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d invites on record as sent and %d not, want %d sent", sent, open, contacts)
				}
				time.Sleep(200 * time.Millisecond)
			}
			if one, more := accepted(); one != contacts || more != 0 {
				t.Fatalf("the mock accepted one invite for %d contacts and more for %d; want one each for %d", one, more, contacts)
			}
		})
	}
}
