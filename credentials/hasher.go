package credentials

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"
)

// ErrBusy is returned when every hashing slot stayed taken for the whole
// wait: the caller answers 503 with Retry-After rather than queue more
// work (each argon2id hash holds 19 MiB while it runs).
var ErrBusy = errors.New("password hashing is at capacity")

// Hasher runs argon2id password hashes in a bounded pool, so a flood of
// logins costs a fixed amount of memory and CPU instead of piling up.
// Every hash a request causes goes through it, the dummy hash of a login
// for an unknown address included.
type Hasher struct {
	slots chan struct{}
	wait  time.Duration
	// dummy is a hash that matches nothing, made once at start.
	dummy string

	mu          sync.Mutex
	inUse, peak int
}

// NewHasher allows concurrency hashes at once (the number of CPUs when 0
// or less); a hash waits at most wait for a slot.
func NewHasher(concurrency int, wait time.Duration) *Hasher {
	if concurrency <= 0 {
		concurrency = runtime.NumCPU()
	}
	dummy, err := HashPassword(Random())
	if err != nil {
		// Only a failing crypto/rand gets here, and Random panics first.
		panic("credentials: dummy hash: " + err.Error())
	}
	return &Hasher{slots: make(chan struct{}, concurrency), wait: wait, dummy: dummy}
}

// Hash returns the argon2id hash of a password that follows the rules.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := CheckPasswordRules(password); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return HashPassword(password)
}

// Check reports whether password matches encoded.
func (h *Hasher) Check(ctx context.Context, encoded, password string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	return CheckPassword(encoded, password)
}

// CheckUnknown does the work of a Check against a hash that matches
// nothing, so that a login for an address without an account costs, and
// takes, as long as one for an address with one. It returns ErrBusy like
// Check.
func (h *Hasher) CheckUnknown(ctx context.Context, password string) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	_, err := CheckPassword(h.dummy, password)
	return err
}

// Peak is the most hashes that have run at once since the hasher was made;
// it never exceeds the concurrency.
func (h *Hasher) Peak() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peak
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
	default:
		t := time.NewTimer(h.wait)
		defer t.Stop()
		select {
		case h.slots <- struct{}{}:
		case <-t.C:
			return ErrBusy
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	h.mu.Lock()
	h.inUse++
	h.peak = max(h.peak, h.inUse)
	h.mu.Unlock()
	return nil
}

func (h *Hasher) release() {
	h.mu.Lock()
	h.inUse--
	h.mu.Unlock()
	<-h.slots
}
