package activities_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/testenv"
)

func mailgunFixture(t *testing.T, eventsDelay time.Duration) (*activities.Activities, *testsuite.TestActivityEnvironment, *testenv.Mailgun, string, string) {
	t.Helper()
	mg := testenv.NewMailgun()
	t.Cleanup(mg.Close)
	sender := mail.NewMailgun(mail.MailgunConfig{Domain: "mg.example.com", APIKey: "key-test", APIBase: mg.URL(),
		From: "help@mg.example.com", Timeout: time.Second, EventsDelay: eventsDelay})
	a, env, id := fixture(t, sender)
	inv, _ := db.InvitationByID(context.Background(), id)
	ct, _ := db.ContactByID(context.Background(), inv.ContactID)
	return a, env, mg, id, *ct.Email
}

func sendOnce(a *activities.Activities, env *testsuite.TestActivityEnvironment, id string) error {
	_, err := env.ExecuteActivity(a.SendInvitation, activities.SendInput{InvitationID: id, Generation: 1})
	return err
}

func emailStatus(t *testing.T, id string) *store.EmailLog {
	t.Helper()
	logs, err := db.EmailsFor(context.Background(), id)
	if err != nil || len(logs) != 1 {
		t.Fatalf("email log %+v %v", logs, err)
	}
	return &logs[0]
}

func TestHungMailgunSendIsConfirmedNotDuplicated(t *testing.T) {
	a, env, mg, id, to := mailgunFixture(t, 0)
	mg.Plan(testenv.Reply{HangAfterAccept: true})
	// Mailgun took the message but its answer never came: the attempt
	// fails as an unknown outcome and leaves the send claimed.
	if err := sendOnce(a, env, id); err == nil {
		t.Fatal("a hung send must fail its attempt")
	}
	if e := emailStatus(t, id); e.Status != store.EmailSending || e.Error == nil {
		t.Fatalf("after the hung call: %+v", e)
	}
	// The retry finds it among Mailgun's events and sends nothing more.
	if err := sendOnce(a, env, id); err != nil {
		t.Fatal(err)
	}
	if n := mg.Accepted()[to]; n != 1 {
		t.Fatalf("Mailgun accepted %d invites, want 1", n)
	}
	e := emailStatus(t, id)
	if e.Status != store.EmailSent || e.ProviderID == nil {
		t.Fatalf("after the confirmation: %+v", e)
	}
	if vars := mg.Variables(to); len(vars) != 1 || vars[0][mail.VarEmailID] == "" {
		t.Fatalf("message variables %v", vars)
	}
	inv, _ := db.InvitationByID(context.Background(), id)
	if inv.SendCount != 1 {
		t.Fatalf("send count %d", inv.SendCount)
	}
}

func TestInterruptedSendWaitsForMailgunsIndexBeforeJudging(t *testing.T) {
	a, env, mg, id, to := mailgunFixture(t, time.Minute)
	mg.SetIndexDelay(time.Hour)
	mg.Plan(testenv.Reply{HangAfterAccept: true})
	if err := sendOnce(a, env, id); err == nil {
		t.Fatal("a hung send must fail its attempt")
	}
	// Too early to tell: the retry is asked for later, with the delay.
	err := sendOnce(a, env, id)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeRetryLater || appErr.NextRetryDelay() <= 0 || appErr.NextRetryDelay() > time.Minute {
		t.Fatalf("want a retry later within the events delay, got %v", err)
	}
	if n := mg.Accepted()[to]; n != 1 {
		t.Fatalf("Mailgun accepted %d invites, want 1", n)
	}
}

func TestThrottledSendRetriesAfterRetryAfter(t *testing.T) {
	a, env, mg, id, to := mailgunFixture(t, 0)
	mg.Plan(testenv.Reply{Status: http.StatusTooManyRequests, Body: `{"message":"slow down"}`, Header: http.Header{"Retry-After": {"12"}}})
	err := sendOnce(a, env, id)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.NonRetryable() || appErr.NextRetryDelay() != 12*time.Second {
		t.Fatalf("want a retry in 12s, got %v", err)
	}
	if err := sendOnce(a, env, id); err != nil {
		t.Fatal(err)
	}
	if n := mg.Accepted()[to]; n != 1 {
		t.Fatalf("accepted %d", n)
	}
}

func TestMisconfiguredSenderRetriesAndNeverBlamesTheRecipient(t *testing.T) {
	a, env, mg, id, to := mailgunFixture(t, 0)
	mg.Plan(testenv.Reply{Status: http.StatusBadRequest, Body: `{"message":"'from' parameter is not a valid address. please check documentation"}`},
		testenv.Reply{Status: http.StatusUnauthorized, Body: `Forbidden`})
	for i := 0; i < 2; i++ {
		err := sendOnce(a, env, id)
		var appErr *temporal.ApplicationError
		if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
			t.Fatalf("attempt %d: want a retryable error, got %v", i, err)
		}
	}
	if err := sendOnce(a, env, id); err != nil {
		t.Fatal(err)
	}
	if n := mg.Accepted()[to]; n != 1 {
		t.Fatalf("accepted %d", n)
	}
	inv, _ := db.InvitationByID(context.Background(), id)
	if inv.Status != portal.InvitationPending {
		t.Fatalf("invitation %s", inv.Status)
	}
}

func TestSuppressedAddressGetsNoLinkAndNoNotice(t *testing.T) {
	sender := &countingSender{}
	a, env, id := fixture(t, sender)
	ctx := context.Background()
	inv, _ := db.InvitationByID(ctx, id)
	ct, _ := db.ContactByID(ctx, inv.ContactID)
	if _, err := db.Suppress(ctx, *ct.Email, portal.UndeliverableBounced, store.SuppressedByWebhook, "550 no such user"); err != nil {
		t.Fatal(err)
	}
	_, err := env.ExecuteActivity(a.SendInvitation, activities.SendInput{InvitationID: id, Generation: 1})
	var appErr *temporal.ApplicationError
	var reason portal.UndeliverableReason
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != activities.ErrTypeUndeliverable ||
		appErr.Details(&reason) != nil || reason != portal.UndeliverableBounced {
		t.Fatalf("want Undeliverable (bounced), got %v", err)
	}
	if _, err := db.DB.NewRaw(`UPDATE invitations SET status = 'accepted' WHERE id = ?`, id).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ExecuteActivity(a.SendWelcome, id); err != nil {
		t.Fatalf("a notice to a suppressed address is skipped, not failed: %v", err)
	}
	if len(sender.sent) != 0 {
		t.Fatalf("sent %d emails to a suppressed address", len(sender.sent))
	}
	// Lifted: email flows again.
	if _, err := db.LiftSuppression(ctx, *ct.Email, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ExecuteActivity(a.SendWelcome, id); err != nil || len(sender.sent) != 1 {
		t.Fatalf("after the lift: %v, %d sent", err, len(sender.sent))
	}
}

// TestAProvidersAnswerQuotingTheAddressLeavesItOutOfHistory: the error an
// activity returns becomes part of its workflow's history, so when the
// provider's refusal quotes the recipient (in any letter case), the error
// names it only as <recipient>, and still says what went wrong.
func TestAProvidersAnswerQuotingTheAddressLeavesItOutOfHistory(t *testing.T) {
	a, env, mg, id, to := mailgunFixture(t, 0)
	mg.Plan(testenv.Reply{Status: http.StatusBadRequest, Body: `{"message":"'to' parameter is not a valid address: ` + strings.ToUpper(to) + `"}`})
	err := sendOnce(a, env, id)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeUndeliverable {
		t.Fatalf("want Undeliverable, got %v", err)
	}
	if msg := strings.ToLower(err.Error()); strings.Contains(msg, strings.ToLower(to)) || !strings.Contains(msg, "<recipient>") {
		t.Fatalf("the refusal's error %q", err)
	}
}

// With a mail rate, an email asked for in a workflow task (a local
// activity) goes only on a turn the rate has earned back. Past it, the
// email is left to the mail task queue with nothing claimed, so the queue
// sends it as a first attempt; a send from the queue, which the queue
// paced, always goes and counts against the rate.
func TestMailRateLetsAWorkflowTaskSendOnlyWhileItHasRoom(t *testing.T) {
	sender := &countingSender{}
	a, env, id := fixture(t, sender)
	ctx := context.Background()
	// Two an hour: one turn every half hour.
	a.MailRate = portal.Rate{Count: 2, Per: 2 * time.Hour}
	t.Cleanup(func() {
		_, _ = db.DB.NewRaw(`DELETE FROM rate_limits WHERE scope = 'mail'`).Exec(ctx)
	})
	if _, err := env.ExecuteLocalActivity(a.SendInvitation, activities.SendInput{InvitationID: id, Generation: 1}); err != nil {
		t.Fatalf("the first email in a workflow task: %v", err)
	}
	if _, err := db.DB.NewRaw(`UPDATE invitations SET status = 'accepted' WHERE id = ?`, id).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// The bucket could hold a second send this hour, but a workflow task
	// takes no burst: only a turn earned back.
	_, err := env.ExecuteLocalActivity(a.SendWelcome, id)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeMailQueued || !appErr.NonRetryable() {
		t.Fatalf("the second email in a workflow task within the hour: want MailQueued, got %v", err)
	}
	if logs, _ := db.EmailsFor(ctx, id); len(logs) != 1 || len(sender.sent) != 1 {
		t.Fatalf("a queued email claimed or sent something: %d logged, %d sent", len(logs), len(sender.sent))
	}
	if _, err := env.ExecuteActivity(a.SendWelcome, id); err != nil {
		t.Fatalf("the welcome from the mail queue: %v", err)
	}
	if logs, _ := db.EmailsFor(ctx, id); len(logs) != 2 || len(sender.sent) != 2 {
		t.Fatalf("after the queue's send: %d logged, %d sent; want 2 and 2", len(logs), len(sender.sent))
	}
	// The queue's send counted: the next turn for a workflow task is two
	// hours out (one for each send), not one.
	ok, retry, err := db.TakeRate(ctx, "mail", []byte("mail"), portal.Rate{Count: 1, Per: time.Hour})
	if err != nil || ok {
		t.Fatalf("a turn was free after two sends: %v %v", ok, err)
	}
	if retry < 119*time.Minute || retry > 2*time.Hour {
		t.Fatalf("next turn in %v, want about 2h: the queue's send did not count", retry)
	}
}
