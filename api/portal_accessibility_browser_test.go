package api_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core's browser build, pinned (see its README).
//
//go:embed testdata/axe-core-4.14.1/axe.min.js
var axeSource string

// wcagTags are the axe tags of WCAG 2.2 AA: a violation of one of them
// with impact serious or critical fails the test.
var wcagTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// allowedBestPractices are the axe best-practice rules a portal page may
// break, each with the reason; any other best-practice violation fails.
var allowedBestPractices = map[string]string{}

// axeTags is the JSON list of the tags axe runs.
var axeTags = func() string {
	b, err := json.Marshal(append(slices.Clone(wcagTags), "best-practice"))
	if err != nil {
		panic(err)
	}
	return string(b)
}()

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Tags   []string `json:"tags"`
	Help   string   `json:"help"`
	Nodes  []struct {
		HTML string `json:"html"`
	} `json:"nodes"`
}

// viewports: a desktop, a common phone, and the 320 CSS pixels WCAG's
// reflow criterion (1.4.10) names.
var viewports = []struct {
	name          string
	width, height int64
}{{"desktop", 1280, 800}, {"375 px", 375, 740}, {"320 px", 320, 640}}

// auditor walks a browser through the portal and checks each page it
// lands on.
type auditor struct {
	t       *testing.T
	ctx     context.Context
	audited []string
}

// do runs browser steps, failing the test on an error.
func (a *auditor) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	a.t.Helper()
	if err := chromedp.Do(a.ctx, steps...); err != nil {
		a.t.Fatalf("%s: %v", what, err)
	}
}

func evaluate[T any](a *auditor, what, js string) T {
	a.t.Helper()
	v, err := chromedp.Run(a.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		a.t.Fatalf("%s: %s: %v", what, js, err)
	}
	return v
}

// page requires the page shown to have h1 heading (its start), then
// checks it at every viewport: axe finds nothing it may not, and at
// narrow widths nothing scrolls sideways.
func (a *auditor) page(state, heading string) {
	a.t.Helper()
	// A page that was audited is marked: until the browser has left it
	// (a form's answer still on its way), the next state has not come.
	for deadline := time.Now().Add(30 * time.Second); !evaluate[bool](a, state, `!window.auditedState && document.readyState === 'complete'`); {
		if time.Now().After(deadline) {
			a.t.Fatalf("%s: the browser stays on the page before", state)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.do(state, chromedp.WaitVisible(chromedp.CSS(`h1`)))
	if h1 := evaluate[string](a, state, `document.querySelector('h1').textContent`); !strings.HasPrefix(strings.TrimSpace(h1), heading) {
		a.t.Fatalf("%s: the page's heading is %q, want %q (at %s)", state, h1, heading, evaluate[string](a, state, `location.href`))
	}
	if evaluate[bool](a, state, `typeof window.axe === 'undefined'`) {
		a.do(state+": inject axe", chromedp.Evaluate[chromedp.Void](axeSource))
	}
	for _, vp := range viewports {
		a.do(state, chromedp.EmulateViewport(vp.width, vp.height))
		if over := evaluate[int](a, state, `document.documentElement.scrollWidth - document.documentElement.clientWidth`); over > 0 {
			a.t.Errorf("%s at %s: the page scrolls %d px sideways", state, vp.name, over)
		}
		violations, err := chromedp.Run(a.ctx, chromedp.Evaluate[[]axeViolation](fmt.Sprintf(
			`axe.run(document, {runOnly: {type: 'tag', values: %s}, resultTypes: ['violations']}).then(r => r.violations)`,
			axeTags), chromedp.EvalAwaitPromise))
		if err != nil {
			a.t.Fatalf("%s at %s: axe: %v", state, vp.name, err)
		}
		for _, v := range violations {
			wcag := slices.ContainsFunc(v.Tags, func(tag string) bool { return slices.Contains(wcagTags, tag) })
			_, allowed := allowedBestPractices[v.ID]
			switch {
			case wcag && (v.Impact == "serious" || v.Impact == "critical"),
				slices.Contains(v.Tags, "best-practice") && !allowed:
				a.t.Errorf("%s at %s: %s (%s, %s): %s", state, vp.name, v.ID, v.Impact, strings.Join(v.Tags, " "), nodes(v))
			default:
				a.t.Logf("%s at %s: allowed: %s (%s): %s", state, vp.name, v.ID, v.Impact, v.Help)
			}
		}
	}
	a.do(state, chromedp.EmulateViewport(viewports[0].width, viewports[0].height),
		chromedp.Evaluate[chromedp.Void](`window.auditedState = true`))
	a.audited = append(a.audited, state)
}

func nodes(v axeViolation) string {
	var out []string
	for _, n := range v.Nodes {
		out = append(out, n.HTML)
	}
	return v.Help + ": " + strings.Join(out, " | ")
}

// submit presses a form's button. The page it leaves is marked first,
// so that page waits for the answer rather than taking the form's own
// page, opened by a navigation just before, for it.
func submit(label string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Evaluate[chromedp.Void](`window.auditedState = true`)(ctx, t); err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.Click(`//button[text()="`+label+`"]`)(ctx, t)
	}
}

// refused requires the page to be a refused form: the error summary has
// the focus, and its first link moves the focus to field.
func (a *auditor) refused(state, heading, field string) {
	a.t.Helper()
	a.page(state, heading)
	if id := evaluate[string](a, state, `document.activeElement ? document.activeElement.id : ''`); id != "error-summary" {
		a.t.Errorf("%s: the focus is on %q, not on the error summary", state, id)
	}
	a.do(state, chromedp.Click(chromedp.CSS(`#error-summary a`)))
	if id := evaluate[string](a, state, `document.activeElement.id`); id != field {
		a.t.Errorf("%s: the summary's link moved the focus to %q, not to the field %q", state, id, field)
	}
	if described := evaluate[string](a, state, `document.getElementById('`+field+`').getAttribute('aria-describedby') || ''`); described != field+"-error" ||
		evaluate[string](a, state, `document.getElementById('`+field+`').getAttribute('aria-invalid') || ''`) != "true" {
		a.t.Errorf("%s: field %s is not marked invalid and described by its error", state, field)
	}
}

// TestBrowserEveryPortalPageAndErrorStatePassesAxe walks Chromium through
// every customer page and error state of the portal, and runs axe-core on
// each at desktop, 375 px and 320 px widths.
func TestBrowserEveryPortalPageAndErrorStatePassesAxe(t *testing.T) {
	ctx := newChromium(t, 6*time.Minute)
	a := &auditor{t: t, ctx: ctx}
	slug := newHelpCenter(t, "unique")
	setSignup(t, slug, true, false)
	base := app.URL + "/portal/" + slug

	// Before logging in.
	a.do("login page", chromedp.Navigate(base+"/login"))
	a.page("login page", "Log in")
	a.do("login", chromedp.SendKeys(chromedp.CSS(`#email`), "nobody@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "not-the-password"), submit("Log in"))
	a.refused("login failed", "Log in", "email")
	a.do("signup page", chromedp.Navigate(base+"/signup"))
	a.page("sign-up page", "Sign up")
	a.do("sign-up", chromedp.SendKeys(chromedp.CSS(`#name`), "Ada"), chromedp.SendKeys(chromedp.CSS(`#email`), "not-an-address"),
		submit("Sign up"))
	a.refused("sign-up failed", "Sign up", "email")
	signer := unique("axe-signup") + "@example.com"
	a.do("sign-up", chromedp.Evaluate[chromedp.Void](`document.getElementById('email').value = ''`), chromedp.SendKeys(chromedp.CSS(`#email`), signer), chromedp.SendKeys(chromedp.CSS(`#password`), "axe-signup-battery"),
		chromedp.SendKeys(chromedp.CSS(`#password_confirm`), "axe-signup-battery"), submit("Sign up"))
	a.page("sign-up sent", "Check your email")
	verifyURL := verifyLink.FindString(waitForMail(t, signer, "signup_verify", 1)[0].Text)
	a.do("verify page", chromedp.Navigate(verifyURL))
	a.page("verify page", "Confirm your email")
	a.do("verify", chromedp.SendKeys(chromedp.CSS(`#password`), "not-the-password"), submit("Confirm"))
	a.refused("verify refused", "Confirm your email", "password")
	a.do("forgot page", chromedp.Navigate(base+"/password/forgot"))
	a.page("forgot-password page", "Forgot your password?")
	a.do("forgot", chromedp.SendKeys(chromedp.CSS(`#email`), "not-an-address"), submit("Email me a link"))
	a.refused("forgot-password form refused", "Forgot your password?", "email")
	a.do("unknown page", chromedp.Navigate(base+"/no-such-page"))
	a.page("404 page", "Page not found")
	a.do("unknown help center", chromedp.Navigate(app.URL+"/portal/no-such-help-center/login"))
	a.page("404 of a help center", "Help center not found")
	a.do("wrong method", chromedp.Navigate(base+"/logout"))
	a.page("405 page", "This page can't be used that way")

	// Declining an invitation: the confirmation page, a forged link and
	// the page after the decline.
	decliner := unique("axe-decline") + "@example.com"
	inviteContact(t, slug, newContact(t, decliner, true))
	declineURL := declineLinkIn(t, waitForMail(t, decliner, "invite", 1)[0])
	a.do("decline page", chromedp.Navigate(declineURL))
	a.page("decline page", "Stop invitations from")
	a.do("forged decline link", chromedp.Navigate(declineURL[:len(declineURL)-4]+"AAAA"))
	a.page("decline link not valid", "Link not valid")
	a.do("decline", chromedp.Navigate(declineURL), submit("I don't want to join"))
	a.page("declined", "You won't be invited again")

	// An invitation accepted, after a refusal.
	email := unique("axe") + "@example.com"
	inviteContact(t, slug, newContact(t, email, true))
	link, _ := inviteLinkTo(t, email, slug)
	a.do("accept page", chromedp.Navigate(link))
	a.page("accept page", "Accept your invitation")
	a.do("accept", chromedp.SendKeys(chromedp.CSS(`#password`), "axe-horse-battery"),
		chromedp.SendKeys(chromedp.CSS(`#password_confirm`), "axe-horse-batteyr"), submit("Activate account"))
	a.refused("accept failed", "Accept your invitation", "password_confirm")
	a.do("accept", chromedp.SendKeys(chromedp.CSS(`#password`), "axe-horse-battery"),
		chromedp.SendKeys(chromedp.CSS(`#password_confirm`), "axe-horse-battery"), submit("Activate account"))
	a.page("home page", "Welcome")

	// Requests: a blank subject keeps what was typed; a sent one is
	// confirmed once.
	a.do("blank subject", chromedp.SendKeys(chromedp.CSS(`#body`), "The printer on floor 2 is jammed."),
		submit("Submit request"))
	a.refused("request with a blank subject", "Welcome", "subject")
	if body := evaluate[string](a, "blank subject", `document.getElementById('body').value`); body != "The printer on floor 2 is jammed." {
		t.Errorf("the refused request lost its details: %q", body)
	}
	a.do("request", chromedp.SendKeys(chromedp.CSS(`#subject`), "Printer jammed"), submit("Submit request"))
	a.page("home with a request sent", "Welcome")
	if notice := evaluate[string](a, "notice", `(document.querySelector('.notice') || {}).textContent || ''`); !strings.Contains(notice, "was sent") {
		t.Errorf("no notice that the request was sent: %q", notice)
	}
	a.do("reload home", chromedp.Reload())
	if evaluate[bool](a, "notice", `document.querySelector('.notice') !== null`) {
		t.Error("the notice shows again after a reload")
	}
	a.do("requests", chromedp.Click(`//a[text()="Your requests"]`))
	a.page("requests page", "Your requests")
	a.do("one request", chromedp.Click(`//a[text()="Printer jammed"]`))
	a.page("request page", "Printer jammed")
	a.do("someone else's request", chromedp.Navigate(base+"/requests/999999999"))
	a.page("request not found", "Request not found")

	// Password change, refused then done.
	a.do("home", chromedp.Navigate(base+"/home"))
	a.do("change password", chromedp.SendKeys(chromedp.CSS(`#current_password`), "not-my-password"),
		chromedp.SendKeys(chromedp.CSS(`#new_password`), "axe-horse-battery-2"), chromedp.SendKeys(chromedp.CSS(`#new_password_confirm`), "axe-horse-battery-2"),
		submit("Change password"))
	a.refused("change password refused", "Welcome", "current_password")
	a.do("change password", chromedp.SendKeys(chromedp.CSS(`#current_password`), "axe-horse-battery"),
		chromedp.SendKeys(chromedp.CSS(`#new_password`), "axe-horse-battery-2"), chromedp.SendKeys(chromedp.CSS(`#new_password_confirm`), "axe-horse-battery-2"),
		submit("Change password"))
	a.page("home with the password changed", "Welcome")
	if notice := evaluate[string](a, "notice", `(document.querySelector('.notice') || {}).textContent || ''`); !strings.Contains(notice, "password was changed") {
		t.Errorf("no notice that the password was changed: %q", notice)
	}

	// A form over the size limit, and a fault on our side.
	a.do("oversized request", chromedp.Navigate(base+"/home"), chromedp.SendKeys(chromedp.CSS(`#subject`), "Big"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('body').value = 'x'.repeat(1100000)`),
		submit("Submit request"))
	a.page("413 page", "Form too large")
	faulty := unique("fault-")
	breakTicketInsert(t, faulty)
	a.do("faulty request", chromedp.Navigate(base+"/home"), chromedp.SendKeys(chromedp.CSS(`#subject`), faulty),
		submit("Submit request"))
	a.page("500 page", "Something went wrong")
	if ref := evaluate[string](a, "500", `(document.querySelector('.reference') || {}).textContent || ''`); len(ref) != 8 {
		t.Errorf("the 500 page gives no reference: %q", ref)
	}

	// A reset link, refused then used.
	a.do("log out", chromedp.Navigate(base+"/home"), submit("Log out"),
		chromedp.WaitVisible(`//h1[text()="Log in"]`))
	a.do("forgot", chromedp.Navigate(base+"/password/forgot"), chromedp.SendKeys(chromedp.CSS(`#email`), email),
		submit("Email me a link"))
	a.page("forgot-password sent", "Check your email")
	_, resetLink, _ := resetLinkTo(t, email, 1)
	a.do("reset page", chromedp.Navigate(resetLink))
	a.page("reset page", "Choose a new password")
	a.do("reset", chromedp.SendKeys(chromedp.CSS(`#password`), "short"), chromedp.SendKeys(chromedp.CSS(`#password_confirm`), "short"),
		submit("Set new password"))
	a.refused("reset refused", "Choose a new password", "password")

	// Links that can't be used, and a help center without sign-up.
	a.do("used invitation link", chromedp.Navigate(link))
	a.page("used invitation link", "Your account is already active")
	a.do("unknown invitation link", chromedp.Navigate(link+"x"))
	a.page("unknown invitation link", "Invitation not found")
	closed := newHelpCenter(t, "unique")
	a.do("sign-up closed", chromedp.Navigate(app.URL+"/portal/"+closed+"/signup"))
	a.page("sign-up closed", "Sign-up is closed")

	// Rate limited, on a portal of its own with a limit of one per address.
	limited := startPortal(t, map[string]string{"RATE_LIMIT_PER_TARGET": "1/1m"})
	// Each post waits for its own answer's heading: the form's own h1 is
	// visible at once, and navigating away while the post is in flight
	// aborts one or the other.
	for _, answer := range []string{"Check your email", "Too many attempts"} {
		a.do("forgot on a limited portal", chromedp.Navigate(limited.URL+"/portal/"+slug+"/password/forgot"),
			chromedp.SendKeys(chromedp.CSS(`#email`), email), submit("Email me a link"),
			chromedp.WaitVisible(`//h1[contains(., "`+answer+`")]`))
	}
	a.page("429 page", "Too many attempts")

	t.Logf("audited %d states: %s", len(a.audited), strings.Join(a.audited, ", "))
}

// breakTicketInsert makes the database refuse to store a request with
// this subject, as a defect of ours would: a trigger that raises. It is
// dropped when the test ends.
func breakTicketInsert(t *testing.T, subject string) {
	t.Helper()
	fn := strings.ReplaceAll(subject, "-", "_")
	execSQL(t, `CREATE FUNCTION `+fn+`() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.subject = '`+subject+`' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`)
	execSQL(t, `CREATE TRIGGER `+fn+` BEFORE INSERT ON tickets FOR EACH ROW EXECUTE FUNCTION `+fn+`()`)
	t.Cleanup(func() {
		execSQL(t, `DROP TRIGGER `+fn+` ON tickets`)
		execSQL(t, `DROP FUNCTION `+fn+`()`)
	})
}
