package activities_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailgun/mailgun-go/v4"
	"github.com/mailgun/mailgun-go/v4/events"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/activities"
	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/testenv"
)

var db *store.Store

func TestMain(m *testing.M) {
	url, drop, err := testenv.Database(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	db = store.Open(url)
	code := m.Run()
	if err := db.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	drop()
	os.Exit(code)
}

// countingSender records what it is asked to send; fail makes the next
// sends fail with the given error.
type countingSender struct {
	mu   sync.Mutex
	sent []mail.Message
	fail error
}

func (s *countingSender) Send(_ context.Context, m mail.Message) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return "", s.fail
	}
	s.sent = append(s.sent, m)
	return fmt.Sprintf("id-%d", len(s.sent)), nil
}

var seq int

// fixture records a pending invitation with a current link and returns
// the activities and the invitation's ID.
func fixture(t *testing.T, sender mail.Sender) (*activities.Activities, *testsuite.TestActivityEnvironment, string) {
	t.Helper()
	ctx := context.Background()
	seq++
	hc := &store.HelpCenter{Slug: fmt.Sprintf("act-%d-%d", time.Now().UnixNano()%1e6, seq), Name: "Acme", UserBase: "unique", InvitePolicy: portal.DefaultInvitePolicy()}
	if err := db.CreateHelpCenter(ctx, hc); err != nil {
		t.Fatal(err)
	}
	email := fmt.Sprintf("%s@example.com", hc.Slug)
	ct := &store.Contact{Email: &email, Name: "Ada", Verified: true}
	if err := db.CreateContact(ctx, ct); err != nil {
		t.Fatal(err)
	}
	tokens, _ := credentials.NewTokens([]byte(strings.Repeat("k", 32)))
	a := &activities.Activities{Store: db, Mail: sender, Tokens: tokens, BaseURL: "https://portal.example.com"}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", time.Now().UnixNano()%1e12)
	// The first link is issued with the record, as new invitations do;
	// run twice, as a retried local activity would be.
	for range 2 {
		if _, err := env.ExecuteActivity(a.RecordInvitation, activities.RecordInput{InvitationID: id, WorkflowID: "wf-" + id, HelpCenterID: hc.ID, ContactID: ct.ID,
			FirstLink: &activities.IssueInput{InvitationID: id, Generation: 1, ExpiresAt: time.Now().Add(7 * 24 * time.Hour)}}); err != nil {
			t.Fatal(err)
		}
	}
	return a, env, id
}

// TestRecordIssuesTheFirstLinkOnce: the record with the first link
// leaves the invitation pending with generation 1 and its token on
// record, and the same link issued again (an invitation started before
// the two steps were one) changes nothing.
func TestRecordIssuesTheFirstLinkOnce(t *testing.T) {
	a, env, id := fixture(t, &countingSender{})
	inv, err := db.InvitationByID(context.Background(), id)
	if err != nil || inv.Status != portal.InvitationPending || inv.TokenGeneration != 1 {
		t.Fatalf("after the record: %+v %v", inv, err)
	}
	token := a.Tokens.Invitation(id, 1)
	if _, err := env.ExecuteActivity(a.IssueToken, activities.IssueInput{InvitationID: id, Generation: 1, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	found, gen, err := db.InvitationByToken(context.Background(), credentials.Hash(token))
	if err != nil || found.ID != id || gen != 1 {
		t.Fatalf("the first link does not find the invitation: %v %d", err, gen)
	}
}

func TestSendInvitationRetryNeverSendsTwice(t *testing.T) {
	sender := &countingSender{}
	a, env, id := fixture(t, sender)
	for i := 0; i < 3; i++ {
		if _, err := env.ExecuteActivity(a.SendInvitation, activities.SendInput{InvitationID: id, Generation: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if len(sender.sent) != 1 {
		t.Fatalf("sent %d times, want 1", len(sender.sent))
	}
	inv, _ := db.InvitationByID(context.Background(), id)
	if inv.SendCount != 1 || inv.LastSentAt == nil {
		t.Fatalf("send count %d", inv.SendCount)
	}
	// The link in the email is the one whose hash is on record.
	token := strings.TrimPrefix(sender.sent[0].Text[strings.Index(sender.sent[0].Text, "token="):], "token=")
	token = strings.Fields(token)[0]
	found, gen, err := db.InvitationByToken(context.Background(), credentials.Hash(token))
	if err != nil || found.ID != id || gen != 1 {
		t.Fatalf("token from the email does not find the invitation: %v", err)
	}
	// A reminder is a different email with the same link.
	if _, err := env.ExecuteActivity(a.SendInvitation, activities.SendInput{InvitationID: id, Generation: 1, Reminder: 1}); err != nil {
		t.Fatal(err)
	}
	if len(sender.sent) != 2 || sender.sent[1].Kind != portal.EmailReminder || !strings.Contains(sender.sent[1].Text, token) {
		t.Fatalf("reminder %+v", sender.sent)
	}
	inv, _ = db.InvitationByID(context.Background(), id)
	if inv.SendCount != 1 {
		t.Fatalf("a reminder counted as an invite send: %d", inv.SendCount)
	}
}

func TestSendAfterProviderFailureRetriesAndSendsOnce(t *testing.T) {
	sender := &countingSender{fail: errors.New("connection reset")}
	a, env, id := fixture(t, sender)
	if _, err := env.ExecuteActivity(a.SendInvitation, activities.SendInput{InvitationID: id, Generation: 1}); err == nil {
		t.Fatal("a failed send must fail the attempt so Temporal retries it")
	}
	sender.fail = nil
	if _, err := env.ExecuteActivity(a.SendInvitation, activities.SendInput{InvitationID: id, Generation: 1}); err != nil {
		t.Fatal(err)
	}
	if len(sender.sent) != 1 {
		t.Fatalf("sent %d, want 1", len(sender.sent))
	}
}

func TestInterruptedLinkIsSentAgainAndInterruptedNoticeIsNot(t *testing.T) {
	sender := &countingSender{}
	a, env, id := fixture(t, sender)
	ctx := context.Background()
	// A worker died after claiming each send, and the provider can't be
	// asked. The invite carries the link the customer needs: at least
	// once, so it goes out again. The welcome is a notice: at most once.
	for _, key := range []string{"invitation/" + id + "/invite/1", "invitation/" + id + "/welcome"} {
		if _, _, err := db.ClaimEmail(ctx, &store.EmailLog{IdempotencyKey: key, Kind: "invite", Recipient: "x", InvitationID: &id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.ExecuteActivity(a.SendInvitation, activities.SendInput{InvitationID: id, Generation: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DB.NewRaw(`UPDATE invitations SET status = 'accepted' WHERE id = ?`, id).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ExecuteActivity(a.SendWelcome, id); err != nil {
		t.Fatal(err)
	}
	if len(sender.sent) != 1 || sender.sent[0].Kind != portal.EmailInvite {
		t.Fatalf("sent %+v, want the invite alone", sender.sent)
	}
	logs, _ := db.EmailsFor(ctx, id)
	got := map[string]string{}
	for _, l := range logs {
		got[l.IdempotencyKey] = l.Status
	}
	if got["invitation/"+id+"/invite/1"] != store.EmailSent || got["invitation/"+id+"/welcome"] != store.EmailUnconfirmed {
		t.Fatalf("email log %v", got)
	}
}

func TestRejectedAddressIsNotRetried(t *testing.T) {
	sender := &countingSender{fail: fmt.Errorf("mailgun: %w", mail.ErrRejected)}
	a, env, id := fixture(t, sender)
	_, err := env.ExecuteActivity(a.SendInvitation, activities.SendInput{InvitationID: id, Generation: 1})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != activities.ErrTypeUndeliverable {
		t.Fatalf("want a non-retryable Undeliverable error, got %v", err)
	}
}

func TestSendForReplacedLinkIsSkipped(t *testing.T) {
	sender := &countingSender{}
	a, env, id := fixture(t, sender)
	if _, err := env.ExecuteActivity(a.IssueToken, activities.IssueInput{InvitationID: id, Generation: 2, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ExecuteActivity(a.SendInvitation, activities.SendInput{InvitationID: id, Generation: 1, Reminder: 2}); err != nil {
		t.Fatal(err)
	}
	if len(sender.sent) != 0 {
		t.Fatal("sent a reminder with a dead link")
	}
}

func TestAcceptAppliesStagedPasswordOnce(t *testing.T) {
	a, env, id := fixture(t, &countingSender{})
	ctx := context.Background()
	hash, _ := credentials.HashPassword("correct-horse-1")
	if err := db.StageCredential(ctx, "11111111-1111-4111-8111-111111111111", id, hash); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := env.ExecuteActivity(a.AcceptInvitation, activities.AcceptInput{InvitationID: id, StageID: "11111111-1111-4111-8111-111111111111"}); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	inv, _ := db.InvitationByID(ctx, id)
	if inv.Status != portal.InvitationAccepted {
		t.Fatalf("status %s", inv.Status)
	}
	hc, _ := db.HelpCenterBySlug(ctx, inv.HelpCenterSlug)
	ct, _ := db.ContactByID(ctx, inv.ContactID)
	login, err := db.LoginFor(ctx, hc, *ct.Email)
	if err != nil || login.Status != portal.AccessActive {
		t.Fatalf("login %+v %v", login, err)
	}
	if ok, _ := credentials.CheckPassword(*login.PasswordHash, "correct-horse-1"); !ok {
		t.Fatal("staged password not applied")
	}
	var staged int
	_ = db.DB.NewRaw(`SELECT count(*) FROM credential_stages WHERE invitation_id = ?`, id).Scan(ctx, &staged)
	if staged != 0 {
		t.Fatal("staged password left behind")
	}
}

func TestInvitationThroughMailgunMockServer(t *testing.T) {
	srv := mailgun.NewMockServer()
	defer srv.Stop()
	sender := mail.NewMailgun(mail.MailgunConfig{Domain: "mg.example.com", APIKey: "key-test", APIBase: srv.URL(), From: "help@mg.example.com"})
	a, env, id := fixture(t, sender)
	for i := 0; i < 2; i++ {
		if _, err := env.ExecuteActivity(a.SendInvitation, activities.SendInput{InvitationID: id, Generation: 1}); err != nil {
			t.Fatal(err)
		}
	}
	inv, _ := db.InvitationByID(context.Background(), id)
	ct, _ := db.ContactByID(context.Background(), inv.ContactID)
	accepted := 0
	for _, ev := range srv.Events() {
		if acc, ok := ev.(*events.Accepted); ok && acc.Recipient == *ct.Email {
			accepted++
		}
	}
	if accepted != 1 {
		t.Fatalf("mailgun accepted %d messages, want 1", accepted)
	}
	logs, _ := db.EmailsFor(context.Background(), id)
	if len(logs) != 1 || logs[0].Status != store.EmailSent || logs[0].ProviderID == nil || *logs[0].ProviderID == "" {
		t.Fatalf("email log %+v", logs)
	}
}

func TestInterruptedSendIsConfirmedWithTheOutbox(t *testing.T) {
	outbox := &mail.Outbox{Store: db}
	a, env, id := fixture(t, outbox)
	ctx := context.Background()
	key := "invitation/" + id + "/invite/1"
	inv, _ := db.InvitationByID(ctx, id)
	ct, _ := db.ContactByID(ctx, inv.ContactID)
	// The worker died after claiming the send and before the provider got
	// it: the retry asks the outbox, learns it never arrived, and sends.
	if _, _, err := db.ClaimEmail(ctx, &store.EmailLog{IdempotencyKey: key, Kind: "invite", Recipient: *ct.Email, InvitationID: &id}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ExecuteActivity(a.SendInvitation, activities.SendInput{InvitationID: id, Generation: 1}); err != nil {
		t.Fatal(err)
	}
	// The same for the reminder, but this time the provider had it.
	rkey := key + "/reminder/1"
	if _, _, err := db.ClaimEmail(ctx, &store.EmailLog{IdempotencyKey: rkey, Kind: "reminder", Recipient: *ct.Email, InvitationID: &id}); err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.Send(ctx, mail.Message{To: *ct.Email, Subject: "s", Kind: portal.EmailReminder, IdempotencyKey: rkey}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ExecuteActivity(a.SendInvitation, activities.SendInput{InvitationID: id, Generation: 1, Reminder: 1}); err != nil {
		t.Fatal(err)
	}
	page, _ := db.ListOutbox(ctx, *ct.Email, "", 10)
	msgs := page.Items
	if len(msgs) != 2 {
		t.Fatalf("%d outbox messages, want one invite and one reminder", len(msgs))
	}
	logs, _ := db.EmailsFor(ctx, id)
	for _, l := range logs {
		if l.Status != store.EmailSent {
			t.Fatalf("email %s is %s, want sent", l.IdempotencyKey, l.Status)
		}
	}
	inv, _ = db.InvitationByID(ctx, id)
	if inv.SendCount != 1 {
		t.Fatalf("send count %d", inv.SendCount)
	}
}

func TestAcceptOrGrantAfterAnAdminDecisionWithdrawsTheInvitation(t *testing.T) {
	for _, status := range []portal.AccessStatus{portal.AccessDeactivated, portal.AccessRejected, portal.AccessPendingApproval} {
		for _, grant := range []bool{false, true} {
			a, env, id := fixture(t, &countingSender{})
			ctx := context.Background()
			inv, _ := db.InvitationByID(ctx, id)
			// The decision committed between recording the invitation and
			// completing it.
			if _, err := db.DB.NewRaw(`UPDATE portal_access SET status = ?
				WHERE help_center_id = ? AND account_id = (SELECT id FROM portal_accounts WHERE contact_id = ?)`, status, inv.HelpCenterID, inv.ContactID).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			var err error
			if grant {
				_, err = env.ExecuteActivity(a.GrantAccess, id)
			} else {
				hash, _ := credentials.HashPassword("correct-horse-1")
				stage := fmt.Sprintf("00000000-0000-4000-9000-%012d", time.Now().UnixNano()%1e12)
				if err := db.StageCredential(ctx, stage, id, hash); err != nil {
					t.Fatal(err)
				}
				_, err = env.ExecuteActivity(a.AcceptInvitation, activities.AcceptInput{InvitationID: id, StageID: stage})
			}
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeNotPending || !appErr.NonRetryable() {
				t.Fatalf("%s (grant=%v): want a non-retryable NotPending error, got %v", status, grant, err)
			}
			inv, _ = db.InvitationByID(ctx, id)
			hc, _ := db.HelpCenterByID(ctx, inv.HelpCenterID)
			got, _ := db.AccessStatus(ctx, inv.ContactID, hc)
			if inv.Status != portal.InvitationRevoked || got != status {
				t.Fatalf("%s (grant=%v): invitation %s, access %s", status, grant, inv.Status, got)
			}
		}
	}
}

func TestRetriedDeactivationGetsItsChangeBack(t *testing.T) {
	_, _, id := fixture(t, &countingSender{})
	ctx := context.Background()
	inv, _ := db.InvitationByID(ctx, id)
	var account int64
	if err := db.DB.NewRaw(`SELECT id FROM portal_accounts WHERE contact_id = ?`, inv.ContactID).Scan(ctx, &account); err != nil {
		t.Fatal(err)
	}
	first, err := db.SetAccess(ctx, inv.HelpCenterID, account, portal.ActionDeactivate, "req-1")
	if err != nil || !first.Changed || first.PendingInvitation == "" {
		t.Fatalf("first: %+v %v", first, err)
	}
	// The same request again (a retry after its commit): same change.
	retry, err := db.SetAccess(ctx, inv.HelpCenterID, account, portal.ActionDeactivate, "req-1")
	if err != nil || !retry.Changed || retry.Seq != first.Seq || retry.Previous != first.Previous || retry.PendingInvitation != first.PendingInvitation {
		t.Fatalf("retry: %+v vs %+v (%v)", retry, first, err)
	}
	// Another request: nothing to change.
	repeat, err := db.SetAccess(ctx, inv.HelpCenterID, account, portal.ActionDeactivate, "req-2")
	if err != nil || repeat.Changed {
		t.Fatalf("repeat: %+v %v", repeat, err)
	}
}

func TestInvitationAfterADeactivationIsRecordedAsRevoked(t *testing.T) {
	a, env, id := fixture(t, &countingSender{})
	ctx := context.Background()
	inv, _ := db.InvitationByID(ctx, id)
	if _, err := db.DB.NewRaw(`UPDATE portal_access SET status = 'deactivated'
		WHERE help_center_id = ? AND account_id = (SELECT id FROM portal_accounts WHERE contact_id = ?)`, inv.HelpCenterID, inv.ContactID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// A bulk job read the contact before the deactivation and starts an
	// invitation after it.
	next := "11111111-2222-4333-8444-555555555555"
	v, err := env.ExecuteActivity(a.RecordInvitation, activities.RecordInput{InvitationID: next, WorkflowID: "wf-late", HelpCenterID: inv.HelpCenterID, ContactID: inv.ContactID})
	if err != nil {
		t.Fatal(err)
	}
	var rec activities.RecordResult
	_ = v.Get(&rec)
	late, _ := db.InvitationByID(ctx, next)
	if !rec.Blocked || late.Status != portal.InvitationRevoked {
		t.Fatalf("late invitation: blocked=%v status=%s", rec.Blocked, late.Status)
	}
}
