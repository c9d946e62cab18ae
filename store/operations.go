package store

import (
	"context"
	"time"
)

// OperationsState is what operators watch that only Postgres knows: it is
// the same for every replica, so each reports it and dashboards take the
// max.
type OperationsState struct {
	// BulkJobsRunning are bulk jobs not yet completed, cancelled or failed.
	BulkJobsRunning int
	// EmailsUnconfirmed are sends of the last 7 days that ended without
	// knowing whether the provider got them.
	EmailsUnconfirmed int
	// EmailsSendingStuck are sends claimed more than 15 minutes ago and
	// still not finished: a worker died mid-send and none retried it.
	EmailsSendingStuck int
}

// Operations reads the operations state in one round trip.
func (s *Store) Operations(ctx context.Context) (OperationsState, error) {
	var st OperationsState
	now := time.Now()
	err := s.DB.NewRaw(`SELECT
		(SELECT count(*) FROM bulk_jobs WHERE status = 'running'),
		(SELECT count(*) FROM email_log WHERE status = ? AND created_at > ?),
		(SELECT count(*) FROM email_log WHERE status = ? AND updated_at < ?)`,
		EmailUnconfirmed, now.Add(-7*24*time.Hour), EmailSending, now.Add(-15*time.Minute)).
		Scan(ctx, &st.BulkJobsRunning, &st.EmailsUnconfirmed, &st.EmailsSendingStuck)
	return st, err
}
