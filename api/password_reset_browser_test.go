package api_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium is where Debian's chromium package puts the browser; .ci/run
// installs it.
const chromium = "/usr/bin/chromium"

// newChromium starts a headless Chromium with a fresh profile, on a
// machine whose network is closed: nothing in the background may try to
// reach out. It is stopped when the test ends, or after timeout.
func newChromium(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no browser test: %s is missing (apt-get install chromium chromium-driver)", chromium)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// TestBrowserForgotPasswordResetLandsOnHome walks a real browser from the
// login page's link through the forgot-password form and the emailed
// link's form to the home page, logged in with the new password.
func TestBrowserForgotPasswordResetLandsOnHome(t *testing.T) {
	ctx := newChromium(t, 2*time.Minute)
	slug := newHelpCenter(t, "unique")
	email, _, _ := activeUser(t, slug, "old-horse-battery")

	if err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/portal/"+slug+"/login"),
		chromedp.Click(`//a[text()="Forgot your password?"]`),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.Click(`//button[text()="Email me a link"]`),
		chromedp.WaitVisible(`//h1[text()="Check your email"]`),
	); err != nil {
		t.Fatalf("forgot-password form in Chromium: %v", err)
	}

	_, link, _ := resetLinkTo(t, email, 1)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), "browser-horse-battery"),
		chromedp.SendKeys(chromedp.ID("password_confirm"), "browser-horse-battery"),
		chromedp.Click(`//button[text()="Set new password"]`),
		chromedp.WaitVisible(`//h1[starts-with(text(), "Welcome")]`),
	); err != nil {
		t.Fatalf("reset form in Chromium: %v", err)
	}
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil {
		t.Fatal(err)
	}
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if location != app.URL+"/portal/"+slug+"/home" || !strings.Contains(heading, "Ada Lovelace") {
		t.Fatalf("after the reset the browser is at %s, reading %q", location, heading)
	}
	mustNotLogIn(t, slug, email, "old-horse-battery", "the old password after a reset in the browser")
	mustLogIn(t, slug, email, "browser-horse-battery")
}
