package mail

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/mailgun/mailgun-go/v4"
)

// Mailgun sends through the Mailgun API.
type Mailgun struct {
	mg   *mailgun.MailgunImpl
	from string
}

var versionSuffix = regexp.MustCompile(`/v[1-4]$`)

// NewMailgun returns a sender for domain. apiBase selects the region, for
// example https://api.eu.mailgun.net; a missing /v3 suffix is added.
func NewMailgun(domain, apiKey, apiBase, from string) *Mailgun {
	mg := mailgun.NewMailgun(domain, apiKey)
	if apiBase != "" {
		apiBase = strings.TrimRight(apiBase, "/")
		if !versionSuffix.MatchString(apiBase) {
			apiBase += "/v3"
		}
		mg.SetAPIBase(apiBase)
	}
	return &Mailgun{mg: mg, from: from}
}

// Send implements Sender.
func (s *Mailgun) Send(ctx context.Context, m Message) (string, error) {
	msg := mailgun.NewMessage(s.from, m.Subject, m.Text, m.To)
	if m.HTML != "" {
		msg.SetHTML(m.HTML)
	}
	if m.Kind != "" {
		if err := msg.AddTag(string(m.Kind)); err != nil {
			return "", fmt.Errorf("tag message: %w", err)
		}
	}
	_, id, err := s.mg.Send(ctx, msg)
	if err != nil {
		// Only a refused message (400: a bad address or content) fails the
		// same way every time. 401, 403 and 404 mean our key or domain is
		// wrong: a configuration error that a fix will cure, so retry.
		if status := mailgun.GetStatusFromErr(err); status == http.StatusBadRequest {
			return "", fmt.Errorf("mailgun: %w (HTTP %d)", ErrRejected, status)
		}
		return "", fmt.Errorf("mailgun: %w", err)
	}
	return strings.Trim(id, "<>"), nil
}
