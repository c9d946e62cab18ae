// Package metrics defines the portal's own Prometheus metrics in one place,
// on one registry that /metrics serves beside the Temporal SDK's metrics.
//
// What a process did is counted where it happened: HTTP by the router's
// middleware, what the workflows did by the activities that wrote it to
// Postgres (never in workflow code, which replays). An activity retried
// after its work was done may count twice: read these as rates, and
// Postgres for exact totals.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/portalaccess/portal"
)

// Registry holds every metric the process exports: the product's below,
// the Go runtime's, and the Temporal SDK's (registered by the service).
var Registry = prometheus.NewRegistry()

var (
	// HTTPRequests counts answers by route pattern (never the raw URL,
	// which carries tokens), method and status.
	HTTPRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_http_requests_total", Help: "HTTP requests answered, by route pattern, method and status.",
	}, []string{"route", "method", "status"})
	// HTTPDuration is the time to answer, by route pattern and method.
	HTTPDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "portal_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route pattern and method.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method"})

	// Invitations counts invitations by event: started, accepted, expired,
	// revoked, undeliverable (a closing status as the activity stored it).
	Invitations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_invitations_total", Help: "Invitation events: started, accepted, expired, revoked, undeliverable.",
	}, []string{"event"})
	// Emails counts email sends by kind and outcome: sent, failed,
	// rejected (the provider refused the address for good), unconfirmed
	// (a notice whose attempt ended without knowing whether the provider
	// got it; never sent again), unknown (a link's attempt in that state,
	// confirmed before any retry), confirmed (an unknown send the provider
	// turned out to have), misconfigured (refused for our key, domain or
	// sender), throttled (429), suppressed (not sent: the address bounced
	// or complained before), queued (asked for in a workflow task when the
	// mail rate had no room, and left to the mail task queue).
	Emails = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_emails_total", Help: "Email sends by kind and outcome: sent, failed, rejected, unconfirmed, unknown, confirmed, misconfigured, throttled, suppressed, queued.",
	}, []string{"kind", "outcome"})
	// EmailEvents counts the mail provider's webhook events by event
	// (delivered, deferred, bounced, complained, unsubscribed) and how they
	// were taken: recorded, duplicate (already known), unmatched (no email
	// of ours), replayed (a token seen before).
	EmailEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_email_events_total", Help: "Mail provider events received by webhook, by event and result.",
	}, []string{"event", "result"})
	// TemplateFallbacks counts invitations sent with the default template
	// because the help center's own could not be rendered at send time
	// (each also leaves an email_template.fell_back audit event).
	TemplateFallbacks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "portal_email_template_fallbacks_total", Help: "Invitations sent with the default template because the help center's could not be rendered.",
	})
	// Signups counts sign-ups by outcome: verified, activated, and the
	// closing statuses (rejected, expired, undeliverable).
	Signups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_signups_total", Help: "Sign-ups by outcome: verified, activated, rejected, expired, undeliverable.",
	}, []string{"outcome"})
	// BulkJobs counts bulk jobs by event: started, and how they ended.
	BulkJobs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_bulk_jobs_total", Help: "Bulk invitation jobs: started, and how they ended (completed, cancelled, failed).",
	}, []string{"event"})
	// BulkContacts counts the contacts bulk jobs have been through, by
	// result (invited, already_invited, skipped, failed): a job's progress
	// is the rate of this counter.
	BulkContacts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_bulk_contacts_total", Help: "Contacts processed by bulk jobs, by result.",
	}, []string{"result"})
	// Lockouts counts logins refused because the address is locked out.
	Lockouts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "portal_login_lockouts_total", Help: "Login attempts refused because the address is locked out.",
	})
	// RateLimited counts 429 answers by the limit met: client (per
	// address), target (per email address or link), api (the API's, such as
	// resends of one invitation).
	RateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_rate_limited_total", Help: "Requests answered 429, by the limit they met: client, target, api.",
	}, []string{"limit"})
	// WebhookSignatureFailures counts mail provider webhooks whose
	// signature did not verify: forged, or a wrong signing key.
	WebhookSignatureFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "portal_webhook_signature_failures_total", Help: "Mail provider webhooks refused for a bad signature.",
	})
	// Suppressions counts addresses newly suppressed for the installation,
	// by source (webhook: a bounce or complaint Mailgun reported; import:
	// Mailgun's own lists) and reason (bounced, complained).
	Suppressions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_suppressions_total", Help: "Addresses newly suppressed, by source (webhook, import) and reason (bounced, complained).",
	}, []string{"source", "reason"})
	// TemporalUnavailable counts calls to Temporal from any part of the
	// process (requests, the sweeper, the workers' polls) that found it
	// unreachable or slower than their deadline.
	TemporalUnavailable = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "portal_temporal_unavailable_total", Help: "Calls to Temporal that found it unreachable or past their deadline (gRPC Unavailable or DeadlineExceeded).",
	})
	// ErasuresFinished counts erasures whose workflows the sweeper had to
	// close (the request that erased died, or Temporal was unreachable,
	// or a workflow did not end when asked). Normally zero.
	ErasuresFinished = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "portal_erasures_finished_by_sweeper_total", Help: "Contact erasures whose workflows the sweeper closed after the erasing request could not.",
	})
)

// init registers the metrics and starts each known series at zero, so a
// rate or an alert sees the first event, and a dashboard shows every
// series from the start.
func init() {
	for _, e := range []string{"started", "accepted", "expired", "revoked", "undeliverable"} {
		Invitations.WithLabelValues(e)
	}
	for _, k := range []portal.EmailKind{portal.EmailInvite, portal.EmailReminder, portal.EmailWelcome, portal.EmailSignupVerify, portal.EmailPasswordReset} {
		for _, o := range []string{"sent", "failed", "rejected", "unconfirmed", "unknown", "confirmed", "misconfigured", "throttled", "suppressed", "queued"} {
			Emails.WithLabelValues(string(k), o)
		}
	}
	for _, o := range []string{"verified", "activated", "rejected", "expired", "undeliverable"} {
		Signups.WithLabelValues(o)
	}
	for _, e := range []string{"started", "completed", "cancelled", "failed"} {
		BulkJobs.WithLabelValues(e)
	}
	for _, o := range []portal.Outcome{portal.OutcomeInvited, portal.OutcomeAlreadyInvited, portal.OutcomeFailed} {
		BulkContacts.WithLabelValues(string(o))
	}
	for _, e := range []string{"delivered", "deferred", "bounced", "complained"} {
		EmailEvents.WithLabelValues(e, "recorded")
	}
	for _, src := range []string{"webhook", "import"} {
		for _, r := range []portal.UndeliverableReason{portal.UndeliverableBounced, portal.UndeliverableComplained} {
			Suppressions.WithLabelValues(src, string(r))
		}
	}
	for _, l := range []string{"client", "target", "api"} {
		RateLimited.WithLabelValues(l)
	}
	Registry.MustRegister(
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		HTTPRequests, HTTPDuration, Invitations, Emails, EmailEvents, Signups, BulkJobs, BulkContacts,
		Lockouts, RateLimited, WebhookSignatureFailures, TemporalUnavailable, TemplateFallbacks, ErasuresFinished, Suppressions,
	)
}
