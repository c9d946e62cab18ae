package api_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portalaccess/portal"
)

func agentKey(t *testing.T) string {
	t.Helper()
	return admin(t, "POST", "/api/v1/api-keys", map[string]any{"name": unique("agent"), "role": "agent"}, 201)["key"].(string)
}

func contactPath(id int64) string { return "/api/v1/contacts/" + strconv.FormatInt(id, 10) }

// TestAgentCannotCarryAnInvitationToAnotherMailbox: the contact was
// invited, so only an admin may change the address; the admin's change
// revokes the invitation (its link dies), and the old address is told,
// with the new one masked.
func TestAgentCannotCarryAnInvitationToAnotherMailbox(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	old := unique("ivy") + "@example.com"
	contact := newContact(t, old, true)
	inv := inviteContact(t, slug, contact)
	link, token := inviteLinkTo(t, old, slug)
	page := newBrowser(t)
	form := page.get(link)
	thief := unique("thief") + "@example.com"

	r := call(t, "PATCH", contactPath(contact), agentKey(t), map[string]any{"email": thief})
	if r.Status != 403 || r.errorCode(t) != "admin_required" {
		t.Fatalf("an agent changing an invited contact's address: %d %s", r.Status, r.Body)
	}
	if r := call(t, "PATCH", contactPath(contact), agentKey(t), map[string]any{"email": nil}); r.Status != 403 || r.errorCode(t) != "admin_required" {
		t.Fatalf("an agent removing an invited contact's address: %d %s", r.Status, r.Body)
	}
	if c := fetchContact(t, contact); c.Email == nil || *c.Email != old {
		t.Fatalf("a refused change changed the contact: %+v", c)
	}
	if inv := admin(t, "GET", "/api/v1/invitations/"+inv["id"].(string), nil, 200); inv["status"] != "pending" {
		t.Fatalf("a refused change touched the invitation: %v", inv)
	}

	got := admin(t, "PATCH", contactPath(contact), map[string]any{"email": thief, "name": "Ivy Moved"}, 200)
	if got["email"] != thief || got["name"] != "Ivy Moved" {
		t.Fatalf("admin's change answered %v", got)
	}
	waitInvitationStatus(t, inv["id"].(string), "revoked")
	if r := newBrowser(t).get(link); r.Status != 410 {
		t.Fatalf("the invitation link after the change: %d %s", r.Status, r.Body)
	}
	if r := page.post("/portal/"+slug+"/invitations/accept", form, url.Values{
		"token": {token}, "password": {"too-late-horse"}, "password_confirm": {"too-late-horse"}}); r.Status != 410 {
		t.Fatalf("accepting with the old link after the change: %d %s", r.Status, r.Body)
	}
	notice := waitForMail(t, old, "email_changed", 1)[0]
	if !strings.Contains(notice.Text, portal.MaskEmail(thief)) || strings.Contains(notice.Text, thief) {
		t.Fatalf("the notice to the old address: %s", notice.Text)
	}
	time.Sleep(quietPeriod)
	if n := mailsOfKind(t, old, "email_changed"); n != 1 {
		t.Fatalf("%d notices to the old address, want 1", n)
	}
	if n := len(outbox(t, thief)); n != 0 {
		t.Fatalf("%d emails to the new address: the invitation must not follow it", n)
	}
}

// TestEmailChangeEndsSessionsAndKillsPendingLinks: an active account,
// logged in, with a password reset link and a sign-up to another help
// center waiting for its verification link. After an admin changes the
// address, the sessions are over, both links are dead, and the account
// logs in with the new address and its own password.
func TestEmailChangeEndsSessionsAndKillsPendingLinks(t *testing.T) {
	slug, other := newHelpCenter(t, "unique"), newHelpCenter(t, "unique")
	setSignup(t, other, true, false)
	old := unique("ada") + "@example.com"
	contact := newContact(t, old, true)
	inviteContact(t, slug, contact)
	accepted := acceptWith(t, old, slug, "correct-horse-1")
	loggedIn := mustLogIn(t, slug, old, "correct-horse-1")
	askForReset(t, slug, old)
	_, resetLink, resetToken := resetLinkTo(t, old, 1)
	signUp(t, other, "Ada", old, "other-horse-22")
	verification := verifyLink.FindString(waitForMail(t, old, "signup_verify", 1)[0].Text)

	moved := unique("ada-new") + "@example.com"
	admin(t, "PATCH", contactPath(contact), map[string]any{"email": moved}, 200)

	// Over at once: the API answers once the change is in force.
	homeRedirectsToLogin(t, accepted, slug, "the session opened by the accept")
	homeRedirectsToLogin(t, loggedIn, slug, "a session opened by a login")
	if r := newBrowser(t).get(resetLink); r.Status != 410 || !strings.Contains(string(r.Body), "email address of this account was changed") {
		t.Fatalf("the reset link after the change: %d %s", r.Status, r.Body)
	}
	b := newBrowser(t)
	form := b.get(app.URL + "/portal/" + slug + "/login")
	u, _ := url.Parse(resetLink)
	if r := b.post(u.Path, form, url.Values{"token": {resetToken}, "password": {"stolen-horse-9"}, "password_confirm": {"stolen-horse-9"}}); r.Status != 410 {
		t.Fatalf("posting the reset link after the change: %d %s", r.Status, r.Body)
	}
	if r := newBrowser(t).get(verification); r.Status != 410 {
		t.Fatalf("the verification link after the change: %d %s", r.Status, r.Body)
	}
	mustNotLogIn(t, slug, old, "correct-horse-1", "the old address")
	mustLogIn(t, slug, moved, "correct-horse-1")
	waitForMail(t, old, "email_changed", 1)

	// The new address can sign up to the other help center afresh: the
	// closed sign-up does not hold it.
	if r := signUp(t, other, "Ada", moved, "fresh-horse-333"); r.Status != 200 {
		t.Fatalf("sign-up with the new address: %d", r.Status)
	}
	if _, r := verify(t, moved, "fresh-horse-333"); r.Status != 303 {
		t.Fatalf("verifying the new address: %d %s", r.Status, r.Body)
	}
}

// TestEmailChangesThatNeedNoAdmin: a contact without a portal account is
// an agent's to edit, and a respelling of an account's address (the same
// address by the normalisation rule) is not a change of address.
func TestEmailChangesThatNeedNoAdmin(t *testing.T) {
	agent := agentKey(t)
	plain := newContact(t, unique("plain")+"@example.com", true)
	to := unique("plain-new") + "@example.com"
	if r := call(t, "PATCH", contactPath(plain), agent, map[string]any{"email": to}); r.Status != 200 || r.json(t)["email"] != to {
		t.Fatalf("an agent changing a contact without an account: %d %s", r.Status, r.Body)
	}

	slug := newHelpCenter(t, "unique")
	tag := unique("Resp")
	email := tag + "@example.com"
	invited := newContact(t, email, true)
	inviteContact(t, slug, invited)
	inviteLinkTo(t, email, slug)
	if r := call(t, "PATCH", contactPath(invited), agent, map[string]any{"email": " " + tag + "@EXAMPLE.com "}); r.Status != 200 || r.json(t)["email"] != email {
		t.Fatalf("an agent respelling an account's address: %d %s", r.Status, r.Body)
	}
	time.Sleep(quietPeriod)
	if n := mailsOfKind(t, email, "email_changed"); n != 0 {
		t.Fatalf("a respelling sent %d notices", n)
	}
}

// TestEmailChangeToAnotherContactsAddressIsRefused: 409, and nothing
// changes.
func TestEmailChangeToAnotherContactsAddressIsRefused(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	old := unique("own") + "@example.com"
	contact := newContact(t, old, true)
	inviteContact(t, slug, contact)
	inviteLinkTo(t, old, slug)
	taken := unique("taken") + "@example.com"
	newContact(t, taken, true)
	if r := call(t, "PATCH", contactPath(contact), app.AdminKey, map[string]any{"email": strings.ToUpper(taken)}); r.Status != 409 || r.errorCode(t) != "contact_exists" {
		t.Fatalf("changing to a taken address: %d %s", r.Status, r.Body)
	}
	if c := fetchContact(t, contact); c.Email == nil || *c.Email != old {
		t.Fatalf("the contact changed: %+v", c)
	}
}
