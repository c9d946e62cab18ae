package store

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ErrBadCursor is returned for a pagination cursor the store did not issue.
var ErrBadCursor = errors.New("invalid cursor")

// Page is one page of a keyset-paginated list.
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// DefaultLimit and MaxLimit bound list pages.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// ClampLimit returns a page size within bounds.
func ClampLimit(n int) int {
	if n <= 0 {
		return DefaultLimit
	}
	return min(n, MaxLimit)
}

func encodeIDCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

func decodeIDCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, ErrBadCursor
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || id < 0 {
		return 0, ErrBadCursor
	}
	return id, nil
}

func encodeTimeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeTimeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", ErrBadCursor
	}
	ts, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return time.Time{}, "", ErrBadCursor
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, "", ErrBadCursor
	}
	// Only what Postgres takes: a canonical UUID and a year it can store.
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 || t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, "", ErrBadCursor
	}
	return t, id, nil
}

func encodeStringCursor(k string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("k|" + k))
}

func decodeStringCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "k|") {
		return "", ErrBadCursor
	}
	return strings.TrimPrefix(string(b), "k|"), nil
}

// CursorAfterID is the cursor of an id-ordered list (contacts, users)
// whose next page starts after id: a page from anywhere in the chain,
// for benchmarks and tools that start in the middle.
func CursorAfterID(id int64) string { return encodeIDCursor(id) }

// CursorAfterInvitation is the cursor of the invitation list whose next
// page starts after the invitation created at createdAt with id.
func CursorAfterInvitation(createdAt time.Time, id string) string {
	return encodeTimeCursor(createdAt, id)
}
