package store_test

import (
	"context"
	"encoding/base64"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

func TestClampLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want int }{
		{math.MinInt, store.DefaultLimit},
		{-1, store.DefaultLimit},
		{0, store.DefaultLimit},
		{1, 1},
		{store.DefaultLimit + 1, store.DefaultLimit + 1},
		{store.MaxLimit, store.MaxLimit},
		{store.MaxLimit + 1, store.MaxLimit},
		{math.MaxInt, store.MaxLimit},
	} {
		if got := store.ClampLimit(tc.in); got != tc.want {
			t.Errorf("ClampLimit(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// pageAll follows NextCursor from the first page to the end and returns
// every item seen. Every page but the last must be full, every page must
// be a non-nil slice, and the last page must carry no cursor.
func pageAll[T any](t *testing.T, limit int, list func(cursor string, limit int) (store.Page[T], error)) []T {
	t.Helper()
	var all []T
	cursor := ""
	for range 10_000 {
		p, err := list(cursor, limit)
		if err != nil {
			t.Fatalf("page after %q: %v", cursor, err)
		}
		if p.Items == nil {
			t.Fatalf("page after %q: Items is nil", cursor)
		}
		all = append(all, p.Items...)
		if p.NextCursor == "" {
			if len(p.Items) > limit {
				t.Fatalf("last page has %d items, limit %d", len(p.Items), limit)
			}
			return all
		}
		if len(p.Items) != limit {
			t.Fatalf("page after %q has %d items and a cursor, want a full page of %d", cursor, len(p.Items), limit)
		}
		if p.NextCursor == cursor {
			t.Fatalf("cursor %q does not move", cursor)
		}
		cursor = p.NextCursor
	}
	t.Fatal("the cursor never reached the last page")
	return nil
}

// pagesIn returns how many pages a list takes at limit.
func pagesIn[T any](t *testing.T, limit int, list func(cursor string, limit int) (store.Page[T], error)) int {
	t.Helper()
	n := 0
	cursor := ""
	for {
		p, err := list(cursor, limit)
		if err != nil {
			t.Fatal(err)
		}
		n++
		if p.NextCursor == "" {
			return n
		}
		cursor = p.NextCursor
	}
}

func ids(t *testing.T, query string, args ...any) []int64 {
	t.Helper()
	var out []int64
	if err := db.DB.NewRaw(query, args...).Scan(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkPaging pages through a list at several limits and compares what it
// saw, in order, with want. A limit that divides the rows evenly must not
// leave an empty page behind a cursor.
func checkPaging[T any](t *testing.T, want []int64, id func(T) int64, list func(cursor string, limit int) (store.Page[T], error)) {
	t.Helper()
	n := len(want)
	for _, limit := range []int{1, 2, 3, n - 1, n, n + 1} {
		if limit < 1 {
			continue
		}
		var got []int64
		for _, item := range pageAll(t, limit, list) {
			got = append(got, id(item))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: paged %v, want %v", limit, got, want)
		}
		if pages, full := pagesIn(t, limit, list), (n+limit-1)/limit; pages != full {
			t.Fatalf("limit %d: %d rows took %d pages, want %d", limit, n, pages, full)
		}
	}
}

// The help center and department lists cover whole tables, so these tests
// do not run in parallel: no other test writes while they compare pages
// with the table.

func TestListHelpCentersPagesEveryRowOnce(t *testing.T) {
	for range 7 {
		newHelpCenter(t, "hcpage")
	}
	want := ids(t, `SELECT id FROM help_centers ORDER BY id`)
	checkPaging(t, want, func(h store.HelpCenter) int64 { return h.ID },
		func(cursor string, limit int) (store.Page[store.HelpCenter], error) {
			return db.ListHelpCenters(context.Background(), cursor, limit)
		})
}

func TestListDepartmentsPagesEveryRowOnce(t *testing.T) {
	for range 7 {
		if err := db.CreateDepartment(context.Background(), &store.Department{Name: unique("Billing"), Active: true}); err != nil {
			t.Fatal(err)
		}
	}
	want := ids(t, `SELECT id FROM departments ORDER BY id`)
	checkPaging(t, want, func(d store.Department) int64 { return d.ID },
		func(cursor string, limit int) (store.Page[store.Department], error) {
			return db.ListDepartments(context.Background(), cursor, limit)
		})
}

func TestListContactsPagesEveryRowOnce(t *testing.T) {
	t.Parallel()
	marker := unique("contactpage") + "."
	var want []int64
	for i := range 7 {
		email := marker + string(rune('a'+i)) + "@example.com"
		c := &store.Contact{Email: &email, Name: "Grace"}
		if err := db.CreateContact(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		want = append(want, c.ID)
	}
	checkPaging(t, want, func(c store.Contact) int64 { return c.ID },
		func(cursor string, limit int) (store.Page[store.Contact], error) {
			return db.ListContacts(context.Background(), store.ContactFilter{Query: marker}, cursor, limit)
		})
}

func TestListUsersPagesEveryRowOnce(t *testing.T) {
	t.Parallel()
	hc := newHelpCenter(t, "userpage")
	var want []int64
	for range 7 {
		c := newContact(t, "userpage")
		invite(t, hc, c)
		id, err := db.AccountID(context.Background(), c.ID, hc.AccountScope())
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	slices.Sort(want)
	checkPaging(t, want, func(u store.PortalUser) int64 { return u.AccountID },
		func(cursor string, limit int) (store.Page[store.PortalUser], error) {
			return db.ListUsers(context.Background(), hc.ID, portal.AccessInvited, cursor, limit)
		})
}

// Invitations page newest first by creation time, then by ID; several
// share a creation time (a bulk job starts many in one instant), so the
// cursor must carry the ID and the time to the microsecond.
func TestListInvitationsPagesEveryRowOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc := newHelpCenter(t, "invpage")
	older := time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC)
	newer := older.Add(time.Microsecond)
	type row struct {
		id string
		at time.Time
	}
	var rows []row
	for i := range 7 {
		inv := invite(t, hc, newContact(t, "invpage"))
		at := older
		if i%2 == 0 {
			at = newer
		}
		if _, err := db.DB.NewRaw(`UPDATE invitations SET created_at = ? WHERE id = ?`, at, inv.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row{inv.ID, at})
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(b.id, a.id)
	})
	// Invitation IDs are UUIDs; number them in the expected order so the
	// shared checks compare positions.
	position := map[string]int64{}
	want := make([]int64, len(rows))
	for i, r := range rows {
		position[r.id] = int64(i)
		want[i] = int64(i)
	}
	checkPaging(t, want, func(inv store.Invitation) int64 {
		p, ok := position[inv.ID]
		if !ok {
			t.Fatalf("invitation %s is not from this help center", inv.ID)
		}
		return p
	}, func(cursor string, limit int) (store.Page[store.Invitation], error) {
		return db.ListInvitations(ctx, store.InvitationFilter{HelpCenterID: hc.ID}, cursor, limit)
	})
}

func TestListsAnswerEmptyNonNilSlice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc := newHelpCenter(t, "empty")
	past := store.EncodeIDCursor(math.MaxInt64)
	check := func(t *testing.T, n int, isNil bool, cursor string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if isNil || n != 0 || cursor != "" {
			t.Fatalf("got nil=%v len=%d cursor=%q, want an empty non-nil slice and no cursor", isNil, n, cursor)
		}
	}
	t.Run("Invitations", func(t *testing.T) {
		p, err := db.ListInvitations(ctx, store.InvitationFilter{HelpCenterID: hc.ID}, "", 0)
		check(t, len(p.Items), p.Items == nil, p.NextCursor, err)
	})
	t.Run("InvitationsOfAStatus", func(t *testing.T) {
		invite(t, hc, newContact(t, "empty"))
		p, err := db.ListInvitations(ctx, store.InvitationFilter{HelpCenterID: hc.ID, Status: portal.InvitationAccepted}, "", 0)
		check(t, len(p.Items), p.Items == nil, p.NextCursor, err)
	})
	t.Run("Users", func(t *testing.T) {
		p, err := db.ListUsers(ctx, hc.ID, portal.AccessActive, "", 0)
		check(t, len(p.Items), p.Items == nil, p.NextCursor, err)
	})
	t.Run("Contacts", func(t *testing.T) {
		p, err := db.ListContacts(ctx, store.ContactFilter{Query: unique("nobody")}, "", 0)
		check(t, len(p.Items), p.Items == nil, p.NextCursor, err)
	})
	t.Run("HelpCentersPastTheEnd", func(t *testing.T) {
		p, err := db.ListHelpCenters(ctx, past, 0)
		check(t, len(p.Items), p.Items == nil, p.NextCursor, err)
	})
	t.Run("DepartmentsPastTheEnd", func(t *testing.T) {
		p, err := db.ListDepartments(ctx, past, 0)
		check(t, len(p.Items), p.Items == nil, p.NextCursor, err)
	})
}

func TestListsClampLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	marker := unique("clamp") + "."
	rows := make([]store.Contact, store.MaxLimit+1)
	for i := range rows {
		email := marker + uuid.NewString() + "@example.com"
		rows[i] = store.Contact{Email: &email, Name: "Linus"}
	}
	if _, err := db.DB.NewInsert().Model(&rows).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	f := store.ContactFilter{Query: marker}
	for _, tc := range []struct {
		name  string
		limit int
		want  int
	}{
		{"ZeroIsDefault", 0, store.DefaultLimit},
		{"NegativeIsDefault", -7, store.DefaultLimit},
		{"AboveMaxIsMax", store.MaxLimit + 1, store.MaxLimit},
		{"HugeIsMax", math.MaxInt, store.MaxLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := db.ListContacts(ctx, f, "", tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Items) != tc.want || p.NextCursor == "" {
				t.Fatalf("limit %d: %d items, cursor %q; want %d and a cursor", tc.limit, len(p.Items), p.NextCursor, tc.want)
			}
		})
	}
	t.Run("ClampedPagesStillSeeEveryRow", func(t *testing.T) {
		all := pageAll(t, store.MaxLimit, func(cursor string, _ int) (store.Page[store.Contact], error) {
			return db.ListContacts(ctx, f, cursor, math.MaxInt)
		})
		if len(all) != len(rows) {
			t.Fatalf("paged %d contacts, want %d", len(all), len(rows))
		}
	})
}

// Cursors come from clients; one the store did not issue must be refused
// as such before it reaches Postgres, whose error would be a 500.
func TestListsRefuseBadCursors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc := newHelpCenter(t, "badcursor")
	raw := base64.RawURLEncoding.EncodeToString
	id := uuid.NewString()
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

	idCursors := map[string]string{
		"NotBase64":        "!!!",
		"PaddedBase64":     base64.URLEncoding.EncodeToString([]byte("10")),
		"NotANumber":       raw([]byte("abc")),
		"Negative":         raw([]byte("-1")),
		"Fraction":         raw([]byte("1.5")),
		"Overflow":         raw([]byte("99999999999999999999")),
		"InvitationCursor": store.EncodeTimeCursor(at, id),
	}
	timeCursors := map[string]string{
		"NotBase64":    "!!!",
		"PaddedBase64": base64.URLEncoding.EncodeToString([]byte(at.Format(time.RFC3339Nano) + "|" + id + "x")),
		"NoSeparator":  raw([]byte(at.Format(time.RFC3339Nano) + id)),
		"IDCursor":     store.EncodeIDCursor(42),
		"NotATime":     raw([]byte("yesterday|" + id)),
		"NotAUUID":     store.EncodeTimeCursor(at, "42"),
		"UUIDNoDashes": store.EncodeTimeCursor(at, strings.ReplaceAll(id, "-", "")),
		"UUIDBraces":   store.EncodeTimeCursor(at, "{"+id+"}"),
		"UUIDURN":      store.EncodeTimeCursor(at, "urn:uuid:"+id),
		"YearZero":     store.EncodeTimeCursor(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), id),
		"Year10000":    raw([]byte("10000-01-01T00:00:00Z|" + id)),
		"SQL":          store.EncodeTimeCursor(at, "'; DROP TABLE invitations; --"),
	}
	lists := []struct {
		name    string
		cursors map[string]string
		list    func(cursor string) error
	}{
		{"HelpCenters", idCursors, func(c string) error { _, err := db.ListHelpCenters(ctx, c, 0); return err }},
		{"Departments", idCursors, func(c string) error { _, err := db.ListDepartments(ctx, c, 0); return err }},
		{"Contacts", idCursors, func(c string) error { _, err := db.ListContacts(ctx, store.ContactFilter{}, c, 0); return err }},
		{"Users", idCursors, func(c string) error { _, err := db.ListUsers(ctx, hc.ID, "", c, 0); return err }},
		{"Invitations", timeCursors, func(c string) error {
			_, err := db.ListInvitations(ctx, store.InvitationFilter{HelpCenterID: hc.ID}, c, 0)
			return err
		}},
	}
	for _, l := range lists {
		for name, cursor := range l.cursors {
			t.Run(l.name+"/"+name+"/ErrBadCursor", func(t *testing.T) {
				err := l.list(cursor)
				if !errors.Is(err, store.ErrBadCursor) {
					t.Fatalf("cursor %q: got %v, want ErrBadCursor", cursor, err)
				}
				var pgErr pgdriver.Error
				if errors.As(err, &pgErr) {
					t.Fatalf("cursor %q reached the database: %v", cursor, err)
				}
			})
		}
	}
}
