package api_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newDepartment(t *testing.T) float64 {
	return admin(t, "POST", "/api/v1/departments", map[string]any{"name": unique("Dept ")}, 201)["id"].(float64)
}

func invitationsOf(t *testing.T, slug string) []any {
	return admin(t, "GET", "/api/v1/help-centers/"+slug+"/invitations", nil, 200)["items"].([]any)
}

func TestAutoInviteSettingsValidateDepartments(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	d := newDepartment(t)
	got := admin(t, "PATCH", "/api/v1/help-centers/"+slug, map[string]any{"auto_invite": map[string]any{"enabled": true, "departments": []any{d}}}, 200)
	if ai := got["auto_invite"].(map[string]any); ai["enabled"] != true || len(ai["departments"].([]any)) != 1 {
		t.Fatalf("auto_invite %v", got["auto_invite"])
	}
	got = admin(t, "PATCH", "/api/v1/help-centers/"+slug, map[string]any{"auto_invite": map[string]any{"enabled": true, "departments": "all"}}, 200)
	if got["auto_invite"].(map[string]any)["departments"] != "all" {
		t.Fatalf("auto_invite all: %v", got["auto_invite"])
	}
	for _, bad := range []any{[]any{987654321}, "some", []any{"x"}, []any{}} {
		r := call(t, "PATCH", "/api/v1/help-centers/"+slug, app.AdminKey, map[string]any{"auto_invite": map[string]any{"enabled": true, "departments": bad}})
		if r.Status != 422 || r.errorCode(t) != "invalid_field" {
			t.Errorf("departments %v: %d %s", bad, r.Status, r.Body)
		}
	}
	inactive := newDepartment(t)
	admin(t, "PATCH", fmt.Sprintf("/api/v1/departments/%v", inactive), map[string]any{"active": false}, 200)
	if r := call(t, "PATCH", "/api/v1/help-centers/"+slug, app.AdminKey, map[string]any{"auto_invite": map[string]any{"enabled": true, "departments": []any{inactive}}}); r.Status != 422 {
		t.Errorf("inactive department accepted: %d", r.Status)
	}
}

func TestFirstRequestOfANewContactAutoInvitesOnce(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	covered, other := newDepartment(t), newDepartment(t)
	admin(t, "PATCH", "/api/v1/help-centers/"+slug, map[string]any{"auto_invite": map[string]any{"enabled": true, "departments": []any{covered}}}, 200)

	email := unique("first") + "@example.com"
	ticket := map[string]any{"help_center": slug, "department": covered, "email": email, "name": "Fay First", "subject": "Printer on fire", "channel": "email"}
	first := admin(t, "POST", "/api/v1/tickets", ticket, 201)
	if first["new_contact"] != true || first["auto_invite"] != "started" {
		t.Fatalf("first ticket: %v", first)
	}
	contact := admin(t, "GET", fmt.Sprintf("/api/v1/contacts/%v", first["contact_id"]), nil, 200)
	if contact["verified"] != true || contact["name"] != "Fay First" {
		t.Fatalf("contact from a channel: %v", contact)
	}
	waitForMail(t, email, "invite", 1)

	// A second request from the same (no longer new) contact invites no one.
	ticket["subject"] = "Still on fire"
	if second := admin(t, "POST", "/api/v1/tickets", ticket, 201); second["new_contact"] != false || second["auto_invite"] != nil {
		t.Fatalf("second ticket: %v", second)
	}
	time.Sleep(time.Second)
	if n := len(outboxOfKind(t, email, "invite")); n != 1 {
		t.Fatalf("%d invite emails, want 1", n)
	}
	if n := len(invitationsOf(t, slug)); n != 1 {
		t.Fatalf("%d invitations, want 1", n)
	}

	// A new contact writing to a department without auto-invite is not
	// invited; by name works too.
	plain := unique("plain") + "@example.com"
	deptName := admin(t, "GET", fmt.Sprintf("/api/v1/departments/%v", other), nil, 200)["name"]
	r := admin(t, "POST", "/api/v1/tickets", map[string]any{"help_center": slug, "department": deptName, "email": plain, "subject": "Hi"}, 201)
	if r["new_contact"] != true || r["auto_invite"] != nil {
		t.Fatalf("ticket in an uncovered department: %v", r)
	}
}

func outboxOfKind(t *testing.T, to, kind string) []outboxItem {
	var out []outboxItem
	for _, m := range outbox(t, to) {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

func TestAutoInviteForAllDepartmentsAndTicketValidation(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	admin(t, "PATCH", "/api/v1/help-centers/"+slug, map[string]any{"auto_invite": map[string]any{"enabled": true, "departments": "all"}}, 200)
	r := admin(t, "POST", "/api/v1/tickets", map[string]any{"help_center": slug, "email": unique("all") + "@example.com", "subject": "Hello"}, 201)
	if r["auto_invite"] != "started" {
		t.Fatalf("auto-invite for all departments: %v", r)
	}
	for name, body := range map[string]map[string]any{
		"unknown help center": {"help_center": "nope-" + slug, "email": "a@example.com", "subject": "s"},
		"bad email":           {"help_center": slug, "email": "nope", "subject": "s"},
		"no subject":          {"help_center": slug, "email": "a@example.com", "subject": " "},
		"unknown department":  {"help_center": slug, "email": "a@example.com", "subject": "s", "department": 987654321},
		"bad channel":         {"help_center": slug, "email": "a@example.com", "subject": "s", "channel": "pigeon"},
	} {
		if r := call(t, "POST", "/api/v1/tickets", app.AdminKey, body); r.Status != 422 || r.errorCode(t) != "invalid_field" {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
}

// TestAutoInviteSurvivesACrashBetweenTicketAndInvitation runs the API as
// its own process, set to exit right after storing a ticket and before
// starting the auto-invite. The ticket is stored, the process is gone, and
// the sweeper of the running portal starts the invitation.
func TestAutoInviteSurvivesACrashBetweenTicketAndInvitation(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	admin(t, "PATCH", "/api/v1/help-centers/"+slug, map[string]any{"auto_invite": map[string]any{"enabled": true, "departments": "all"}}, 200)
	bin := filepath.Join(t.TempDir(), "portal")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/portalaccess/portal/cmd/portal").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "api")
	cmd.Env = os.Environ()
	for k, v := range app.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "HTTP_ADDR="+addr, "PORTAL_CRASH_POINT=after-ticket-stored")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }() // it has usually exited at its crash point already
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := get(t, base+"/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("crashing API did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	email := unique("crash") + "@example.com"
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/api/v1/tickets", strings.NewReader(
		`{"help_center":"`+slug+`","email":"`+email+`","name":"Cass Crash","subject":"Help"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+app.AdminKey)
	if resp, err := checkedClient(t).Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the API answered %d instead of dying", resp.StatusCode)
	}
	if err := cmd.Wait(); err == nil || cmd.ProcessState.ExitCode() != 75 {
		t.Fatalf("the API process did not exit at the crash point: %v", err)
	}
	// The ticket was stored and its auto-invite left pending.
	var status string
	if err := app.Service.Store.DB.NewRaw(`SELECT a.status FROM auto_invites a JOIN tickets t ON t.id = a.ticket_id
		JOIN contacts c ON c.id = t.contact_id WHERE lower(c.email) = lower(?)`, email).Scan(context.Background(), &status); err != nil {
		t.Fatalf("the ticket was not stored: %v", err)
	}
	// The running portal's sweeper picks it up.
	waitForMail(t, email, "invite", 1)
	if n := len(invitationsOf(t, slug)); n != 1 {
		t.Fatalf("%d invitations, want 1", n)
	}
	for {
		_ = app.Service.Store.DB.NewRaw(`SELECT a.status FROM auto_invites a JOIN tickets t ON t.id = a.ticket_id
			JOIN contacts c ON c.id = t.contact_id WHERE lower(c.email) = lower(?)`, email).Scan(context.Background(), &status)
		if status == "started" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("auto-invite is %s", status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCustomersSubmitAndSeeOnlyTheirOwnRequests(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	setSignup(t, slug, true, false)
	a, b := unique("ann")+"@example.com", unique("ben")+"@example.com"
	signUp(t, slug, "Ann", a, "correct-horse-1")
	annBrowser, _ := verify(t, a, "correct-horse-1")
	signUp(t, slug, "Ben", b, "correct-horse-2")
	benBrowser, _ := verify(t, b, "correct-horse-2")
	// A request from a channel lands on Ann's home too.
	admin(t, "POST", "/api/v1/tickets", map[string]any{"help_center": slug, "email": a, "subject": "Emailed question"}, 201)

	home := annBrowser.get(app.URL + "/portal/" + slug + "/home")
	r := annBrowser.post("/portal/"+slug+"/requests", home, url.Values{"subject": {"Ann's portal request"}, "body": {"details"}})
	if r.Status != 303 {
		t.Fatalf("portal request: %d %s", r.Status, r.Body)
	}
	annHome := string(annBrowser.get(app.URL + "/portal/" + slug + "/home").Body)
	if !strings.Contains(annHome, "Ann&#39;s portal request") || !strings.Contains(annHome, "Emailed question") {
		t.Fatalf("Ann's home lacks her requests:\n%s", annHome)
	}
	benHome := string(benBrowser.get(app.URL + "/portal/" + slug + "/home").Body)
	if strings.Contains(benHome, "Ann") || strings.Contains(benHome, "Emailed question") || !strings.Contains(benHome, "no requests") {
		t.Fatalf("Ben sees someone else's requests:\n%s", benHome)
	}
	// Without a session, no request is taken.
	anon := newBrowser(t)
	if r := anon.post("/portal/"+slug+"/requests", home, url.Values{"subject": {"x"}}); r.Status != 403 && r.Status != 303 {
		t.Fatalf("anonymous request: %d", r.Status)
	}
}
