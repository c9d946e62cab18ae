package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/portalaccess/portal/activities"
)

// TemplateTestWorkflowID names one test send of a help center's
// invitation template.
func TemplateTestWorkflowID(testID string) string { return "email-template-test/" + testID }

// TemplateTestInput names a recorded test send (email_template_tests):
// the template and the address stay in Postgres, out of history.
type TemplateTestInput struct {
	TestID        string
	MailTaskQueue string
}

// TemplateTest sends an admin the invitation template they asked to see,
// through the invitations' own mail path: the mail task queue, its rate,
// the email log's idempotency key, the provider.
func TemplateTest(ctx workflow.Context, in TemplateTestInput) error {
	ctx = withActivityOptions(ctx)
	if in.MailTaskQueue != "" {
		ctx = workflow.WithTaskQueue(ctx, in.MailTaskQueue)
	}
	var a *activities.Activities
	return sendEmail(ctx, a.SendTemplateTest, in.TestID)
}
