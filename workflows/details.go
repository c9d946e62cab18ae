package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"
)

// Current details are what the Temporal UI shows on a workflow's page
// beside its static summary: where a waiting invitation stands and what
// it does next, so an operator needn't read the history. They are
// metadata, not commands: setting them changes no history and replays
// alike.

// showWaiting describes a pending invitation as it starts to wait for at.
func (w *invitation) showWaiting(ctx workflow.Context, at time.Time, reminderDue bool) {
	next := "link expires"
	switch {
	case reminderDue:
		next = fmt.Sprintf("reminder %d", w.state.RemindersSent+1)
	case w.state.ReinvitesUsed < w.in.Policy.AutoReinvites:
		next = fmt.Sprintf("link expires; automatic re-invite %d of %d", w.state.ReinvitesUsed+1, w.in.Policy.AutoReinvites)
	}
	last := "none yet"
	if !w.state.LastSentAt.IsZero() {
		last = w.state.LastSentAt.UTC().Format(time.RFC3339)
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf(
		"**State:** %s, waiting for the customer  \n**Next timer:** %s at %s  \n**Last send:** %s (link generation %d, %d sends, %d reminders)",
		w.state.Status, next, at.UTC().Format(time.RFC3339), last, w.state.Generation, w.state.SendCount, w.state.RemindersSent))
}
