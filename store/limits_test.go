package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/testenv"
)

func take(t *testing.T, st *store.Store, scope, key string, rate portal.Rate) (bool, time.Duration) {
	t.Helper()
	ok, retry, err := st.TakeRate(context.Background(), scope, []byte(key), rate)
	if err != nil {
		t.Fatal(err)
	}
	return ok, retry
}

func TestTakeRateAllowsTheCountThenSaysHowLongToWait(t *testing.T) {
	t.Parallel()
	key, rate := unique("rate"), portal.Rate{Count: 3, Per: time.Minute}
	for i := range 3 {
		if ok, _ := take(t, db, "test", key, rate); !ok {
			t.Fatalf("attempt %d of 3 refused", i+1)
		}
	}
	ok, retry := take(t, db, "test", key, rate)
	if ok {
		t.Fatal("fourth attempt in a minute allowed")
	}
	// One attempt is earned back every 20 s.
	if retry < 15*time.Second || retry > 20*time.Second {
		t.Fatalf("retry after %v, want about 20s", retry)
	}
	// Refusals cost nothing: the wait does not grow.
	if _, again := take(t, db, "test", key, rate); again > retry {
		t.Fatalf("a refusal pushed the wait from %v to %v", retry, again)
	}
	// Another key and another scope have buckets of their own.
	if ok, _ := take(t, db, "test", key+"-other", rate); !ok {
		t.Fatal("another key was refused")
	}
	if ok, _ := take(t, db, "other-test", key, rate); !ok {
		t.Fatal("another scope was refused")
	}
}

func TestTakeRateEarnsAttemptsBackAsTimePasses(t *testing.T) {
	t.Parallel()
	key, rate := unique("refill"), portal.Rate{Count: 2, Per: time.Minute}
	take(t, db, "test", key, rate)
	take(t, db, "test", key, rate)
	if ok, _ := take(t, db, "test", key, rate); ok {
		t.Fatal("third attempt allowed")
	}
	// Thirty seconds later (the bucket's clock moved back), one attempt is
	// earned back, and only one.
	if _, err := db.DB.NewRaw(`UPDATE rate_limits SET tat = tat - interval '30 seconds' WHERE scope = 'test' AND key = ?`, []byte(key)).
		Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ok, _ := take(t, db, "test", key, rate); !ok {
		t.Fatal("an earned-back attempt was refused")
	}
	if ok, _ := take(t, db, "test", key, rate); ok {
		t.Fatal("two attempts allowed after earning back one")
	}
}

func TestReturnRateGivesBackOneAttempt(t *testing.T) {
	t.Parallel()
	key, rate := unique("giveback"), portal.Rate{Count: 1, Per: time.Minute}
	take(t, db, "test", key, rate)
	if err := db.ReturnRate(context.Background(), "test", []byte(key), rate); err != nil {
		t.Fatal(err)
	}
	if ok, _ := take(t, db, "test", key, rate); !ok {
		t.Fatal("a returned attempt was not given back")
	}
	if ok, _ := take(t, db, "test", key, rate); ok {
		t.Fatal("more than the returned attempt was given back")
	}
}

// Attempts spent by force leave nothing for TakeRate until time has paid
// back every one of them, beyond the bucket's count.
func TestSpendRateRunsIntoDebtThatTakeRateWaitsOut(t *testing.T) {
	t.Parallel()
	key, rate := unique("spend"), portal.Rate{Count: 2, Per: time.Minute}
	for range 4 {
		if err := db.SpendRate(context.Background(), "test", []byte(key), rate); err != nil {
			t.Fatal(err)
		}
	}
	ok, retry := take(t, db, "test", key, rate)
	if ok {
		t.Fatal("an attempt was allowed while the bucket was in debt")
	}
	// Four spent of two a minute: the debt is two attempts past the
	// count, a minute to pay back, then half a minute to earn the next.
	if retry < 85*time.Second || retry > 90*time.Second {
		t.Fatalf("retry after %v, want about 90s", retry)
	}
	if _, err := db.DB.NewRaw(`UPDATE rate_limits SET tat = tat - interval '90 seconds' WHERE scope = 'test' AND key = ?`, []byte(key)).
		Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ok, _ := take(t, db, "test", key, rate); !ok {
		t.Fatal("refused once the debt was paid back")
	}
}

// Two replicas (two connection pools) taking from one bucket at once never
// let more than the count through.
func TestTakeRateIsSharedAndExactAcrossReplicas(t *testing.T) {
	t.Parallel()
	url, drop, err := testenv.Database(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	replicas := []*store.Store{store.Open(url), store.Open(url)}
	defer func() {
		for _, r := range replicas {
			_ = r.Close()
		}
	}()
	rate := portal.Rate{Count: 10, Per: time.Hour}
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			ok, _, err := replicas[i%2].TakeRate(context.Background(), "test", []byte("shared"), rate)
			if err != nil {
				t.Error(err)
			}
			if ok {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 10 {
		t.Fatalf("%d of 40 concurrent attempts allowed, want exactly 10", n)
	}
}

func TestPurgeRatesDropsOnlyEmptiedBuckets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	full, empty := unique("purge-full"), unique("purge-empty")
	rate := portal.Rate{Count: 1, Per: time.Hour}
	take(t, db, "test", full, rate)
	take(t, db, "test", empty, rate)
	if _, err := db.DB.NewRaw(`UPDATE rate_limits SET tat = now() - interval '1 second' WHERE key = ?`, []byte(empty)).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PurgeRates(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, `SELECT count(*) FROM rate_limits WHERE key = ?`, []byte(empty)); n != 0 {
		t.Fatal("an emptied bucket survived the purge")
	}
	if n := count(t, `SELECT count(*) FROM rate_limits WHERE key = ?`, []byte(full)); n != 1 {
		t.Fatal("a bucket in use was purged")
	}
}

func lockedFor(t *testing.T, key string) time.Duration {
	t.Helper()
	d, err := db.LoginLocked(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func fail(t *testing.T, key string) time.Duration {
	t.Helper()
	d, err := db.RecordLoginFailure(context.Background(), key, portal.DefaultLoginLockout)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLoginFailuresLockFromTheThresholdForLongerEachTime(t *testing.T) {
	t.Parallel()
	key := unique("lockout")
	for i := 1; i < 10; i++ {
		if d := fail(t, key); d != 0 {
			t.Fatalf("failure %d locked for %v", i, d)
		}
	}
	if d := lockedFor(t, key); d != 0 {
		t.Fatalf("locked for %v after 9 failures", d)
	}
	if d := fail(t, key); d != time.Minute {
		t.Fatalf("tenth failure locked for %v, want 1m", d)
	}
	if d := lockedFor(t, key); d < 50*time.Second || d > time.Minute {
		t.Fatalf("locked for %v after the tenth failure, want about 1m", d)
	}
	if d := fail(t, key); d != 2*time.Minute {
		t.Fatalf("eleventh failure locked for %v, want 2m", d)
	}
	if err := db.ClearLoginFailures(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if d := lockedFor(t, key); d != 0 {
		t.Fatalf("still locked for %v after clearing", d)
	}
	if d := fail(t, key); d != 0 {
		t.Fatal("the count did not restart after clearing")
	}
}

// The count restarts after a quiet window, measured from the last failure
// or the end of the last lock, whichever is later.
func TestLoginFailuresRestartAfterAQuietWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := unique("quiet")
	for range 9 {
		fail(t, key)
	}
	if _, err := db.DB.NewRaw(`UPDATE login_failures SET last_failed_at = now() - interval '16 minutes' WHERE key = ?`, key).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if d := fail(t, key); d != 0 {
		t.Fatalf("a failure after a quiet window locked for %v", d)
	}

	locked := unique("quiet-locked")
	for range 10 {
		fail(t, locked)
	}
	// The last failure was long ago but the lock ended only now: the count
	// goes on, so the next failure locks for longer.
	if _, err := db.DB.NewRaw(`UPDATE login_failures SET last_failed_at = now() - interval '1 hour', locked_until = now() WHERE key = ?`, locked).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if d := fail(t, locked); d != 2*time.Minute {
		t.Fatalf("a failure right after a lock locked for %v, want 2m", d)
	}
	if n, err := db.PurgeLoginFailures(ctx, portal.DefaultLoginLockout.Window); err != nil || count(t, `SELECT count(*) FROM login_failures WHERE key = ?`, locked) != 1 {
		t.Fatalf("purge removed a running count (%d purged, %v)", n, err)
	}
	if _, err := db.DB.NewRaw(`UPDATE login_failures SET last_failed_at = now() - interval '1 hour', locked_until = now() - interval '16 minutes' WHERE key = ?`, locked).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PurgeLoginFailures(ctx, portal.DefaultLoginLockout.Window); err != nil {
		t.Fatal(err)
	}
	if count(t, `SELECT count(*) FROM login_failures WHERE key = ?`, locked) != 0 {
		t.Fatal("a count past its window survived the purge")
	}
}
