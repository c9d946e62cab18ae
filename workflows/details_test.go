package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
)

// A waiting invitation tells the Temporal UI where it stands: its state,
// the next timer and the last send.
func TestWaitingInvitationShowsStateNextTimerAndLastSend(t *testing.T) {
	h := newHarness(t)
	var details string
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow("__temporal_workflow_metadata")
		require.NoError(t, err)
		var md sdkpb.WorkflowMetadata
		require.NoError(t, v.Get(&md))
		details = md.GetCurrentDetails()
	}, day)
	h.run(defaultInput())

	require.Contains(t, details, "**State:** pending")
	require.Contains(t, details, "**Next timer:** reminder 1 at "+h.sends.start.Add(3*day).Format(time.RFC3339))
	require.Contains(t, details, "**Last send:** "+h.sends.start.Format(time.RFC3339)+" (link generation 1, 1 sends, 0 reminders)")
}
