package config

import (
	"context"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/portalaccess/portal"
)

const secret = "0123456789abcdef0123456789abcdef"

func load(env map[string]string) (*Config, error) {
	return Load(context.Background(), envconfig.MapLookuper(env))
}

func TestDefaults(t *testing.T) {
	c, err := load(map[string]string{"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.MailDriver != "outbox" || c.PublicBaseURL != "http://localhost:8080" ||
		!strings.Contains(c.DatabaseURL, "/portal?") || c.TemporalNamespace != "default" {
		t.Fatalf("defaults %+v", c)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	for want, env := range map[string]map[string]string{
		"TOKEN_SECRET":         {"MAIL_DRIVER": "outbox"},
		"MAIL_DRIVER":          {"TOKEN_SECRET": secret, "MAIL_DRIVER": "smtp"},
		"MAILGUN_DOMAIN":       {"TOKEN_SECRET": secret, "MAIL_DRIVER": "mailgun"},
		"MAILGUN_API_KEY":      {"TOKEN_SECRET": secret, "MAIL_DRIVER": "mailgun", "MAILGUN_DOMAIN": "mg.example.com"},
		"PUBLIC_BASE_URL":      {"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox", "PUBLIC_BASE_URL": "portal.example.com"},
		"DATABASE_URL":         {"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox", "DATABASE_URL": "mysql://x"},
		"PORTAL_ADMIN_API_KEY": {"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox", "PORTAL_ADMIN_API_KEY": "short"},
		"DATABASE_MAX_CONNS":   {"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox", "DATABASE_MAX_CONNS": "1"},
		// A stopping worker must let a send finish rather than cut it.
		"WORKER_STOP_TIMEOUT": {"TOKEN_SECRET": secret, "MAIL_DRIVER": "mailgun", "MAILGUN_DOMAIN": "mg.example.com", "MAILGUN_API_KEY": "k",
			"MAILGUN_TIMEOUT": "20s", "WORKER_STOP_TIMEOUT": "20s"},
		"MAILGUN_TIMEOUT": {"TOKEN_SECRET": secret, "MAIL_DRIVER": "mailgun", "MAILGUN_DOMAIN": "mg.example.com", "MAILGUN_API_KEY": "k",
			"MAILGUN_TIMEOUT": "1m"},
	} {
		_, err := load(env)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v", want, err)
		}
	}
}

func TestLimitSettingsDefaultSensiblyAndParse(t *testing.T) {
	c, err := load(map[string]string{"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox"})
	if err != nil {
		t.Fatal(err)
	}
	if c.PerIP() != (portal.Rate{Count: 30, Per: time.Minute}) || c.PerTarget() != (portal.Rate{Count: 10, Per: 15 * time.Minute}) ||
		len(c.TrustedProxyPrefixes()) != 0 || c.PasswordHashConcurrency != 0 || c.PasswordHashWait != 2*time.Second ||
		c.SessionIdleTimeout != 8*time.Hour || c.ResendMinInterval != time.Minute {
		t.Fatalf("limit defaults %+v", c)
	}
	c, err = load(map[string]string{"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox", "RATE_LIMIT_PER_IP": "100/1h",
		"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7,fd00::/8", "PASSWORD_HASH_CONCURRENCY": "4", "SESSION_IDLE_TIMEOUT": "30m"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"), netip.MustParsePrefix("fd00::/8")}
	if c.PerIP() != (portal.Rate{Count: 100, Per: time.Hour}) || !slices.Equal(c.TrustedProxyPrefixes(), want) ||
		c.PasswordHashConcurrency != 4 || c.SessionIdleTimeout != 30*time.Minute {
		t.Fatalf("limit settings %+v %v", c, c.TrustedProxyPrefixes())
	}
}

func TestBadLimitSettingsNameTheVariable(t *testing.T) {
	for want, env := range map[string]map[string]string{
		"RATE_LIMIT_PER_IP":         {"RATE_LIMIT_PER_IP": "lots"},
		"RATE_LIMIT_PER_TARGET":     {"RATE_LIMIT_PER_TARGET": "0/1m"},
		"TRUSTED_PROXIES":           {"TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"},
		"PASSWORD_HASH_CONCURRENCY": {"PASSWORD_HASH_CONCURRENCY": "-1"},
		"PASSWORD_HASH_WAIT":        {"PASSWORD_HASH_WAIT": "0s"},
		"SESSION_IDLE_TIMEOUT":      {"SESSION_IDLE_TIMEOUT": "soon"},
		"RESEND_MIN_INTERVAL":       {"RESEND_MIN_INTERVAL": "-1m"},
		"SWEEP_INTERVAL":            {"SWEEP_INTERVAL": "often"},
	} {
		env["TOKEN_SECRET"], env["MAIL_DRIVER"] = secret, "outbox"
		_, err := load(env)
		if err == nil || !strings.HasPrefix(err.Error(), want+": ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v", want, err)
		}
	}
}

func TestMailDriverMustBeChosen(t *testing.T) {
	_, err := load(map[string]string{"TOKEN_SECRET": secret})
	if err == nil || !strings.HasPrefix(err.Error(), "MAIL_DRIVER") {
		t.Fatalf("a missing MAIL_DRIVER was accepted: %v", err)
	}
}

func TestCallerValuesWin(t *testing.T) {
	c, err := load(map[string]string{"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox", "HTTP_ADDR": "127.0.0.1:9", "PUBLIC_BASE_URL": "https://help.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:9" || c.PublicBaseURL != "https://help.example.com" || !c.SecureCookies() {
		t.Fatalf("%+v", c)
	}
}

func TestPasswordResetSettingsDefaultToAnHourAndAMinute(t *testing.T) {
	c, err := load(map[string]string{"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox"})
	if err != nil {
		t.Fatal(err)
	}
	if c.PasswordResetLinkLifetime.String() != "1h0m0s" || c.PasswordResetEmailInterval.String() != "1m0s" {
		t.Fatalf("reset defaults: %s, %s", c.PasswordResetLinkLifetime, c.PasswordResetEmailInterval)
	}
	c, err = load(map[string]string{"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox",
		"PASSWORD_RESET_LINK_LIFETIME": "30m", "PASSWORD_RESET_EMAIL_INTERVAL": "2m"})
	if err != nil || c.PasswordResetLinkLifetime.String() != "30m0s" || c.PasswordResetEmailInterval.String() != "2m0s" {
		t.Fatalf("reset settings: %+v %v", c, err)
	}
	for want, env := range map[string]map[string]string{
		"PASSWORD_RESET_LINK_LIFETIME":  {"PASSWORD_RESET_LINK_LIFETIME": "1m"},
		"PASSWORD_RESET_EMAIL_INTERVAL": {"PASSWORD_RESET_EMAIL_INTERVAL": "1s"},
	} {
		env["TOKEN_SECRET"], env["MAIL_DRIVER"] = secret, "outbox"
		if _, err := load(env); err == nil || !strings.HasPrefix(err.Error(), want+": ") {
			t.Errorf("%s: got %v", want, err)
		}
	}
	// An interval as long as the link would leave no time to ask again.
	_, err = load(map[string]string{"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox",
		"PASSWORD_RESET_LINK_LIFETIME": "10m", "PASSWORD_RESET_EMAIL_INTERVAL": "10m"})
	if err == nil || !strings.HasPrefix(err.Error(), "PASSWORD_RESET_EMAIL_INTERVAL: ") {
		t.Fatalf("interval as long as the link: %v", err)
	}
}

func TestCrashPointsAreTheNamedOnesOnly(t *testing.T) {
	for _, point := range CrashPoints {
		if _, err := load(map[string]string{"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox", "PORTAL_CRASH_POINT": point}); err != nil {
			t.Errorf("%s: %v", point, err)
		}
	}
	_, err := load(map[string]string{"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox", "PORTAL_CRASH_POINT": "accept-someday"})
	if err == nil || !strings.Contains(err.Error(), "PORTAL_CRASH_POINT") {
		t.Errorf("an unknown point: %v", err)
	}
}

func TestSenderAllowListHoldsMailFromAndTheListedEntries(t *testing.T) {
	c, err := load(map[string]string{"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox",
		"MAIL_FROM": "Acme <help@mg.example.com>", "MAIL_FROM_ALLOWED": "@brand.example,desk@other.example"})
	if err != nil {
		t.Fatal(err)
	}
	l := c.SenderAllowList()
	if !l.Allows("help@mg.example.com") || !l.Allows("anyone@brand.example") || !l.Allows("desk@other.example") || l.Allows("x@mg.example.com") {
		t.Fatalf("allow-list %v", l)
	}
	for _, env := range []map[string]string{
		{"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox", "MAIL_FROM_ALLOWED": "Name <a@b.example>"},
		{"TOKEN_SECRET": secret, "MAIL_DRIVER": "outbox", "MAIL_FROM": "not an address"},
	} {
		if _, err := load(env); err == nil || !strings.Contains(err.Error(), "MAIL_FROM") {
			t.Errorf("%v: got %v", env, err)
		}
	}
}

// The values the compose file once defaulted to, and others anybody can
// read, are refused at start-up in one line naming the variable.
func TestPlaceholderSecretsAreRefused(t *testing.T) {
	for _, env := range []map[string]string{
		{"TOKEN_SECRET": "change-me-to-32-or-more-random-characters"},
		{"TOKEN_SECRET": secret, "PORTAL_ADMIN_API_KEY": "change-me-admin-key"},
		{"TOKEN_SECRET": "CHANGEME-CHANGEME-CHANGEME-CHANGEME"},
		{"TOKEN_SECRET": secret, "PORTAL_ADMIN_API_KEY": "replace-me-with-a-real-key"},
	} {
		env["MAIL_DRIVER"] = "outbox"
		want := "TOKEN_SECRET"
		if _, ok := env["PORTAL_ADMIN_API_KEY"]; ok {
			want = "PORTAL_ADMIN_API_KEY"
		}
		_, err := load(env)
		if err == nil || !strings.HasPrefix(err.Error(), want+": is a placeholder") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: got %v, want one line refusing %s", env, err, want)
		}
	}
	if _, err := load(map[string]string{"MAIL_DRIVER": "outbox", "TOKEN_SECRET": secret,
		"PORTAL_ADMIN_API_KEY": "pk_9f3b2c1d8e7a6b5c4d3e2f1a"}); err != nil {
		t.Fatalf("real values refused: %v", err)
	}
}

// docker-compose refuses to start without a real admin key and token
// secret: neither has a default to fall back on.
func TestComposeHasNoDefaultSecrets(t *testing.T) {
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	compose := string(b)
	for _, name := range []string{"PORTAL_ADMIN_API_KEY", "TOKEN_SECRET"} {
		if !strings.Contains(compose, name+": ${"+name+":?") {
			t.Errorf("compose must require %s with ${%s:?message}", name, name)
		}
	}
	for _, p := range knownPlaceholders {
		if strings.Contains(compose, p) {
			t.Errorf("compose still holds the placeholder %q", p)
		}
	}
	// Temporal's frontend and UI answer this machine only.
	for _, port := range []string{`"127.0.0.1:7233:7233"`, `"127.0.0.1:8233:8080"`} {
		if !strings.Contains(compose, port) {
			t.Errorf("compose must publish %s on loopback only", port)
		}
	}
}

// /dev/outbox shows every email with its link: served only with the
// outbox driver on a local listener or a local public URL.
func TestDevOutboxOnlyOnLocalHosts(t *testing.T) {
	for _, c := range []struct {
		driver, addr, base string
		served             bool
	}{
		{"outbox", ":8080", "http://localhost:8080", true},
		{"outbox", "127.0.0.1:8080", "https://help.example.com", true},
		{"outbox", "[::1]:8080", "https://help.example.com", true},
		{"outbox", ":8080", "http://127.0.0.1:8080", true},
		{"outbox", ":8080", "http://portal.localhost:8080", true},
		{"outbox", ":8080", "https://help.example.com", false},
		{"outbox", "0.0.0.0:8080", "http://10.0.0.5:8080", false},
		{"outbox", "10.0.0.5:8080", "https://localhost.example.com", false},
		{"mailgun", "127.0.0.1:8080", "http://localhost:8080", false},
	} {
		cfg := Config{MailDriver: c.driver, HTTPAddr: c.addr, PublicBaseURL: c.base}
		if got := cfg.DevOutboxServed(); got != c.served {
			t.Errorf("%s on %s, %s: served %v, want %v", c.driver, c.addr, c.base, got, c.served)
		}
	}
}
