package mail_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/testenv"
)

func mailgunSender(t *testing.T, eventsDelay time.Duration) (*mail.Mailgun, *testenv.Mailgun) {
	t.Helper()
	mg := testenv.NewMailgun()
	t.Cleanup(mg.Close)
	return mail.NewMailgun(mail.MailgunConfig{Domain: "mg.example.com", APIKey: "key-test", APIBase: mg.URL(),
		From: "Acme Help <help@mg.example.com>", Timeout: time.Second, EventsDelay: eventsDelay}), mg
}

func TestMailgunSendCarriesTheEmailIDAndAMessageIDDerivedFromTheKey(t *testing.T) {
	s, mg := mailgunSender(t, 0)
	msg, err := mail.Invite(nil, mail.Data{HelpCenter: "Acme", Name: "Ada", Email: "ada@example.com", Link: "https://h/accept?token=abc", ExpiresAt: "soon"}, false)
	if err != nil {
		t.Fatal(err)
	}
	msg.IdempotencyKey, msg.EmailID = "invitation/x/invite/1", 42
	id, err := s.Send(context.Background(), msg)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if id == "" || strings.ContainsAny(id, "<>") {
		t.Fatalf("provider id %q", id)
	}
	vars, headers := mg.Variables("ada@example.com"), mg.Headers("ada@example.com")
	if len(vars) != 1 || vars[0][mail.VarEmailID] != "42" {
		t.Fatalf("user variables %v", vars)
	}
	want := "<" + mail.MessageID("invitation/x/invite/1", "mg.example.com") + ">"
	if headers[0]["Message-Id"] != want || mail.MessageID("invitation/x/invite/1", "d") == mail.MessageID("invitation/x/invite/2", "d") {
		t.Fatalf("Message-Id %q, want %q, one per key", headers[0]["Message-Id"], want)
	}
}

func TestMailgunClassifiesRefusalsByStatusAndBody(t *testing.T) {
	for _, c := range []struct {
		name   string
		reply  testenv.Reply
		to     string
		want   error
		reason string
	}{
		{name: "mock refuses an unparseable address", to: "not an address", want: mail.ErrRejected},
		{name: "bad recipient", reply: testenv.Reply{Status: 400, Body: `{"message": "'to' parameter is not a valid address. please check documentation"}`}, want: mail.ErrRejected},
		{name: "bad sender", reply: testenv.Reply{Status: 400, Body: `{"message": "'from' parameter is not a valid address. please check documentation"}`}, want: mail.ErrConfiguration},
		{name: "sandbox domain", reply: testenv.Reply{Status: 400, Body: `{"message": "Sandbox subdomains are for test purposes only. Please add your own domain or add the address to authorized recipients in Account Settings."}`}, want: mail.ErrConfiguration},
		{name: "unknown 400", reply: testenv.Reply{Status: 400, Body: `{"message": "something new"}`}, want: mail.ErrConfiguration},
		{name: "wrong key", reply: testenv.Reply{Status: 401, Body: `Forbidden`}, want: mail.ErrConfiguration},
		{name: "wrong domain", reply: testenv.Reply{Status: 404, Body: `{"message": "Domain not found: mg.example.com"}`}, want: mail.ErrConfiguration},
		{name: "server error", reply: testenv.Reply{Status: 502, Body: `bad gateway`}, want: mail.ErrUnknownOutcome},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, mg := mailgunSender(t, 0)
			if c.reply.Status != 0 {
				mg.Plan(c.reply)
			}
			to := c.to
			if to == "" {
				to = "ada@example.com"
			}
			_, err := s.Send(context.Background(), mail.Message{To: to, Subject: "x", Text: "x", Kind: portal.EmailInvite})
			if !errors.Is(err, c.want) {
				t.Fatalf("want %v, got %v", c.want, err)
			}
			for _, other := range []error{mail.ErrRejected, mail.ErrConfiguration, mail.ErrUnknownOutcome} {
				if errors.Is(err, other) && !errors.Is(c.want, other) {
					t.Fatalf("%v is also %v", err, other)
				}
			}
		})
	}
}

func TestMailgunThrottleHonoursRetryAfter(t *testing.T) {
	s, mg := mailgunSender(t, 0)
	mg.Plan(testenv.Reply{Status: http.StatusTooManyRequests, Body: `{"message": "too many requests"}`, Header: http.Header{"Retry-After": {"7"}}})
	_, err := s.Send(context.Background(), mail.Message{To: "ada@example.com", Subject: "x", Text: "x"})
	var later *mail.RetryLaterError
	if !errors.As(err, &later) || later.After != 7*time.Second {
		t.Fatalf("want a retry in 7s, got %v", err)
	}
	if n := mg.Accepted()["ada@example.com"]; n != 0 {
		t.Fatalf("a throttled message was accepted %d times", n)
	}
}

func TestMailgunHungCallTimesOutAndIsConfirmedNotRepeated(t *testing.T) {
	s, mg := mailgunSender(t, 0)
	mg.Plan(testenv.Reply{HangAfterAccept: true})
	msg := mail.Message{To: "ada@example.com", Subject: "x", Text: "x", Kind: portal.EmailInvite, IdempotencyKey: "k/1", EmailID: 7}
	since := time.Now()
	start := time.Now()
	_, err := s.Send(context.Background(), msg)
	if !errors.Is(err, mail.ErrUnknownOutcome) {
		t.Fatalf("want an unknown outcome, got %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the hung call held the sender %s", took)
	}
	id, ok, err := s.Accepted(context.Background(), msg, since)
	if err != nil || !ok || id == "" {
		t.Fatalf("confirmation: %q %v %v", id, ok, err)
	}
	other := msg
	other.IdempotencyKey, other.EmailID = "k/2", 8
	if _, ok, err := s.Accepted(context.Background(), other, since); err != nil || ok {
		t.Fatalf("a message never sent was confirmed: %v %v", ok, err)
	}
	if n := mg.Accepted()["ada@example.com"]; n != 1 {
		t.Fatalf("accepted %d times, want 1", n)
	}
}

func TestMailgunConfirmationWaitsForEventsIndexedLate(t *testing.T) {
	s, mg := mailgunSender(t, 2*time.Second)
	mg.SetIndexDelay(time.Hour)
	msg := mail.Message{To: "ada@example.com", Subject: "x", Text: "x", Kind: portal.EmailInvite, IdempotencyKey: "k/1", EmailID: 9}
	since := time.Now()
	if _, err := s.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	// Not yet indexed, and too early to judge: ask again later.
	_, ok, err := s.Accepted(context.Background(), msg, since)
	var later *mail.RetryLaterError
	if ok || !errors.As(err, &later) || later.After <= 0 || later.After > 2*time.Second {
		t.Fatalf("want a retry within the events delay, got %v %v", ok, err)
	}
	// Indexed now: the attempt that began 3 s ago is confirmed.
	mg.SetIndexDelay(0)
	if _, ok, err := s.Accepted(context.Background(), msg, since.Add(-3*time.Second)); err != nil || !ok {
		t.Fatalf("confirmation after indexing: %v %v", ok, err)
	}
}
