package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/metrics"
	"github.com/portalaccess/portal/store"
)

// renderInvitation renders an invitation with the help center's template
// and, when that can't be rendered (stored before a rule it now breaks,
// or changed behind the API's back), with the default one: a template
// never costs a customer their invitation. The fallback is counted and
// recorded once per email (key) as an email_template.fell_back audit
// event naming why, so an admin can fix the template.
func (a *Activities) renderInvitation(ctx context.Context, hc *store.HelpCenter, invitationID, key string, d mail.Data, reminder bool) (mail.Message, error) {
	msg, err := mail.Invite(hc.EmailTemplate, d, reminder)
	if err == nil || hc.EmailTemplate == nil {
		return msg, err
	}
	activity.GetLogger(ctx).Warn("help center's invitation template can't be rendered; sending the default",
		"help_center", hc.Slug, "key", key, "error", err)
	ev := store.AuditEvent{Actor: portal.ActorSystem, Action: portal.AuditTemplateFellBack,
		Target: portal.Target("help_center", hc.ID), HelpCenterID: &hc.ID,
		Details: map[string]any{"invitation_id": invitationID, "reason": templateReason(err)}}
	if aerr := a.Store.AuditOnce(ctx, ev, key); aerr != nil {
		return mail.Message{}, aerr
	}
	if activity.GetInfo(ctx).Attempt <= 1 {
		metrics.TemplateFallbacks.Inc()
	}
	return mail.Invite(nil, d, reminder)
}

// templateReason is why a template could not be rendered, in the API's
// terms (the field and the rule).
func templateReason(err error) string {
	var te *portal.TemplateError
	if errors.As(err, &te) {
		return "email_template." + te.Error()
	}
	return err.Error()
}

// SendTemplateTest sends a recorded template test to the admin who asked
// for it: the template filled with sample data, from the help center's
// sender, "[Test]" before the subject. A template that can't be rendered
// was refused by the API; one that still can't is a business error, not
// something retrying fixes.
func (a *Activities) SendTemplateTest(ctx context.Context, testID string) error {
	test, err := a.Store.TemplateTestByID(ctx, testID)
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, nil)
	}
	if err != nil {
		return err
	}
	hc, err := a.Store.HelpCenterByID(ctx, test.HelpCenterID)
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotFound, nil)
	}
	if err != nil {
		return err
	}
	msg, err := mail.Invite(&test.Template, mail.SampleInvite(hc.Name, a.BaseURL, hc.Slug, test.Recipient, test.CreatedAt, hc.InvitePolicy), false)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("render template test: %v", err), "Template", nil)
	}
	msg.Kind, msg.Subject = portal.EmailTemplateTest, "[Test] "+msg.Subject
	msg.Sender = senderOf(hc)
	return a.deliver(ctx, "email-template-test/"+test.ID, "", msg, false)
}
