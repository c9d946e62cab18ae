package workflows

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplayRecordedHistories replays histories recorded from a dev server
// against the current code. A change that would break running executions
// fails here; such a change needs workflow.GetVersion, and a new history
// recorded beside these: run the changed workflow to the new branch on
// `make run`, then `make record-history WORKFLOW_ID=... NAME=...` writes
// testdata/NAME.json; or add the scenario to api's TestRecordHistories and
// run it with RECORD_HISTORIES=<suffix> (and TEMPORAL_CLI) to record it on
// the test dev server.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded histories: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			Register(r)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// TestEveryRegisteredWorkflowHasARecordedHistory keeps a new workflow from
// shipping without a history to replay.
func TestEveryRegisteredWorkflowHasARecordedHistory(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]bool{}
	for _, f := range files {
		recorded[historyType(t, f)] = true
	}
	for _, w := range all {
		name := runtime.FuncForPC(reflect.ValueOf(w).Pointer()).Name()
		name = name[strings.LastIndex(name, ".")+1:]
		if !recorded[name] {
			t.Errorf("workflow %s has no recorded history in testdata/; record one with make record-history", name)
		}
	}
}

// historyType reads the workflow type a recorded history started.
func historyType(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Events []struct {
			Started *struct {
				WorkflowType struct {
					Name string `json:"name"`
				} `json:"workflowType"`
			} `json:"workflowExecutionStartedEventAttributes"`
		} `json:"events"`
	}
	if err := json.Unmarshal(raw, &h); err != nil || len(h.Events) == 0 || h.Events[0].Started == nil {
		t.Fatalf("%s is not a recorded history: %v", path, err)
	}
	return h.Events[0].Started.WorkflowType.Name
}

// A history written while this version wrote durations as nanoseconds
// (WORKFLOW_DURATIONS=nanoseconds, during a rolling deploy) replays like
// the one written in text: the recorded reminder, re-invite and expiry
// history, its input rewritten to numbers, replays against this code.
func TestReplayHistoryWithDurationsInNanoseconds(t *testing.T) {
	raw, err := os.ReadFile("testdata/invitation_reminded_reinvited_expired_v4.json")
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	started := h["events"].([]any)[0].(map[string]any)["workflowExecutionStartedEventAttributes"].(map[string]any)
	payload := started["input"].(map[string]any)["payloads"].([]any)[0].(map[string]any)
	data, err := base64.StdEncoding.DecodeString(payload["data"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var in InvitationInput
	if err := json.Unmarshal(data, &in); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"LinkLifetime":"`) {
		t.Fatalf("the recorded input no longer holds text durations: %s", data)
	}
	WriteDurationsAsNanoseconds(true)
	data, err = json.Marshal(in)
	WriteDurationsAsNanoseconds(false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"LinkLifetime":"`) {
		t.Fatalf("input still in text: %s", data)
	}
	payload["data"] = base64.StdEncoding.EncodeToString(data)
	rewritten, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "nanoseconds.json")
	if err := os.WriteFile(path, rewritten, 0o600); err != nil {
		t.Fatal(err)
	}
	r := worker.NewWorkflowReplayer()
	Register(r)
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, path); err != nil {
		t.Fatalf("replay with nanoseconds: %v", err)
	}
}
