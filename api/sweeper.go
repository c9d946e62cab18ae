package api

import (
	"context"
	"time"
)

// RunSweeper finishes, every interval, what a process stored and then
// could not carry on with (it died, or Temporal was unreachable): pending
// auto-invites, bulk jobs whose workflow never started, and staged
// passwords nothing will use. Each step is safe to repeat: an invitation's
// or a bulk job's workflow ID makes a second start find the first.
func (s *Server) RunSweeper(ctx context.Context, interval, grace time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		s.sweep(ctx, grace)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Server) sweep(ctx context.Context, grace time.Duration) {
	pending, err := s.Store.PendingAutoInvites(ctx, grace, 100)
	if err != nil && ctx.Err() == nil {
		s.Logger.Warn("sweep auto-invites", "error", err)
	}
	for _, p := range pending {
		status, _ := s.autoInvite(ctx, p)
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
			err = s.startBulk(ctx, hc, job)
		}
		if err != nil {
			s.Logger.Warn("start stored bulk job", "job_id", job.ID, "error", err)
			continue
		}
		s.Logger.Info("bulk job started by the sweeper", "job_id", job.ID)
	}

	if n, err := s.Store.PurgeStaleCredentials(ctx, time.Hour); err != nil && ctx.Err() == nil {
		s.Logger.Warn("purge staged passwords", "error", err)
	} else if n > 0 {
		s.Logger.Info("staged passwords purged", "count", n)
	}
}
