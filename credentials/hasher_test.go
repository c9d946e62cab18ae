package credentials

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// Many hashes asked for at once never run more than the pool's size
// together; with a wait far longer than the work, every one of them runs.
func TestHasherRunsAtMostItsConcurrencyAtOnce(t *testing.T) {
	h := NewHasher(2, time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 12 {
		wg.Go(func() {
			hash, err := h.Hash(context.Background(), "correct horse battery")
			if err == nil {
				var ok bool
				ok, err = h.Check(context.Background(), hash, "correct horse battery")
				if !ok && err == nil {
					err = errors.New("own hash refused")
				}
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := h.Peak(); p != 2 {
		t.Fatalf("peak concurrent hashes %d, want exactly the pool size 2", p)
	}
}

// A hash that finds every slot taken for the whole wait gives up with
// ErrBusy instead of queueing; the unknown-address check shares the bound.
func TestHasherAnswersBusyWhenNoSlotFrees(t *testing.T) {
	h := NewHasher(1, 10*time.Millisecond)
	if err := h.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Hash(context.Background(), "correct horse battery"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with the pool full: %v, want ErrBusy", err)
	}
	if _, err := h.Check(context.Background(), h.dummy, "correct horse battery"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Check with the pool full: %v, want ErrBusy", err)
	}
	if err := h.CheckUnknown(context.Background(), "correct horse battery"); !errors.Is(err, ErrBusy) {
		t.Fatalf("CheckUnknown with the pool full: %v, want ErrBusy", err)
	}
	h.release()
	if err := h.CheckUnknown(context.Background(), "correct horse battery"); err != nil {
		t.Fatalf("CheckUnknown with a free slot: %v", err)
	}
	if p := h.Peak(); p != 1 {
		t.Fatalf("peak %d, want 1", p)
	}
}

func TestHasherRefusesABrokenRuleBeforeTakingASlot(t *testing.T) {
	h := NewHasher(1, time.Millisecond)
	if _, err := h.Hash(context.Background(), "short"); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("short password: %v", err)
	}
	if h.Peak() != 0 {
		t.Fatal("a refused password took a hashing slot")
	}
}

func TestPseudonymsDifferByPurposeValueAndKey(t *testing.T) {
	a, _ := NewTokens(bytes.Repeat([]byte{1}, 32))
	b, _ := NewTokens(bytes.Repeat([]byte{2}, 32))
	p := a.Pseudonym("login", "ada@example.com")
	if !bytes.Equal(p, a.Pseudonym("login", "ada@example.com")) {
		t.Fatal("the same inputs must give the same pseudonym")
	}
	for _, other := range [][]byte{a.Pseudonym("signup", "ada@example.com"), a.Pseudonym("login", "bo@example.com"),
		b.Pseudonym("login", "ada@example.com"), a.Pseudonym("loginada", "@example.com")} {
		if bytes.Equal(other, p) {
			t.Fatal("pseudonym collision")
		}
	}
	if bytes.Contains(p, []byte("ada")) {
		t.Fatal("pseudonym holds the value in clear")
	}
}
