package workflows

import (
	"bytes"
	"os"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// invitationCost reads a recorded history, checks the current code replays
// it (so its shape is what this code writes), and counts its cost.
func invitationCost(t *testing.T, name string) Cost {
	t.Helper()
	path := "testdata/" + name + ".json"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := client.HistoryFromJSON(bytes.NewReader(raw), client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := worker.NewWorkflowReplayer()
	Register(r)
	if err := r.ReplayWorkflowHistory(nil, h); err != nil {
		t.Fatalf("replay %s: %v", path, err)
	}
	return HistoryCost(h)
}

// The actions an invitation bills, before actionsChange (v6, recorded on
// the code without it) and after (v7): an invitation accepted after its
// first email, and one reminded, re-invited, reminded again and expired.
// The v7 histories replay exactly against this code, so a change that
// adds a command to either path fails here or in the replay; one behind a
// new version must record a new history, and these bounds hold it.
func TestInvitationCost(t *testing.T) {
	for _, c := range []struct {
		name            string
		events, actions int
		upserts         int
	}{
		{"invitation_accepted_v6", 42, 13, 5},
		{"invitation_accepted_v7", 37, 10, 2},
		{"invitation_reminded_reinvited_expired_v6", 66, 17, 5},
		{"invitation_reminded_reinvited_expired_v7", 61, 14, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := invitationCost(t, c.name)
			t.Logf("%s: %s", c.name, got)
			if got.Events != c.events || got.Actions != c.actions || got.ByType["UpsertWorkflowSearchAttributes"] != c.upserts {
				t.Errorf("%s: %d events, %d actions, %d upserts; want %d, %d, %d\n%s", c.name,
					got.Events, got.Actions, got.ByType["UpsertWorkflowSearchAttributes"], c.events, c.actions, c.upserts, got)
			}
		})
	}
}
