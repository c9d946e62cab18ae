package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/portalaccess/portal"
)

// TakeRate counts one attempt against the (scope, key) bucket of rate. It
// reports whether the attempt is allowed and, when it is not, how long
// until one would be. The decision is one statement, so every replica
// sharing the database agrees; a refused attempt costs the bucket nothing.
func (s *Store) TakeRate(ctx context.Context, scope string, key []byte, rate portal.Rate) (bool, time.Duration, error) {
	interval, period := rate.Interval().Seconds(), rate.Per.Seconds()
	var res struct {
		Allowed bool    `bun:"allowed"`
		Retry   float64 `bun:"retry"`
	}
	// The INSERT ... ON CONFLICT DO UPDATE ... WHERE decides under the
	// row's lock; the SELECT beside it reads the row as it was before, which
	// is what a refusal's wait is computed from.
	err := s.DB.NewRaw(`WITH taken AS (
			INSERT INTO rate_limits AS r (scope, key, tat) VALUES (?0, ?1, now() + make_interval(secs => ?2))
			ON CONFLICT (scope, key) DO UPDATE SET tat = greatest(r.tat, now()) + make_interval(secs => ?2)
			WHERE greatest(r.tat, now()) + make_interval(secs => ?2) - make_interval(secs => ?3) <= now()
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM taken) AS allowed,
			coalesce((SELECT extract(epoch FROM r.tat - now()) FROM rate_limits r WHERE r.scope = ?0 AND r.key = ?1), 0)
				+ ?2 - ?3 AS retry`, scope, key, interval, period).Scan(ctx, &res)
	if err != nil {
		return false, 0, translate(err, "rate limit "+scope)
	}
	if res.Allowed {
		return true, 0, nil
	}
	return false, max(time.Second, time.Duration(res.Retry*float64(time.Second))), nil
}

// SpendRate counts one attempt against the (scope, key) bucket of rate
// whether or not it has room, for an attempt that something else already
// paced (the mail task queue's own limit): the bucket runs into debt, and
// TakeRate refuses until time has paid it back.
func (s *Store) SpendRate(ctx context.Context, scope string, key []byte, rate portal.Rate) error {
	_, err := s.DB.NewRaw(`INSERT INTO rate_limits AS r (scope, key, tat) VALUES (?0, ?1, now() + make_interval(secs => ?2))
		ON CONFLICT (scope, key) DO UPDATE SET tat = greatest(r.tat, now()) + make_interval(secs => ?2)`,
		scope, key, rate.Interval().Seconds()).Exec(ctx)
	return translate(err, "spend rate "+scope)
}

// ReturnRate gives back an attempt taken from the (scope, key) bucket, for
// an attempt that failed on our side and so should not count.
func (s *Store) ReturnRate(ctx context.Context, scope string, key []byte, rate portal.Rate) error {
	_, err := s.DB.NewRaw(`UPDATE rate_limits SET tat = tat - make_interval(secs => ?) WHERE scope = ? AND key = ?`,
		rate.Interval().Seconds(), scope, key).Exec(ctx)
	return translate(err, "return rate "+scope)
}

// PurgeRates drops the buckets that have emptied: they hold nothing a
// fresh bucket would not.
func (s *Store) PurgeRates(ctx context.Context) (int64, error) {
	return s.purge(ctx, "purge rate limits", `DELETE FROM rate_limits WHERE tat < now()`)
}

// LoginLocked reports how long the address behind key stays locked out of
// logging in (zero when it is not).
func (s *Store) LoginLocked(ctx context.Context, key string) (time.Duration, error) {
	var secs []float64
	err := s.DB.NewRaw(`SELECT extract(epoch FROM locked_until - now()) FROM login_failures WHERE key = ? AND locked_until > now()`,
		key).Scan(ctx, &secs)
	if err != nil {
		return 0, translate(err, "login lock")
	}
	if len(secs) == 0 {
		return 0, nil
	}
	return max(time.Second, time.Duration(secs[0]*float64(time.Second))), nil
}

// RecordLoginFailure counts a failed login of the address behind key and
// returns how long the address is now locked for under policy (zero below
// the threshold). The count restarts when the last failure, or the end of
// the last lock, is more than the policy's window ago.
func (s *Store) RecordLoginFailure(ctx context.Context, key string, policy portal.LoginLockout) (time.Duration, error) {
	var failures int
	err := s.DB.NewRaw(`INSERT INTO login_failures AS f (key, failures, last_failed_at) VALUES (?0, 1, now())
		ON CONFLICT (key) DO UPDATE SET last_failed_at = now(),
			failures = CASE WHEN greatest(f.last_failed_at, f.locked_until) < now() - make_interval(secs => ?1) THEN 1
				ELSE f.failures + 1 END
		RETURNING failures`, key, policy.Window.Seconds()).Scan(ctx, &failures)
	if err != nil {
		return 0, translate(err, "record login failure")
	}
	lock := policy.Lock(failures)
	if lock == 0 {
		return 0, nil
	}
	// greatest: of two failures landing together, the longer lock stays.
	_, err = s.DB.NewRaw(`UPDATE login_failures SET locked_until = greatest(locked_until, now() + make_interval(secs => ?)) WHERE key = ?`,
		lock.Seconds(), key).Exec(ctx)
	return lock, translate(err, "lock login")
}

// ClearLoginFailures forgets the failed logins of the address behind key
// (credentials.Tokens.AddressKey of the account's scope and address),
// ending any lockout: after a successful login, and when the owner resets
// the password.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	return clearLoginFailures(ctx, s.DB, key)
}

// clearLoginFailures is ClearLoginFailures inside a caller's transaction.
func clearLoginFailures(ctx context.Context, db bun.IDB, key string) error {
	_, err := db.NewRaw(`DELETE FROM login_failures WHERE key = ?`, key).Exec(ctx)
	return translate(err, "clear login failures")
}

// PurgeLoginFailures drops counts that would restart at the next failure
// anyway: no lock running and nothing within the window.
func (s *Store) PurgeLoginFailures(ctx context.Context, window time.Duration) (int64, error) {
	return s.purge(ctx, "purge login failures", `DELETE FROM login_failures
		WHERE greatest(last_failed_at, locked_until) < now() - make_interval(secs => ?)`, window.Seconds())
}

// purge runs a DELETE and returns how many rows it removed.
func (s *Store) purge(ctx context.Context, what, query string, args ...any) (int64, error) {
	res, err := s.DB.NewRaw(query, args...).Exec(ctx)
	if err != nil {
		return 0, translate(err, what)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
