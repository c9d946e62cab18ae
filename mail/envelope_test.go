package mail_test

import (
	"context"
	"testing"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/testenv"
)

func TestTokenMessagesGoUntrackedFromTheHelpCenterWithItsReplyTo(t *testing.T) {
	mg := testenv.NewMailgunRecorder()
	defer mg.Close()
	s := mail.NewMailgun(mail.MailgunConfig{Domain: "mg.example.com", APIKey: "key-test", APIBase: mg.URL(), From: "Help Center <no-reply@mg.example.com>"})
	sender := portal.Sender{Name: "Acme Support", ReplyTo: "support@acme.example"}

	invite, err := mail.Invite(nil, mail.Data{HelpCenter: "Acme", Email: "ada@example.com", Link: "https://h/accept?token=t"}, false)
	if err != nil {
		t.Fatal(err)
	}
	invite.Sender = sender
	invite.Headers = map[string]string{"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
	welcome, err := mail.Welcome(mail.Data{HelpCenter: "Acme", Email: "bo@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	welcome.Sender = portal.Sender{Name: "Åcme Support", Address: "acme@mg.example.com"}
	for _, m := range []mail.Message{invite, welcome} {
		if _, err := s.Send(context.Background(), m); err != nil {
			t.Fatalf("send %s: %v", m.Kind, err)
		}
	}

	sent := mg.Sent("ada@example.com")
	if len(sent) != 1 {
		t.Fatalf("%d requests to ada", len(sent))
	}
	got := sent[0]
	for field, want := range map[string]string{
		"from": `"Acme Support" <no-reply@mg.example.com>`, "h:Reply-To": "support@acme.example",
		"o:tracking": "no", "o:tracking-clicks": "no", "o:tracking-opens": "no",
		"h:List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	} {
		if got.Get(field) != want {
			t.Errorf("%s = %q, want %q", field, got.Get(field), want)
		}
	}
	// A message without a token keeps the domain's tracking setting, and
	// a name outside ASCII is encoded rather than sent raw.
	w := mg.Sent("bo@example.com")
	if len(w) != 1 {
		t.Fatalf("%d requests to bo", len(w))
	}
	for _, opt := range []string{"o:tracking", "o:tracking-clicks", "o:tracking-opens", "h:Reply-To"} {
		if _, ok := w[0][opt]; ok {
			t.Errorf("welcome email sets %s", opt)
		}
	}
	if from := w[0].Get("from"); from != "=?utf-8?q?=C3=85cme_Support?= <acme@mg.example.com>" {
		t.Errorf("welcome from %q", from)
	}
}

func TestEveryKindWithATokenIsUntracked(t *testing.T) {
	for _, kind := range []portal.EmailKind{portal.EmailInvite, portal.EmailReminder, portal.EmailSignupVerify, portal.EmailPasswordReset} {
		var m mail.Message
		var err error
		switch kind {
		case portal.EmailInvite, portal.EmailReminder:
			m, err = mail.Invite(nil, mail.Data{Link: "https://h/x?token=t"}, kind == portal.EmailReminder)
		default:
			m, err = mail.Notice(kind, mail.Data{Link: "https://h/x?token=t"})
		}
		if err != nil || !m.Untracked || m.Kind != kind {
			t.Errorf("%s: untracked=%v kind=%s err=%v", kind, m.Untracked, m.Kind, err)
		}
	}
	for _, kind := range []portal.EmailKind{portal.EmailPasswordChanged, portal.EmailDeactivated} {
		if m, _ := mail.Notice(kind, mail.Data{}); m.Untracked {
			t.Errorf("%s is untracked", kind)
		}
	}
}

func TestFromKeepsTheInstallationAddressUnlessTheHelpCenterHasOne(t *testing.T) {
	for _, c := range []struct {
		s    portal.Sender
		want string
	}{
		{portal.Sender{}, `"Help Center" <no-reply@mg.example.com>`},
		{portal.Sender{Name: "Acme \"Support\""}, `"Acme \"Support\"" <no-reply@mg.example.com>`},
		{portal.Sender{Name: "Acme", Address: "acme@mg.example.com"}, `"Acme" <acme@mg.example.com>`},
	} {
		got, err := mail.From(mail.Message{Sender: c.s}, "Help Center <no-reply@mg.example.com>")
		if err != nil || got != c.want {
			t.Errorf("From(%+v) = %q, %v; want %q", c.s, got, err, c.want)
		}
	}
}
