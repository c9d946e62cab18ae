package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/portalaccess/portal/workflows"
)

// TestAuditEventsSurviveAWorkerKilledRightAfterTheChange kills the worker
// process the moment an activity's change has committed, before it could
// answer: once after an invitation is recorded, once after it is revoked.
// Each time the change and its audit event are both in the database, and
// after another worker runs the step again there is still exactly one
// event, by the key and the request that asked.
func TestAuditEventsSurviveAWorkerKilledRightAfterTheChange(t *testing.T) {
	if testing.Short() {
		t.Skip("long integration test")
	}
	ctx := context.Background()
	p2, base := splitPortal(t, nil)
	worker := func(crashPoint string) *workerProcess {
		w := base.with("PORTAL_CRASH_POINT=" + crashPoint)
		w.start()
		return w
	}
	// crashes waits for w to exit at its crash point.
	crashes := func(w *workerProcess) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- w.cmd.Wait() }()
		select {
		case err := <-done:
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 75 {
				t.Fatalf("worker ended with %v, want exit 75 at its crash point", err)
			}
		case <-time.After(90 * time.Second):
			w.kill()
			t.Fatal("the worker did not reach its crash point within 90s")
		}
	}
	// send calls p2's API with a request ID in the background; the
	// answer may come only once a healthy worker finished the step.
	send := func(method, path, requestID string, body any) <-chan int {
		answered := make(chan int, 1)
		buf, _ := json.Marshal(body)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, method, p2.URL+path, bytes.NewReader(buf))
			req.Header.Set("Authorization", "Bearer "+p2.AdminKey)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Request-Id", requestID)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answered <- 0
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answered <- resp.StatusCode
		}()
		return answered
	}
	db := app.Service.Store.DB
	count := func(target, action string) int {
		var n int
		if err := db.NewRaw(`SELECT count(*) FROM audit_events WHERE target = ? AND action = ?`, target, action).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	adminActor := "api_key:" + adminKeyID(t)
	requireOne := func(target, action, requestID string) {
		t.Helper()
		var got []struct {
			Actor     string `bun:"actor"`
			RequestID string `bun:"request_id"`
		}
		if err := db.NewRaw(`SELECT actor, request_id FROM audit_events WHERE target = ? AND action = ?`, target, action).Scan(ctx, &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Actor != adminActor || got[0].RequestID != requestID {
			t.Fatalf("%s events of %s: %+v, want one by %s in request %s", action, target, got, adminActor, requestID)
		}
	}

	slug := newHelpCenter(t, "unique")
	contact := newContact(t, unique("crash-audit")+"@example.com", true)

	// 1. The worker dies right after recording the invitation.
	w := worker("after-invitation-recorded")
	invite := unique("invite-")
	invited := send("POST", "/api/v1/help-centers/"+slug+"/invitations", invite, map[string]any{"contact_id": contact})
	crashes(w)
	var id string
	if err := db.NewRaw(`SELECT id FROM invitations WHERE contact_id = ?`, contact).Scan(ctx, &id); err != nil {
		t.Fatalf("the invitation is not on record after the crash: %v", err)
	}
	target := "invitation:" + id
	if n := count(target, "invitation.created"); n != 1 {
		t.Fatalf("%d invitation.created events right after the crash, want 1", n)
	}
	w = worker("")
	if code := <-invited; code != 202 {
		// The call may have timed out while no worker ran; the invitation
		// goes on either way.
		t.Logf("invite answered %d while its worker was down", code)
	}
	deadline := time.Now().Add(90 * time.Second)
	for num(admin(t, "GET", "/api/v1/invitations/"+id, nil, 200)["send_count"]) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the invitation was not sent after the worker came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	requireOne(target, "invitation.created", invite)
	w.kill()

	// 2. The worker dies right after closing it as revoked; the activity
	// runs again on the next worker once its attempt times out.
	w = worker("after-invitation-closed")
	revoke := unique("revoke-")
	revoked := send("POST", "/api/v1/invitations/"+id+"/revoke", revoke, nil)
	crashes(w)
	if n := count(target, "invitation.revoked"); n != 1 {
		t.Fatalf("%d invitation.revoked events right after the crash, want 1", n)
	}
	w = worker("")
	defer w.kill()
	if code := <-revoked; code != 200 {
		t.Logf("revoke answered %d while its worker was down", code)
	}
	// The retried close finds the invitation closed and records nothing
	// more; the workflow then completes.
	wf := workflows.InvitationWorkflowID(slug, contact)
	for deadline := time.Now().Add(120 * time.Second); ; {
		desc, err := app.Service.Temporal.DescribeWorkflow(ctx, wf, "")
		if err == nil && desc.RawResponse.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("invitation workflow still running 120s after the crash: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st := admin(t, "GET", "/api/v1/invitations/"+id, nil, 200)["status"]; st != "revoked" {
		t.Fatalf("invitation %s is %v, want revoked", id, st)
	}
	requireOne(target, "invitation.revoked", revoke)
}
