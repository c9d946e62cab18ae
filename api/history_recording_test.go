package api_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/workflows"
)

// TestRecordHistories runs each kind of workflow the replay test must
// keep replaying on this package's dev server, to its end, and writes
// its history to workflows/testdata/ as `make record-history` would. It
// runs only when RECORD_HISTORIES names the suffix of the files to write
// (e.g. RECORD_HISTORIES=v4); the replay test then covers them.
func TestRecordHistories(t *testing.T) {
	suffix := os.Getenv("RECORD_HISTORIES")
	if suffix == "" {
		t.Skip("RECORD_HISTORIES is not set")
	}
	if !regexp.MustCompile(`^[a-z0-9]{1,16}$`).MatchString(suffix) {
		t.Fatalf("RECORD_HISTORIES=%q: use letters and digits, as v4", suffix)
	}
	record := func(t *testing.T, name, workflowID string) {
		t.Helper()
		waitClosed(t, workflowID)
		writeHistory(t, workflowID, filepath.Join("..", "workflows", "testdata", name+"_"+suffix+".json"))
	}

	t.Run("invitation resent and revoked by update", func(t *testing.T) {
		slug := newHelpCenter(t, "unique")
		email := unique("rec") + "@example.com"
		contact := newContact(t, email, true)
		id := inviteContact(t, slug, contact)["id"].(string)
		waitSendCount(t, id, 1)
		admin(t, "POST", "/api/v1/invitations/"+id+"/resend", nil, 200)
		admin(t, "POST", "/api/v1/invitations/"+id+"/revoke", nil, 200)
		record(t, "invitation_resend_revoke_update", workflows.InvitationWorkflowID(slug, contact))
	})

	t.Run("invitation accepted after the first email", func(t *testing.T) {
		slug := newHelpCenter(t, "unique")
		email := unique("rec") + "@example.com"
		contact := newContact(t, email, true)
		inviteContact(t, slug, contact)
		acceptWith(t, email, slug, "correct-horse-1")
		record(t, "invitation_accepted", workflows.InvitationWorkflowID(slug, contact))
	})

	t.Run("invitation of a bulk job accepted after the first email", func(t *testing.T) {
		slug := newHelpCenter(t, "unique")
		email := unique("rec") + "@example.com"
		contact := newContact(t, email, true)
		admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations/bulk", map[string]any{"contact_ids": []int64{contact}}, 202)
		waitForMail(t, email, "invite", 1)
		acceptWith(t, email, slug, "correct-horse-1")
		record(t, "invitation_bulk_child_accepted", workflows.InvitationWorkflowID(slug, contact))
	})

	t.Run("invitation reminded, re-invited, then expired", func(t *testing.T) {
		slug := newHelpCenter(t, "unique")
		contact := newContact(t, unique("rec")+"@example.com", true)
		id := startInvitation(t, slug, contact, workflows.Policy{
			Reminders: []workflows.Duration{workflows.Duration(time.Second)}, LinkLifetime: workflows.Duration(3 * time.Second), AutoReinvites: 1,
		})
		record(t, "invitation_reminded_reinvited_expired", id)
	})

	t.Run("invitation undeliverable", func(t *testing.T) {
		slug := newHelpCenter(t, "unique")
		contact := newContact(t, nil, true)
		record(t, "invitation_undeliverable", startInvitation(t, slug, contact, workflows.PolicyFrom(portal.DefaultInvitePolicy())))
	})

	t.Run("invitation bounced by webhook", func(t *testing.T) {
		slug := newHelpCenter(t, "unique")
		email := unique("rec") + "@example.com"
		contact := newContact(t, email, true)
		inviteContact(t, slug, contact)
		waitForMail(t, email, "invite", 1)
		m := outboxEntries(t, email)[0]
		admin(t, "POST", fmt.Sprintf("/dev/outbox/%d/webhook", m.ID), map[string]any{"event": "failed", "severity": "permanent"}, 200)
		record(t, "invitation_bounced_by_webhook", workflows.InvitationWorkflowID(slug, contact))
	})

	t.Run("invitation declined", func(t *testing.T) {
		slug := newHelpCenter(t, "unique")
		email := unique("rec") + "@example.com"
		contact := newContact(t, email, true)
		inviteContact(t, slug, contact)
		link := declineLinkIn(t, waitForMail(t, email, "invite", 1)[0])
		if r := postOneClick(t, link, "List-Unsubscribe=One-Click"); r.Status != 200 {
			t.Fatalf("decline: %d %s", r.Status, r.Body)
		}
		record(t, "invitation_declined", workflows.InvitationWorkflowID(slug, contact))
	})

	t.Run("sign-up bounced by webhook", func(t *testing.T) {
		slug := newHelpCenter(t, "unique")
		setSignup(t, slug, true, false)
		email := unique("rec") + "@example.com"
		signUp(t, slug, "Rita Record", email, "correct-horse-1")
		waitForMail(t, email, "signup_verify", 1)
		mailEvent(t, email, "signup_verify", "failed", "permanent")
		contact := admin(t, "GET", "/api/v1/contacts?q="+url.QueryEscape(email), nil, 200)["items"].([]any)[0].(map[string]any)["id"].(float64)
		record(t, "signup_bounced_by_webhook", workflows.SignupWorkflowID(slug, int64(contact)))
	})

	t.Run("password reset complained of by webhook", func(t *testing.T) {
		slug := newHelpCenter(t, "unique")
		email, _, _ := activeUser(t, slug, "correct-horse-1")
		hc, err := app.Service.Store.HelpCenterBySlug(t.Context(), slug)
		if err != nil {
			t.Fatal(err)
		}
		// Started as the forgot-password form does, with a link short
		// enough for the run to end within the wait.
		scope := helpCenterScope(t, slug)
		id := workflows.PasswordResetWorkflowID(scope, app.Service.Tokens.AddressKey(scope, email))
		cfg := app.Service.Config
		if _, err := app.Service.Temporal.SignalWithStartWorkflow(t.Context(), id, workflows.ResetRequestSignal,
			workflows.ResetRequest{HelpCenterID: hc.ID, Email: email}, client.StartWorkflowOptions{TaskQueue: cfg.TemporalTaskQueue},
			workflows.PasswordReset, workflows.PasswordResetInput{Scope: scope, LinkLifetime: workflows.Duration(8 * time.Second),
				EmailInterval: workflows.Duration(time.Second), MailTaskQueue: cfg.MailTaskQueue}); err != nil {
			t.Fatal(err)
		}
		resetLinkTo(t, email, 1)
		mailEvent(t, email, "password_reset", "complained", "")
		time.Sleep(time.Second)
		askForReset(t, slug, email)
		record(t, "password_reset_complained", id)
	})

	t.Run("invitation blocked by a deactivation", func(t *testing.T) {
		slug := newHelpCenter(t, "unique")
		email := unique("rec") + "@example.com"
		contact := newContact(t, email, true)
		inviteContact(t, slug, contact)
		acceptWith(t, email, slug, "correct-horse-1")
		setAccess(t, slug, portalUserByEmail(t, slug, email)["id"], "deactivate", "deactivated", true)
		waitClosed(t, workflows.InvitationWorkflowID(slug, contact))
		record(t, "invitation_blocked", startInvitation(t, slug, contact, workflows.PolicyFrom(portal.DefaultInvitePolicy())))
	})

	t.Run("pending invitation revoked by a deactivation that names its actor", func(t *testing.T) {
		slug := newHelpCenter(t, "unique")
		email := unique("rec") + "@example.com"
		contact := newContact(t, email, true)
		id := inviteContact(t, slug, contact)["id"].(string)
		waitSendCount(t, id, 1)
		user := waitForUser(t, slug, email, "invited")["id"]
		setAccess(t, slug, user, "deactivate", "deactivated", true)
		record(t, "invitation_revoked_by_deactivation", workflows.InvitationWorkflowID(slug, contact))
		runs, err := app.Service.Temporal.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: "WorkflowType = 'ChangeAccess' AND WorkflowId STARTS_WITH 'access/" + slug + "/'"})
		if err != nil || len(runs.Executions) != 1 {
			t.Fatalf("the deactivation's workflow: %v %v", runs, err)
		}
		record(t, "access_deactivate_revokes_named", runs.Executions[0].Execution.WorkflowId)
	})

	for _, decision := range []string{"approve", "reject"} {
		t.Run("sign-up decided by update: "+decision, func(t *testing.T) {
			slug := newHelpCenter(t, "unique")
			setSignup(t, slug, true, true)
			email := unique("rec") + "@example.com"
			signUp(t, slug, "Rita Record", email, "correct-horse-1")
			verify(t, email, "correct-horse-1")
			id := userID(t, slug, email, "pending_approval")
			admin(t, "POST", "/api/v1/help-centers/"+slug+"/users/"+id+"/"+decision, nil, 200)
			contact := admin(t, "GET", "/api/v1/contacts?q="+url.QueryEscape(email), nil, 200)["items"].([]any)[0].(map[string]any)["id"].(float64)
			record(t, "signup_"+decision+"_update", workflows.SignupWorkflowID(slug, int64(contact)))
		})
	}

	t.Run("bulk re-invite of a pending invitation", func(t *testing.T) {
		slug := newHelpCenter(t, "unique")
		email := unique("rec") + "@example.com"
		id := inviteContact(t, slug, newContact(t, email, true))["id"].(string)
		waitSendCount(t, id, 1)
		if _, err := app.Service.Store.DB.NewRaw(`UPDATE invitations SET last_sent_at = last_sent_at - interval '3 days' WHERE id = ?`, id).Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
		job := admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations/bulk-resend", map[string]any{"status": "pending", "pending_days": 2}, 202)["id"].(string)
		record(t, "bulk_resend_pending", workflows.BulkWorkflowID(job))
	})

	t.Run("template test sent", func(t *testing.T) {
		slug := newHelpCenter(t, "unique")
		key, _ := newKey(t, map[string]any{"role": "admin", "email": unique("rec") + "@helpdesk.example"})
		r := call(t, "POST", "/api/v1/help-centers/"+slug+"/email-templates/send-test", key, map[string]any{})
		if r.Status != 202 {
			t.Fatalf("send-test: %d %s", r.Status, r.Body)
		}
		record(t, "template_test", workflows.TemplateTestWorkflowID(r.json(t)["id"].(string)))
	})

	t.Run("bulk job cancelled by update", func(t *testing.T) {
		slug := newHelpCenter(t, "unique")
		ids := seedContacts(t, unique("rec"), "r", 600, true, true)
		job := admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations/bulk", map[string]any{"contact_ids": ids}, 202)["id"].(string)
		deadline := time.Now().Add(20 * time.Second)
		for num(admin(t, "GET", "/api/v1/bulk-invitations/"+job, nil, 200)["processed"]) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		admin(t, "POST", "/api/v1/bulk-invitations/"+job+"/cancel", nil, 200)
		record(t, "bulk_cancel_update", workflows.BulkWorkflowID(job))
	})
}

// startInvitation starts an invitation workflow with a policy of the
// test's choosing, as the starter would, and returns its workflow ID.
func startInvitation(t *testing.T, slug string, contact int64, policy workflows.Policy) string {
	t.Helper()
	hc, err := app.Service.Store.HelpCenterBySlug(t.Context(), slug)
	if err != nil {
		t.Fatal(err)
	}
	cfg := app.Service.Config
	id := workflows.InvitationWorkflowID(slug, contact)
	_, err = app.Service.Temporal.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{
		ID: id, TaskQueue: cfg.TemporalTaskQueue,
		// As the starter does: the invitation is pending from its start.
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.InvitationStatusKey.ValueSet(string(portal.InvitationPending)), workflows.HelpCenterKey.ValueSet(slug)),
	},
		workflows.Invitation, workflows.InvitationInput{
			HelpCenterID: hc.ID, HelpCenterSlug: slug, ContactID: contact, Policy: policy, MailTaskQueue: cfg.MailTaskQueue,
		})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func waitClosed(t *testing.T, workflowID string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		desc, err := app.Service.Temporal.DescribeWorkflow(context.Background(), workflowID, "")
		if err != nil {
			t.Fatal(err)
		}
		if desc.RawResponse.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("workflow %s still running after 30s", workflowID)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writeHistory writes the latest run's history in the JSON of the
// Temporal CLI's `workflow show --output json`.
func writeHistory(t *testing.T, workflowID, path string) {
	t.Helper()
	var h historypb.History
	it := app.Service.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	raw, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o600); err != nil { //nolint:gosec // G703: a testdata name with a checked suffix
		t.Fatal(err)
	}
}
