package workflows

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/portalaccess/portal"
)

func TestPolicyDurationsReadAsTextInWorkflowInputs(t *testing.T) {
	b, err := json.Marshal(PolicyFrom(portal.DefaultInvitePolicy()))
	require.NoError(t, err)
	require.JSONEq(t, `{"Reminders":["72h","144h"],"LinkLifetime":"168h","AutoReinvites":1}`, string(b))
}

func TestPolicyFromOlderHistoriesInNanosecondsStillDecodes(t *testing.T) {
	var p Policy
	require.NoError(t, json.Unmarshal([]byte(`{"Reminders":[259200000000000],"LinkLifetime":604800000000000,"AutoReinvites":1}`), &p))
	require.Equal(t, []Duration{Duration(72 * time.Hour)}, p.Reminders)
	require.Equal(t, 7*24*time.Hour, p.LinkLifetime.Std())
}

func TestDurationTextRoundTripsAndRefusesNonsense(t *testing.T) {
	for _, d := range []time.Duration{0, 90 * time.Minute, 72 * time.Hour, 1500 * time.Millisecond} {
		b, err := json.Marshal(Duration(d))
		require.NoError(t, err)
		var back Duration
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, d, back.Std(), string(b))
	}
	var d Duration
	require.Error(t, json.Unmarshal([]byte(`"three days"`), &d))
	require.Error(t, json.Unmarshal([]byte(`true`), &d))
}

func TestSignupAndResetInputsShowDurationsAsText(t *testing.T) {
	b, err := json.Marshal(SignupInput{LinkLifetime: Duration(DefaultSignupLinkLifetime), ApprovalTimeout: Duration(DefaultApprovalTimeout),
		ResendInterval: Duration(DefaultSignupResendInterval)})
	require.NoError(t, err)
	require.Contains(t, string(b), `"LinkLifetime":"168h"`)
	require.Contains(t, string(b), `"ApprovalTimeout":"720h"`)
	require.Contains(t, string(b), `"ResendInterval":"5m"`)
	b, err = json.Marshal(PasswordResetInput{LinkLifetime: Duration(time.Hour), EmailInterval: Duration(time.Minute)})
	require.NoError(t, err)
	require.Contains(t, string(b), `"LinkLifetime":"1h","EmailInterval":"1m"`)
}

// olderInput is InvitationInput's policy as versions before text
// durations declared it.
type olderInput struct {
	Policy struct {
		Reminders     []time.Duration
		LinkLifetime  time.Duration
		AutoReinvites int
	}
}

// During a rolling deploy from a version before text durations, this one
// writes nanoseconds (WORKFLOW_DURATIONS=nanoseconds), which the older
// workers decode; text is what they could not.
func TestDurationsWrittenAsNanosecondsAreReadByOlderVersions(t *testing.T) {
	in := InvitationInput{Policy: PolicyFrom(portal.DefaultInvitePolicy())}

	text, err := json.Marshal(in)
	require.NoError(t, err)
	var old olderInput
	require.Error(t, json.Unmarshal(text, &old), "an older worker would have read %s", text)

	WriteDurationsAsNanoseconds(true)
	defer WriteDurationsAsNanoseconds(false)
	numbers, err := json.Marshal(in)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(numbers, &old))
	require.Equal(t, []time.Duration{72 * time.Hour, 144 * time.Hour}, old.Policy.Reminders)
	require.Equal(t, 168*time.Hour, old.Policy.LinkLifetime)

	var back InvitationInput
	require.NoError(t, json.Unmarshal(numbers, &back))
	require.Equal(t, in.Policy, back.Policy)
}
