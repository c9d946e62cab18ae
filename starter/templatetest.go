package starter

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"

	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// TemplateTest starts the send of a recorded template test. The API
// answers once it is started; the email follows on the mail task queue.
func (s *Starter) TemplateTest(ctx context.Context, hc *store.HelpCenter, testID string) error {
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.TemplateTestWorkflowID(testID), TaskQueue: s.TaskQueue,
		StaticSummary: fmt.Sprintf("Test send of the invitation template of %s", hc.Slug),
		StaticDetails: helpCenterLine(hc) + "  \n**Test:** " + testID + " (row in `email_template_tests`)",
	}, workflows.TemplateTest, workflows.TemplateTestInput{TestID: testID, MailTaskQueue: s.MailTaskQueue})
	return err
}
