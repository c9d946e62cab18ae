package service

import (
	"context"
	"time"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/erasure"
	"github.com/portalaccess/portal/metrics"
	"github.com/portalaccess/portal/starter"
)

// RunSweeper finishes, every interval, what a process stored and then
// could not carry on with (it died, or Temporal was unreachable): pending
// auto-invites, bulk jobs whose workflow never started, and staged
// passwords nothing will use; and it purges expired sessions, spent
// attempt counters and long-dead link tokens. Each step is safe to
// repeat: an invitation's or a bulk job's workflow ID makes a second start
// find the first. Work stored less than grace ago is left to the request
// that stored it.
func (s *Service) RunSweeper(ctx context.Context, interval, grace time.Duration) {
	start := s.Starter()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.sweep(ctx, start, grace)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) sweep(ctx context.Context, start *starter.Starter, grace time.Duration) {
	pending, err := s.Store.PendingAutoInvites(ctx, grace, 100)
	if err != nil && ctx.Err() == nil {
		s.Logger.Warn("sweep auto-invites", "error", err)
	}
	for _, p := range pending {
		status, _ := start.AutoInvite(ctx, p)
		s.Logger.Info("auto-invite recovered", "ticket_id", p.TicketID, "status", status)
	}

	jobs, err := s.Store.UnstartedBulkJobs(ctx, grace, 100)
	if err != nil && ctx.Err() == nil {
		s.Logger.Warn("sweep bulk jobs", "error", err)
	}
	for i := range jobs {
		job := &jobs[i]
		hc, err := s.Store.HelpCenterByID(ctx, job.HelpCenterID)
		if err == nil {
			err = start.Bulk(ctx, hc, job)
		}
		if err != nil {
			s.Logger.Warn("start stored bulk job", "job_id", job.ID, "error", err)
			continue
		}
		s.Logger.Info("bulk job started by the sweeper", "job_id", job.ID)
	}

	s.finishErasures(ctx, grace)

	if n, err := s.Store.PurgeStaleCredentials(ctx, time.Hour); err != nil && ctx.Err() == nil {
		s.Logger.Warn("purge staged passwords", "error", err)
	} else if n > 0 {
		s.Logger.Info("staged passwords purged", "count", n)
	}
	if n, err := s.Store.PurgeStaleAccountPasswords(ctx, time.Hour); err != nil && ctx.Err() == nil {
		s.Logger.Warn("purge staged account passwords", "error", err)
	} else if n > 0 {
		s.Logger.Info("staged account passwords purged", "count", n)
	}
	s.purgeSecurityState(ctx)
}

// erasureSettle is how long after an erasure's workflows closed the
// sweeper still removes what a send under way at the erasure wrote: more
// than an email activity's longest attempt.
const erasureSettle = 15 * time.Minute

// finishErasures closes the workflows of erasures that the request which
// erased could not finish (it died, or Temporal was unreachable),
// terminating those that did not end when asked, and removes late sends.
func (s *Service) finishErasures(ctx context.Context, grace time.Duration) {
	open, err := s.Store.ErasuresToFinish(ctx, grace, erasureSettle, 100)
	if err != nil && ctx.Err() == nil {
		s.Logger.Warn("sweep erasures", "error", err)
	}
	for i := range open {
		e := &open[i]
		forced := e.ClosedAt == nil
		if _, err := erasure.Finish(ctx, s.Store, s.Temporal, e, true); err != nil {
			s.Logger.Warn("finish erasure", "contact_id", e.ContactID, "error", err)
			continue
		}
		if forced {
			metrics.ErasuresFinished.Inc()
			s.Logger.Info("erasure finished by the sweeper", "contact_id", e.ContactID, "workflows", len(e.WorkflowIDs))
		}
	}
}

// staleTokenAge is how long a link of an invitation or sign-up that ended
// keeps explaining itself ("already accepted", "expired") before it is
// forgotten and reads as not valid.
const staleTokenAge = 30 * 24 * time.Hour

// purgeSecurityState drops what only mattered for a while: sessions past
// their lifetime or idle timeout, attempt counters that have run down,
// and link tokens of invitations and sign-ups that ended long ago.
func (s *Service) purgeSecurityState(ctx context.Context) {
	for _, p := range []struct {
		what string
		run  func() (int64, error)
	}{
		{"sessions", func() (int64, error) { return s.Store.PurgeSessions(ctx, s.Config.SessionIdleTimeout) }},
		{"rate limit counters", func() (int64, error) { return s.Store.PurgeRates(ctx) }},
		{"login failure counts", func() (int64, error) {
			return s.Store.PurgeLoginFailures(ctx, portal.DefaultLoginLockout.Window)
		}},
		{"stale link tokens", func() (int64, error) { return s.Store.PurgeStaleTokens(ctx, staleTokenAge) }},
		{"old password reset links", func() (int64, error) { return s.Store.PurgeOldPasswordResets(ctx, staleTokenAge) }},
		{"forgot-password requests", func() (int64, error) { return s.Store.PurgeResetRequests(ctx, time.Hour) }},
		{"expired webhook tokens", func() (int64, error) { return s.Store.PurgeWebhookTokens(ctx) }},
	} {
		n, err := p.run()
		switch {
		case err != nil && ctx.Err() == nil:
			s.Logger.Warn("purge "+p.what, "error", err)
		case n > 0:
			s.Logger.Info(p.what+" purged", "count", n)
		}
	}
}
