package api_test

import (
	"strconv"
	"testing"
	"time"
)

// Each resend emails the customer a new link and kills the last one, so
// an invitation may be resent once a minute (RESEND_MIN_INTERVAL); a
// sooner one is refused with its own code and says when to come back.
func TestResendIsThrottledPerInvitation(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	email, other := unique("throttle")+"@example.com", unique("throttle")+"@example.com"
	inv := inviteContact(t, slug, newContact(t, email, true))
	otherInv := inviteContact(t, slug, newContact(t, other, true))
	waitForMail(t, email, "invite", 1)
	path := "/api/v1/invitations/" + inv["id"].(string) + "/resend"

	admin(t, "POST", path, nil, 200)
	r := call(t, "POST", path, app.AdminKey, nil)
	if r.Status != 429 || r.errorCode(t) != "resend_too_soon" {
		t.Fatalf("second resend within a minute: %d %s", r.Status, r.Body)
	}
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
		t.Fatalf("Retry-After %q, want 1 to 60 seconds", r.Header.Get("Retry-After"))
	}
	// The refused resend sent nothing; another invitation is not held back.
	waitSendCount(t, inv["id"].(string), 2)
	time.Sleep(quietPeriod)
	if got := admin(t, "GET", "/api/v1/invitations/"+inv["id"].(string), nil, 200); got["send_count"].(float64) != 2 {
		t.Fatalf("send_count %v after a refused resend, want 2", got["send_count"])
	}
	admin(t, "POST", "/api/v1/invitations/"+otherInv["id"].(string)+"/resend", nil, 200)
	// A minute on (the counter's clock moved back), it may be resent again.
	execSQL(t, `UPDATE rate_limits SET tat = tat - interval '1 minute' WHERE scope = 'invitation-resend' AND key = ?`, []byte(inv["id"].(string)))
	admin(t, "POST", path, nil, 200)
	waitSendCount(t, inv["id"].(string), 3)
}
