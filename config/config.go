// Package config holds the service's settings, read once from the
// environment at start-up.
package config

import (
	"context"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/portalaccess/portal"
)

// Config is every setting the service reads. No other package reads the
// environment.
type Config struct {
	HTTPAddr    string `env:"HTTP_ADDR, default=:8080"`
	DatabaseURL string `env:"DATABASE_URL, default=postgres://postgres@127.0.0.1:5432/portal?sslmode=disable"`
	// DatabaseMaxConns bounds each process's pool; the connections stay
	// open while idle (for five minutes), so a busy process reuses them.
	DatabaseMaxConns  int    `env:"DATABASE_MAX_CONNS, default=20"`
	TemporalAddress   string `env:"TEMPORAL_ADDRESS, default=127.0.0.1:7233"`
	TemporalNamespace string `env:"TEMPORAL_NAMESPACE, default=default"`
	TemporalTaskQueue string `env:"TEMPORAL_TASK_QUEUE, default=portal-invitations"`
	// MailTaskQueue carries email activities, rate limited to
	// MailRatePerSecond across all workers (0: no limit).
	MailTaskQueue     string  `env:"MAIL_TASK_QUEUE, default=portal-mail"`
	MailRatePerSecond float64 `env:"MAIL_RATE_PER_SECOND, default=50"`
	PublicBaseURL     string  `env:"PUBLIC_BASE_URL, default=http://localhost:8080"`

	// MailDriver has no default: the outbox serves every email, links
	// included, at /dev/outbox, so it must be chosen on purpose.
	MailDriver     string `env:"MAIL_DRIVER"`
	MailFrom       string `env:"MAIL_FROM, default=Help Center <no-reply@localhost>"`
	MailgunDomain  string `env:"MAILGUN_DOMAIN"`
	MailgunAPIKey  string `env:"MAILGUN_API_KEY"`
	MailgunAPIBase string `env:"MAILGUN_API_BASE, default=https://api.mailgun.net/v3"`
	// MailgunTimeout bounds each call to Mailgun; a call past it is an
	// unknown outcome, confirmed before any retry. It must be shorter
	// than WORKER_STOP_TIMEOUT so a stopping worker lets a send finish.
	MailgunTimeout time.Duration `env:"MAILGUN_TIMEOUT, default=15s"`
	// MailgunEventsDelay is how long Mailgun may take to list an accepted
	// message in its events; an interrupted send is confirmed no sooner.
	MailgunEventsDelay time.Duration `env:"MAILGUN_EVENTS_DELAY, default=3m"`
	// MailgunWebhookSigningKey verifies Mailgun's webhooks
	// (POST /webhooks/mailgun); unset, the endpoint refuses every call.
	MailgunWebhookSigningKey string `env:"MAILGUN_WEBHOOK_SIGNING_KEY"`

	// MailFromAllowed lists the other from addresses help centers may
	// use: addresses, or "@domain" for a whole domain, each on a domain
	// the provider sends for (SPF and DMARC pass).
	MailFromAllowed []string `env:"MAIL_FROM_ALLOWED"`

	// AdminAPIKey, when set, is stored (hashed) as an admin key at start-up
	// so a new installation has a way in.
	AdminAPIKey string `env:"PORTAL_ADMIN_API_KEY"`

	// SweepInterval is how often the API process finishes what was stored
	// but not started (a crash, Temporal unreachable): auto-invites and
	// bulk jobs; it also purges staged passwords nothing will use.
	SweepInterval time.Duration `env:"SWEEP_INTERVAL, default=30s"`

	// CrashPoint makes the process exit at a named point, for tests that
	// prove recovery: "after-ticket-stored", or a step of an accept
	// ("accept-staged", "accept-admitted", "accept-applied"), or a worker's
	// after a committed change ("after-invitation-recorded",
	// "after-invitation-closed"). Never set it in production.
	CrashPoint string `env:"PORTAL_CRASH_POINT"`

	// PasswordResetLinkLifetime is how long a password reset link works;
	// PasswordResetEmailInterval is the least time between two reset
	// emails to one account: requests in between send nothing, so the
	// forgot-password form can't flood a mailbox.
	PasswordResetLinkLifetime  time.Duration `env:"PASSWORD_RESET_LINK_LIFETIME, default=1h"`
	PasswordResetEmailInterval time.Duration `env:"PASSWORD_RESET_EMAIL_INTERVAL, default=1m"`

	// RateLimitPerIP bounds the portal's form posts from one client address
	// (an IPv6 client by its /64), and RateLimitPerTarget those naming one
	// email address or link, as count/period; the counters live in Postgres,
	// so every replica shares them.
	RateLimitPerIP     string `env:"RATE_LIMIT_PER_IP, default=30/1m"`
	RateLimitPerTarget string `env:"RATE_LIMIT_PER_TARGET, default=10/15m"`
	perIP, perTarget   portal.Rate
	// TemplateTestRate bounds the test sends of invitation templates one
	// API key makes, as count/period.
	TemplateTestRate string `env:"TEMPLATE_TEST_RATE, default=5/1h"`
	templateTestRate portal.Rate
	// TrustedProxies lists the proxies (CIDRs or addresses, comma
	// separated) whose X-Forwarded-For names the client; from anyone else
	// the header is ignored, since a client can write anything in it.
	TrustedProxies []string `env:"TRUSTED_PROXIES"`
	trustedProxies []netip.Prefix

	// PasswordHashConcurrency bounds the argon2id hashes running at once
	// (19 MiB each); 0 means the number of CPUs. A hash that finds no slot
	// within PasswordHashWait is answered 503 with Retry-After.
	PasswordHashConcurrency int           `env:"PASSWORD_HASH_CONCURRENCY, default=0"`
	PasswordHashWait        time.Duration `env:"PASSWORD_HASH_WAIT, default=2s"`

	// SessionIdleTimeout ends a portal session unused for that long; it
	// also ends 14 days after the login whatever happens.
	SessionIdleTimeout time.Duration `env:"SESSION_IDLE_TIMEOUT, default=8h"`

	// ResendMinInterval is the least time between two resends of one
	// invitation through the API (0: no limit).
	ResendMinInterval time.Duration `env:"RESEND_MIN_INTERVAL, default=1m"`

	// TokenSecret keys the HMAC that derives invitation tokens. Tokens are
	// derived rather than stored so a reminder can repeat the same link while
	// the database holds only each token's SHA-256 hash.
	TokenSecret string `env:"TOKEN_SECRET, required"`

	// WorkflowSettings: bulk job sizes and former mail task queues
	// (workflows.go).
	WorkflowSettings

	// Operations: Temporal TLS and API key, deadlines, shutdown, metrics
	// and tracing (operations.go).
	Operations
}

// CrashPoints are the values PORTAL_CRASH_POINT takes.
var CrashPoints = []string{"after-ticket-stored", "accept-staged", "accept-admitted", "accept-applied",
	// A worker's, once an activity's change and its audit event committed
	// (activities/crash.go).
	"after-invitation-recorded", "after-invitation-closed"}

// Load reads the configuration through lookuper (the process environment
// when nil) and validates it. Errors name the offending variable.
func Load(ctx context.Context, lookuper envconfig.Lookuper) (*Config, error) {
	if lookuper == nil {
		lookuper = envconfig.OsLookuper()
	}
	var c Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c, Lookuper: lookuper}); err != nil {
		return nil, namedError(err)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) validate() error {
	if _, err := url.Parse(c.DatabaseURL); err != nil || !strings.HasPrefix(c.DatabaseURL, "postgres") {
		return fmt.Errorf("DATABASE_URL: must be a postgres:// URL")
	}
	if c.DatabaseMaxConns < 2 || c.DatabaseMaxConns > 1000 {
		return fmt.Errorf("DATABASE_MAX_CONNS: must be between 2 and 1000, got %d", c.DatabaseMaxConns)
	}
	u, err := url.Parse(c.PublicBaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("PUBLIC_BASE_URL: must be an absolute http(s) URL, got %q", c.PublicBaseURL)
	}
	c.PublicBaseURL = strings.TrimRight(c.PublicBaseURL, "/")
	switch c.MailDriver {
	case "":
		return fmt.Errorf("MAIL_DRIVER: required: mailgun, or outbox for development (it shows every email at /dev/outbox)")
	case "outbox":
	case "mailgun":
		if c.MailgunDomain == "" {
			return fmt.Errorf("MAILGUN_DOMAIN: required when MAIL_DRIVER=mailgun")
		}
		if c.MailgunAPIKey == "" {
			return fmt.Errorf("MAILGUN_API_KEY: required when MAIL_DRIVER=mailgun")
		}
		if c.MailgunTimeout < time.Second || c.MailgunTimeout > 25*time.Second {
			return fmt.Errorf("MAILGUN_TIMEOUT: must be between 1s and 25s (an email activity's attempt has 30s), such as 15s")
		}
		if c.WorkerStopTimeout <= c.MailgunTimeout {
			return fmt.Errorf("WORKER_STOP_TIMEOUT: must be longer than MAILGUN_TIMEOUT (%s), so a stopping worker lets a send finish", c.MailgunTimeout)
		}
		if c.MailgunEventsDelay < 0 || c.MailgunEventsDelay > time.Hour {
			return fmt.Errorf("MAILGUN_EVENTS_DELAY: must be between 0 and 1h, such as 3m")
		}
	default:
		return fmt.Errorf("MAIL_DRIVER: must be outbox or mailgun, got %q", c.MailDriver)
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		return fmt.Errorf("MAIL_FROM: must be an address such as \"Help Center <help@example.com>\", got %q", c.MailFrom)
	}
	for _, e := range c.MailFromAllowed {
		if err := portal.ValidSenderAllowEntry(e); err != nil {
			return fmt.Errorf("MAIL_FROM_ALLOWED: %w; list addresses or @domain entries, comma-separated", err)
		}
	}
	if c.SweepInterval <= 0 {
		return fmt.Errorf("SWEEP_INTERVAL: must be a positive duration such as 30s")
	}
	if c.CrashPoint != "" && !slices.Contains(CrashPoints, c.CrashPoint) {
		return fmt.Errorf("PORTAL_CRASH_POINT: unknown point %q", c.CrashPoint)
	}
	if c.MailRatePerSecond < 0 {
		return fmt.Errorf("MAIL_RATE_PER_SECOND: must be 0 (no limit) or more, got %v", c.MailRatePerSecond)
	}
	if c.PasswordResetLinkLifetime < 5*time.Minute || c.PasswordResetLinkLifetime > 24*time.Hour {
		return fmt.Errorf("PASSWORD_RESET_LINK_LIFETIME: must be between 5m and 24h, such as 1h")
	}
	if c.PasswordResetEmailInterval < 10*time.Second || c.PasswordResetEmailInterval >= c.PasswordResetLinkLifetime {
		return fmt.Errorf("PASSWORD_RESET_EMAIL_INTERVAL: must be at least 10s and shorter than PASSWORD_RESET_LINK_LIFETIME, such as 1m")
	}
	if err := c.validateSecrets(); err != nil {
		return err
	}
	if len(c.TokenSecretBytes()) < 32 {
		return fmt.Errorf("TOKEN_SECRET: must be at least 32 characters of random data")
	}
	if c.AdminAPIKey != "" && len(c.AdminAPIKey) < 16 {
		return fmt.Errorf("PORTAL_ADMIN_API_KEY: must be at least 16 characters")
	}
	if err := c.validateOperations(); err != nil {
		return err
	}
	if err := c.validateWorkflows(); err != nil {
		return err
	}
	return c.validateLimits()
}

// validateLimits checks the settings that bound what anonymous clients
// can make the portal do.
func (c *Config) validateLimits() error {
	var err error
	if c.perIP, err = portal.ParseRate(c.RateLimitPerIP); err != nil {
		return fmt.Errorf("RATE_LIMIT_PER_IP: %w", err)
	}
	if c.perTarget, err = portal.ParseRate(c.RateLimitPerTarget); err != nil {
		return fmt.Errorf("RATE_LIMIT_PER_TARGET: %w", err)
	}
	if c.templateTestRate, err = portal.ParseRate(c.TemplateTestRate); err != nil {
		return fmt.Errorf("TEMPLATE_TEST_RATE: %w", err)
	}
	c.trustedProxies = nil
	for _, v := range c.TrustedProxies {
		v = strings.TrimSpace(v)
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return fmt.Errorf("TRUSTED_PROXIES: %q is neither a CIDR such as 10.0.0.0/8 nor an address", v)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c.trustedProxies = append(c.trustedProxies, p.Masked())
	}
	if c.PasswordHashConcurrency < 0 {
		return fmt.Errorf("PASSWORD_HASH_CONCURRENCY: must be 0 (the number of CPUs) or more, got %d", c.PasswordHashConcurrency)
	}
	if c.PasswordHashWait <= 0 {
		return fmt.Errorf("PASSWORD_HASH_WAIT: must be a positive duration such as 2s")
	}
	if c.SessionIdleTimeout < time.Minute {
		return fmt.Errorf("SESSION_IDLE_TIMEOUT: must be at least 1m, such as 8h")
	}
	if c.ResendMinInterval < 0 {
		return fmt.Errorf("RESEND_MIN_INTERVAL: must be 0 (no limit) or a positive duration such as 1m")
	}
	return nil
}

// PerIP is RATE_LIMIT_PER_IP, parsed.
func (c *Config) PerIP() portal.Rate { return c.perIP }

// TemplateTestRatePerKey is TEMPLATE_TEST_RATE, parsed.
func (c *Config) TemplateTestRatePerKey() portal.Rate { return c.templateTestRate }

// PerTarget is RATE_LIMIT_PER_TARGET, parsed.
func (c *Config) PerTarget() portal.Rate { return c.perTarget }

// TrustedProxyPrefixes are TRUSTED_PROXIES, parsed.
func (c *Config) TrustedProxyPrefixes() []netip.Prefix { return c.trustedProxies }

// namedError names the environment variable of a value that did not
// parse: the decoder names only the struct field.
func namedError(err error) error {
	field, rest, ok := strings.Cut(err.Error(), ": ")
	if !ok {
		return err
	}
	if f, found := reflect.TypeFor[Config]().FieldByName(field); found {
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" {
			return fmt.Errorf("%s: %s", name, rest)
		}
	}
	return err
}

// TokenSecretBytes is the HMAC key for invitation tokens.
func (c *Config) TokenSecretBytes() []byte { return []byte(c.TokenSecret) }

// DevOutboxServed reports whether GET /dev/outbox is served: only with
// the outbox mail driver, and only when the listener (HTTP_ADDR) or
// PUBLIC_BASE_URL is local (a loopback address or localhost). The outbox
// shows every email, links included, to whoever asks, so a host the
// public reaches never serves it, whatever its mail driver.
func (c *Config) DevOutboxServed() bool {
	if c.MailDriver != "outbox" {
		return false
	}
	if host, _, err := net.SplitHostPort(c.HTTPAddr); err == nil && localHost(host) {
		return true
	}
	u, err := url.Parse(c.PublicBaseURL)
	return err == nil && localHost(u.Hostname())
}

// localHost reports whether host names this machine only: localhost (or
// a name under .localhost) or a loopback address. An empty host (every
// interface) is not local.
func localHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.IsLoopback()
}

// SecureCookies reports whether cookies must carry the Secure flag.
func (c *Config) SecureCookies() bool {
	return strings.HasPrefix(c.PublicBaseURL, "https://")
}

// SenderAllowList is every from address a help center may use:
// MAIL_FROM's own and MAIL_FROM_ALLOWED.
func (c *Config) SenderAllowList() portal.SenderAllowList {
	l := portal.SenderAllowList(slices.Clone(c.MailFromAllowed))
	if a, err := mail.ParseAddress(c.MailFrom); err == nil {
		l = append(l, a.Address)
	}
	return l
}
