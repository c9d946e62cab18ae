package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// importReport is the body of a successful POST /api/v1/contacts/import.
type importReport struct {
	Created       int           `json:"created"`
	Updated       int           `json:"updated"`
	RejectedCount int           `json:"rejected_count"`
	Rejected      []rejectedRow `json:"rejected"`
}

type rejectedRow struct {
	Line   int    `json:"line"`
	Email  string `json:"email"`
	Reason string `json:"reason"`
}

const (
	reasonBadEmail      = "bad email"
	reasonMissingColumn = "missing column"
	reasonDuplicate     = "duplicate in file"
	reasonBadVerified   = "bad verified value (use true or false)"
)

// postImport posts body to the import endpoint with the given content type.
func postImport(t *testing.T, contentType string, body io.Reader) response {
	t.Helper()
	return sendStream(t, "POST", "/api/v1/contacts/import", contentType, body)
}

// importFile imports a CSV sent as text/csv and requires a 200 report.
func importFile(t *testing.T, file string) importReport {
	t.Helper()
	return decodeReport(t, postImport(t, "text/csv; charset=utf-8", strings.NewReader(file)))
}

func decodeReport(t *testing.T, r response) importReport {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("import: status %d: %s", r.Status, r.Body)
	}
	var rep importReport
	if err := json.Unmarshal(r.Body, &rep); err != nil {
		t.Fatalf("import report %s: %v", r.Body, err)
	}
	if rep.Rejected == nil {
		t.Fatalf("report without a rejected list: %s", r.Body)
	}
	if rep.RejectedCount < len(rep.Rejected) {
		t.Fatalf("rejected_count %d < %d listed", rep.RejectedCount, len(rep.Rejected))
	}
	return rep
}

type contactItem struct {
	ID       int64   `json:"id"`
	Email    *string `json:"email"`
	Name     string  `json:"name"`
	Verified bool    `json:"verified"`
}

// contactsMatching returns every contact whose email or name contains q,
// keyed by email.
func contactsMatching(t *testing.T, q string) map[string]contactItem {
	t.Helper()
	out := map[string]contactItem{}
	cursor := ""
	for {
		r := call(t, "GET", "/api/v1/contacts?limit=200&q="+url.QueryEscape(q)+"&cursor="+cursor, app.AdminKey, nil)
		if r.Status != 200 {
			t.Fatalf("list contacts: %d %s", r.Status, r.Body)
		}
		var page struct {
			Items      []contactItem `json:"items"`
			NextCursor string        `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Items {
			if c.Email != nil {
				out[*c.Email] = c
			}
		}
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}

func fetchContact(t *testing.T, id int64) contactItem {
	t.Helper()
	r := call(t, "GET", "/api/v1/contacts/"+strconv.FormatInt(id, 10), app.AdminKey, nil)
	if r.Status != 200 {
		t.Fatalf("get contact %d: %d %s", id, r.Status, r.Body)
	}
	var c contactItem
	if err := json.Unmarshal(r.Body, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func createNamedContact(t *testing.T, email, name string, verified bool) int64 {
	t.Helper()
	c := admin(t, "POST", "/api/v1/contacts", map[string]any{"email": email, "name": name, "verified": verified}, 201)
	return int64(c["id"].(float64))
}

func sortedByLine(rows []rejectedRow) []rejectedRow {
	out := slices.Clone(rows)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

func TestContactImportReportsBadRowsByTheirPhysicalLine(t *testing.T) {
	tag := unique("imp")
	e := func(s string) string { return tag + "-" + s + "@example.com" }
	file := strings.Join([]string{
		/* 1 */ "email,name,verified,notes",
		/* 2 */ e("a") + ",Alice,true,ignored",
		/* 3 */ "not-an-email,Bob,false,x",
		/* 4 */ e("b") + `,"Multi`,
		/* 5 */ `line name",false,x`,
		/* 6 */ e("c") + `,"Smith, John ""JJ""",yes,x`,
		/* 7 */ e("d") + ",Dee,maybe,x",
		/* 8 */ e("e"),
		/* 9 */ strings.ToUpper(e("a")) + ",Alice Again,true,x",
		/* 10 */ "",
		/* 11 */ `"` + e("f") + `","Quoted ""Name""",false,x`,
		/* 12 */ ",No Email,true,x",
		/* 13 */ e("g") + `,"Three`,
		/* 14 */ `line`,
		/* 15 */ `name",1,x`,
		/* 16 */ `"Bad, Email <` + e("h") + `>",Hal,true,x`,
		/* 17 */ e("i") + ",Zoë Ångström,true,x",
		/* 18 */ e("j") + ",李雷,false,x",
		/* 19 */ "  " + e("k") + "  ,  Padded Name  ,  TRUE  ",
		/* 20 */ e("l") + ",Last,no,x,extra,columns",
		/* 21 */ e("m") + `,"Bad after newlines",perhaps`,
		/* 22 */ e("n") + "," + strings.Repeat("x", 201) + ",true",
		/* 23 */ e("o") + "," + strings.Repeat("x", 200) + ",true",
	}, "\n") + "\n"

	rep := importFile(t, file)
	wantRejected := []rejectedRow{
		{3, "not-an-email", reasonBadEmail},
		{7, e("d"), reasonBadVerified},
		{8, "", reasonMissingColumn},
		{9, strings.ToUpper(e("a")), reasonDuplicate},
		{12, "", reasonBadEmail},
		{16, "Bad, Email <" + e("h") + ">", reasonBadEmail},
		{21, e("m"), reasonBadVerified},
		{22, e("n"), "name longer than 200 characters"},
	}
	if rep.Created != 10 || rep.Updated != 0 || rep.RejectedCount != len(wantRejected) {
		t.Fatalf("report %+v, want 10 created, 0 updated, %d rejected", rep, len(wantRejected))
	}
	if !slices.Equal(sortedByLine(rep.Rejected), wantRejected) {
		t.Fatalf("rejected\n got %+v\nwant %+v", rep.Rejected, wantRejected)
	}

	want := map[string]struct {
		name     string
		verified bool
	}{
		e("a"): {"Alice", true}, // the first of the duplicates wins
		e("b"): {"Multi\nline name", false},
		e("c"): {`Smith, John "JJ"`, true},
		e("f"): {`Quoted "Name"`, false},
		e("g"): {"Three\nline\nname", true},
		e("i"): {"Zoë Ångström", true},
		e("j"): {"李雷", false},
		e("k"): {"Padded Name", true},
		e("l"): {"Last", false},
		e("o"): {strings.Repeat("x", 200), true},
	}
	got := contactsMatching(t, tag)
	if len(got) != len(want) {
		t.Fatalf("%d contacts with the tag, want %d: %v", len(got), len(want), got)
	}
	for email, w := range want {
		c, ok := got[email]
		if !ok || c.Name != w.name || c.Verified != w.verified {
			t.Errorf("%s: %+v (found %v), want name %q verified %v", email, c, ok, w.name, w.verified)
		}
	}

	// Non-ASCII names are stored exactly and can be searched for.
	for email, name := range map[string]string{e("i"): "Zoë Ångström", e("j"): "李雷"} {
		if c, ok := contactsMatching(t, name)[email]; !ok || c.Name != name {
			t.Errorf("search for %q: %+v (found %v)", name, c, ok)
		}
	}
}

func TestContactImportUpsertsByEmailIgnoringCase(t *testing.T) {
	tag := unique("ups")
	mixed := "Mixed.Case-" + tag + "@Example.com"
	existing := createNamedContact(t, mixed, "Old Name", false)
	keepEmail := tag + "-keep@example.com"
	keep := createNamedContact(t, keepEmail, "Ada Lovelace", true)
	fresh := tag + "-new@example.com"

	file := "email,name,verified\n" +
		strings.ToLower(mixed) + ",New Name,true\n" +
		keepEmail + ",,false\n" + // an empty name keeps the old one
		fresh + ",Newbie,false\n"
	rep := importFile(t, file)
	if rep.Created != 1 || rep.Updated != 2 || rep.RejectedCount != 0 {
		t.Fatalf("report %+v, want 1 created, 2 updated", rep)
	}
	// Stored in its normal form: the domain in lower case, the local part
	// as typed.
	stored := "Mixed.Case-" + tag + "@example.com"
	c := fetchContact(t, existing)
	if c.Name != "New Name" || !c.Verified || c.Email == nil || *c.Email != stored {
		t.Fatalf("upserted contact %+v, want New Name, verified, email %s unchanged", c, stored)
	}
	if c := fetchContact(t, keep); c.Name != "Ada Lovelace" || c.Verified {
		t.Fatalf("contact with an empty name cell: %+v", c)
	}
	if got := contactsMatching(t, tag); len(got) != 3 || got[fresh].Name != "Newbie" {
		t.Fatalf("contacts after import: %v", got)
	}

	// The same file again updates every row: each import is a new file.
	if rep := importFile(t, file); rep.Created != 0 || rep.Updated != 3 || rep.RejectedCount != 0 {
		t.Fatalf("second import %+v, want 3 updated", rep)
	}

	// A file without name and verified columns leaves them alone.
	if rep := importFile(t, "Email\n"+strings.ToUpper(mixed)+"\n"); rep.Created != 0 || rep.Updated != 1 {
		t.Fatalf("email-only import %+v", rep)
	}
	if c := fetchContact(t, existing); c.Name != "New Name" || !c.Verified {
		t.Fatalf("email-only import changed the contact: %+v", c)
	}
	// Columns may come in any order; a verified-only file leaves the name.
	if rep := importFile(t, "verified,email\nfalse,"+mixed+"\n"); rep.Updated != 1 {
		t.Fatalf("verified-only import %+v", rep)
	}
	if c := fetchContact(t, existing); c.Name != "New Name" || c.Verified {
		t.Fatalf("verified-only import: %+v", c)
	}
}

func TestContactImportRejectsDuplicatesAcrossBatches(t *testing.T) {
	tag := unique("dupb")
	e := func(i int) string { return fmt.Sprintf("%s-%d@example.com", tag, i) }
	existingEmail := tag + "-existing@example.com"
	existing := createNamedContact(t, existingEmail, "Before", false)

	var b strings.Builder
	b.WriteString("email,name\n")               // line 1
	b.WriteString(e(0) + ",First\n")            // line 2
	b.WriteString(existingEmail + ",Updated\n") // line 3
	for i := 1; i <= 700; i++ {                 // lines 4..703; the first batch
		fmt.Fprintf(&b, "%s,Row %d\n", e(i), i) // of 500 flushes at line 501
	}
	b.WriteString(strings.ToUpper(e(0)) + ",Second\n")     // line 704: 702 lines after line 2
	b.WriteString(strings.ToUpper(existingEmail) + ",X\n") // line 705: updated in batch 1
	b.WriteString(e(650) + ",Again\n")                     // line 706: same batch as line 653
	b.WriteString(e(0) + ",Third\n")                       // line 707: again, exact case

	rep := importFile(t, b.String())
	want := []rejectedRow{
		{704, strings.ToUpper(e(0)), reasonDuplicate},
		{705, strings.ToUpper(existingEmail), reasonDuplicate},
		{706, e(650), reasonDuplicate},
		{707, e(0), reasonDuplicate},
	}
	if rep.Created != 701 || rep.Updated != 1 || rep.RejectedCount != len(want) {
		t.Fatalf("report created %d updated %d rejected %d, want 701, 1, %d: %+v",
			rep.Created, rep.Updated, rep.RejectedCount, len(want), rep.Rejected)
	}
	if got := sortedByLine(rep.Rejected); !slices.Equal(got, want) {
		t.Fatalf("rejected\n got %+v\nwant %+v", got, want)
	}
	got := contactsMatching(t, tag)
	if len(got) != 702 {
		t.Fatalf("%d contacts with the tag, want 702", len(got))
	}
	if got[e(0)].Name != "First" || got[e(650)].Name != "Row 650" {
		t.Fatalf("a later duplicate overwrote the first row: %+v %+v", got[e(0)], got[e(650)])
	}
	if c := fetchContact(t, existing); c.Name != "Updated" {
		t.Fatalf("existing contact %+v, want the first row's name", c)
	}
}

func TestContactImportCountsEveryRejectionButListsTheFirst1000(t *testing.T) {
	var b strings.Builder
	b.WriteString("email\n")
	for i := 0; i < 1200; i++ {
		fmt.Fprintf(&b, "nobody-%d\n", i)
	}
	rep := importFile(t, b.String())
	if rep.Created != 0 || rep.RejectedCount != 1200 || len(rep.Rejected) != 1000 {
		t.Fatalf("created %d, rejected_count %d, %d listed", rep.Created, rep.RejectedCount, len(rep.Rejected))
	}
	if first, last := rep.Rejected[0], rep.Rejected[999]; first != (rejectedRow{2, "nobody-0", reasonBadEmail}) || last != (rejectedRow{1001, "nobody-999", reasonBadEmail}) {
		t.Fatalf("listed rejections run from %+v to %+v", first, last)
	}
}

func TestContactImportAcceptsAMultipartUpload(t *testing.T) {
	tag := unique("mp")
	file := "\ufeffEMAIL , Name ,Verified\n" + // a BOM and a sloppy header
		tag + "-a@example.com,\"Zoë, \"\"Z\"\" Ångström\",true\r\n" + // CRLF line ends too
		tag + "-b@example.com,李雷,false\r\n" +
		"broken,row,true\n"
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("comment", "fields before the file are skipped"); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("file", "contacts.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(fw, file); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}

	rep := decodeReport(t, postImport(t, mw.FormDataContentType(), &body))
	if rep.Created != 2 || rep.Updated != 0 || !slices.Equal(rep.Rejected, []rejectedRow{{4, "broken", reasonBadEmail}}) {
		t.Fatalf("report %+v", rep)
	}
	got := contactsMatching(t, tag)
	if a := got[tag+"-a@example.com"]; a.Name != `Zoë, "Z" Ångström` || !a.Verified {
		t.Errorf("a: %+v", a)
	}
	if b := got[tag+"-b@example.com"]; b.Name != "李雷" || b.Verified {
		t.Errorf("b: %+v", b)
	}

	// A form without a file field is refused.
	body.Reset()
	mw = multipart.NewWriter(&body)
	if err := mw.WriteField("other", tag+"-c@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	if r := postImport(t, mw.FormDataContentType(), &body); r.Status != 400 || r.errorCode(t) != "missing_file" {
		t.Fatalf("form without a file: %d %s", r.Status, r.Body)
	}
}

func TestContactImportOfAMalformedFileChangesNothing(t *testing.T) {
	tag := unique("mal")
	existingEmail := tag + "-existing@example.com"
	existing := createNamedContact(t, existingEmail, "Untouched", false)

	var b strings.Builder
	b.WriteString("email,name,verified\n")           // line 1
	b.WriteString(existingEmail + ",Changed,true\n") // line 2
	for i := 0; i < 600; i++ {                       // lines 3..602; 500 rows are
		fmt.Fprintf(&b, "%s-%d@example.com,Row %d,true\n", tag, i, i) // written at line 501
	}
	b.WriteString(tag + "-ml@example.com,\"two\n")    // line 603
	b.WriteString("lines\",true\n")                   // line 604
	b.WriteString(tag + "-q@example.com,a\"b,true\n") // line 605: a bare quote
	b.WriteString(tag + "-after@example.com,After,true\n")

	r := postImport(t, "text/csv", strings.NewReader(b.String()))
	if r.Status != 422 || r.errorCode(t) != "malformed_csv" {
		t.Fatalf("malformed file: %d %s", r.Status, r.Body)
	}
	msg := r.json(t)["error"].(map[string]any)["message"].(string)
	if !strings.HasPrefix(msg, "line 605,") {
		t.Fatalf("message %q does not name line 605", msg)
	}
	if got := contactsMatching(t, tag); len(got) != 1 {
		t.Fatalf("%d contacts with the tag after a refused import, want only the existing one", len(got))
	}
	if c := fetchContact(t, existing); c.Name != "Untouched" || c.Verified {
		t.Fatalf("refused import changed an existing contact: %+v", c)
	}

	// A quoted field still open at the end of the file is malformed too.
	r = postImport(t, "text/csv", strings.NewReader("email,name\n"+tag+"-open@example.com,\"never\nclosed\n"))
	if r.Status != 422 || r.errorCode(t) != "malformed_csv" {
		t.Fatalf("unterminated quote: %d %s", r.Status, r.Body)
	}
	if got := contactsMatching(t, tag); len(got) != 1 {
		t.Fatalf("unterminated quote imported rows: %v", got)
	}
}

func TestContactImportRefusesUnusableFiles(t *testing.T) {
	cases := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"no email column", "text/csv", "name,verified\nAda,true\n", 422, "missing_column"},
		{"email only as a cell", "text/csv", "mail,name\nemail,Ada\n", 422, "missing_column"},
		{"empty body", "text/csv", "", 422, "empty_file"},
		{"malformed header", "text/csv", "email,na\"me\n", 422, "malformed_csv"},
		{"JSON", "application/json", `{"email":"a@example.com"}`, 415, "unsupported_media_type"},
		{"no content type", "", "email\na@example.com\n", 415, "unsupported_media_type"},
		{"spreadsheet", "application/vnd.ms-excel", "email\na@example.com\n", 415, "unsupported_media_type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := postImport(t, c.contentType, strings.NewReader(c.body))
			if r.Status != c.status || r.errorCode(t) != c.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Body, c.status, c.code)
			}
		})
	}
	t.Run("header only", func(t *testing.T) {
		if rep := importFile(t, "email,name,verified\n"); rep.Created+rep.Updated+rep.RejectedCount != 0 || len(rep.Rejected) != 0 {
			t.Fatalf("%+v", rep)
		}
	})
	t.Run("no key", func(t *testing.T) {
		r := call(t, "POST", "/api/v1/contacts/import", "", nil)
		if r.Status != 401 {
			t.Fatalf("no key: %d", r.Status)
		}
	})
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// streamCSV returns a reader of a CSV generated on the fly by rows, which
// writes to w; nothing holds the whole file. The counter says how many
// bytes were read once the reader is drained.
func streamCSV(rows func(w io.Writer) error) (io.Reader, *countingWriter) {
	pr, pw := io.Pipe()
	counted := &countingWriter{w: pw}
	go func() {
		w := bufio.NewWriterSize(counted, 64<<10)
		err := rows(w)
		if err == nil {
			err = w.Flush()
		}
		pw.CloseWithError(err)
	}()
	return pr, counted
}

// peakHeapGrowth runs fn while sampling HeapInuse every 20ms and returns
// the largest growth over the heap before fn. The server runs in this
// process, so the samples include it.
func peakHeapGrowth(fn func()) int64 {
	// HeapInuse counts garbage not yet collected too, which the default
	// GOGC lets grow by as much as the live heap before a collection:
	// the whole test server's, whatever fn keeps. Collecting early keeps
	// the figure to what fn holds on to.
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseline := ms.HeapInuse
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var ms runtime.MemStats
		top := baseline
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				runtime.ReadMemStats(&ms)
				peak <- max(top, ms.HeapInuse)
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				top = max(top, ms.HeapInuse)
			}
		}
	}()
	fn()
	close(stop)
	return int64(<-peak) - int64(baseline) //nolint:gosec // G115: heap sizes of a test process are far below 2^63
}

const mb = 1 << 20

// TestContactImportOf100kRowsKeepsMemoryFlat streams a ~100 MB file and
// watches the heap: the import must read row by row, not hold the file.
func TestContactImportOf100kRowsKeepsMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("100k-row import")
	}
	const rows = 100_000
	const maxGrowth = 64 * mb
	tag := unique("big")
	padding := strings.Repeat("p", 1024)
	body, counted := streamCSV(func(w io.Writer) error {
		if _, err := fmt.Fprintln(w, "email,name,verified,padding"); err != nil {
			return err
		}
		for i := 0; i < rows; i++ {
			if _, err := fmt.Fprintf(w, "%s-%d@example.com,Row %d,true,%s\n", tag, i, i, padding); err != nil {
				return err
			}
		}
		return nil
	})

	var r response
	start := time.Now()
	growth := peakHeapGrowth(func() { r = postImport(t, "text/csv", body) })
	t.Logf("%d rows, %.1f MB in %v; peak heap growth %.1f MB",
		rows, float64(counted.n)/1e6, time.Since(start).Round(time.Millisecond), float64(growth)/mb)

	rep := decodeReport(t, r)
	if rep.Created != rows || rep.Updated != 0 || rep.RejectedCount != 0 {
		t.Fatalf("report created %d updated %d rejected %d: %+v", rep.Created, rep.Updated, rep.RejectedCount, rep.Rejected)
	}
	if counted.n < 100e6 {
		t.Fatalf("the file was only %d bytes", counted.n)
	}
	if growth > maxGrowth {
		t.Fatalf("heap grew by %d MB while importing a %d MB file; the import does not stream", growth/mb, counted.n/mb)
	}
	var n int
	if err := app.Service.Store.DB.NewRaw(`SELECT count(*) FROM contacts WHERE email LIKE ?`, tag+"-%").
		Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	if n != rows {
		t.Fatalf("%d contacts in the database, want %d", n, rows)
	}
}

// TestContactImportDoesNotKeepWideRowsAlive: a field the importer keeps
// (an email in the report, an email or name in a batch) must not pin the
// rest of its row, or 1000 listed rejections and a batch of 500 rows with
// a wide ignored column hold the file in memory.
func TestContactImportDoesNotKeepWideRowsAlive(t *testing.T) {
	const wide = 64 << 10
	const maxGrowth = 32 * mb
	tag := unique("wide")
	notes := strings.Repeat("n", wide)
	body, counted := streamCSV(func(w io.Writer) error {
		if _, err := fmt.Fprintln(w, "email,name,notes"); err != nil {
			return err
		}
		for i := 0; i < 1000; i++ {
			if _, err := fmt.Fprintf(w, "bad-%d,Bad,%s\n", i, notes); err != nil {
				return err
			}
		}
		for i := 0; i < 1000; i++ {
			if _, err := fmt.Fprintf(w, "%s-%d@example.com,Good,%s\n", tag, i, notes); err != nil {
				return err
			}
		}
		return nil
	})
	var r response
	growth := peakHeapGrowth(func() { r = postImport(t, "text/csv", body) })
	t.Logf("%.1f MB file; peak heap growth %.1f MB", float64(counted.n)/1e6, float64(growth)/mb)
	rep := decodeReport(t, r)
	if rep.Created != 1000 || rep.RejectedCount != 1000 || len(rep.Rejected) != 1000 {
		t.Fatalf("created %d, rejected %d (%d listed)", rep.Created, rep.RejectedCount, len(rep.Rejected))
	}
	if growth > maxGrowth {
		t.Fatalf("heap grew by %d MB importing a %d MB file", growth/mb, counted.n/mb)
	}
}

func TestContactImportAcceptsAByteOrderMarkBeforeTheHeader(t *testing.T) {
	tag := unique("bom")
	for i, header := range []string{"email,name", `"email","name"`} {
		email := fmt.Sprintf("%s-%d@example.com", tag, i)
		rep := importFile(t, "\ufeff"+header+"\n\""+email+"\",\"Zoë\"\n")
		if rep.Created != 1 || rep.RejectedCount != 0 {
			t.Fatalf("header %s after a BOM: %+v", header, rep)
		}
		if c := contactsMatching(t, email)[email]; c.Name != "Zoë" {
			t.Fatalf("header %s after a BOM: contact %+v", header, c)
		}
	}
}

// invitedUser is an item of GET /api/v1/help-centers/{slug}/users.
type invitedUser struct {
	ID        int64   `json:"id"`
	ContactID int64   `json:"contact_id"`
	Email     string  `json:"email"`
	Status    string  `json:"status"`
	InvitedAt *string `json:"invited_at"`
}

// waitForInvitedUsers waits until slug has n portal users, all invited.
func waitForInvitedUsers(t *testing.T, slug string, n int) map[int64]invitedUser {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := call(t, "GET", "/api/v1/help-centers/"+slug+"/users?limit=200", app.AdminKey, nil)
		var page struct{ Items []invitedUser }
		if r.Status != 200 || json.Unmarshal(r.Body, &page) != nil {
			t.Fatalf("users: %d %s", r.Status, r.Body)
		}
		byContact := map[int64]invitedUser{}
		for _, u := range page.Items {
			if u.Status == "invited" {
				byContact[u.ContactID] = u
			}
		}
		if len(byContact) == n && len(page.Items) == n {
			return byContact
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d users (%d invited) after 20s, want %d invited", slug, len(page.Items), len(byContact), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var exportHeader = []string{"email", "name", "status", "invited_at", "accepted_at", "last_sent_at", "send_count",
	"last_email_kind", "last_email_state", "last_email_at", "declined_at"}

// fetchExport fetches the export and parses it strictly: every record has
// the header's seven fields.
func fetchExport(t *testing.T, slug, query string) [][]string {
	t.Helper()
	r := call(t, "GET", "/api/v1/help-centers/"+slug+"/users/export.csv"+query, app.AdminKey, nil)
	if r.Status != 200 {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="`+slug+`-portal-users.csv"` {
		t.Fatalf("Content-Disposition %q", cd)
	}
	records, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, r.Body)
	}
	if len(records) == 0 || !slices.Equal(records[0], exportHeader) {
		t.Fatalf("header %v", records)
	}
	return records[1:]
}

func rfc3339(t *testing.T, v *string) string {
	t.Helper()
	if v == nil {
		return ""
	}
	return parseTime(t, *v).UTC().Format(time.RFC3339)
}

func TestUserExportNeutralisesFormulasAndKeepsEveryCellExact(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	tag := unique("exp")
	people := []struct {
		email, name string
		viaDB       bool // names the API would trim, written straight to the database
		wantEmail   string
		wantName    string
	}{
		// The API refuses names with links or line breaks; contacts from
		// before that rule, or from the database, may still have them.
		{email: tag + "-hyperlink@example.com", name: `=HYPERLINK("http://x")`, viaDB: true, wantName: `'=HYPERLINK("http://x")`},
		{email: tag + "-plus@example.com", name: "+1", wantName: "'+1"},
		{email: tag + "-minus@example.com", name: "-2", wantName: "'-2"},
		{email: tag + "-at@example.com", name: "@SUM(A1)", wantName: "'@SUM(A1)"},
		{email: tag + "-tab@example.com", name: "\tTabbed", viaDB: true, wantName: "'\tTabbed"},
		{email: tag + "-cr@example.com", name: "\rReturn", viaDB: true, wantName: "'\rReturn"},
		{email: tag + "-comma@example.com", name: `Smith, John "JJ"`, wantName: `Smith, John "JJ"`},
		{email: tag + "-newline@example.com", name: "Two\nLines", viaDB: true, wantName: "Two\nLines"},
		{email: tag + "-inner@example.com", name: "a=b+c-d@e", wantName: "a=b+c-d@e"},
		{email: tag + "-zoe@example.com", name: "Zoë Ångström", wantName: "Zoë Ångström"},
		{email: tag + "-li@example.com", name: "李雷", wantName: "李雷"},
		{email: "-" + tag + "@example.com", name: "Dash Address", wantEmail: "'-" + tag + "@example.com", wantName: "Dash Address"},
	}
	byEmail := map[string]int64{}
	for _, p := range people {
		name := p.name
		if p.viaDB {
			name = "Placeholder"
		}
		id := createNamedContact(t, p.email, name, true)
		if p.viaDB {
			if _, err := app.Service.Store.DB.NewRaw(`UPDATE contacts SET name = ? WHERE id = ?`, p.name, id).
				Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		byEmail[p.email] = id
		admin(t, "POST", "/api/v1/help-centers/"+slug+"/invitations", map[string]any{"contact_id": id}, 202)
	}
	// A user of another help center never shows up in this one's export.
	otherSlug := newHelpCenter(t, "unique")
	otherContact := createNamedContact(t, tag+"-other@example.com", "Other", true)
	admin(t, "POST", "/api/v1/help-centers/"+otherSlug+"/invitations", map[string]any{"contact_id": otherContact}, 202)

	users := waitForInvitedUsers(t, slug, len(people))
	otherUser := waitForInvitedUsers(t, otherSlug, 1)[otherContact]

	// Wait until every invitation email went out.
	var rows [][]string
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows = fetchExport(t, slug, "")
		sent := 0
		for _, r := range rows {
			if r[5] != "" && r[6] == "1" {
				sent++
			}
		}
		if len(rows) == len(people) && sent == len(people) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s the export has %d rows, %d sent: %q", len(rows), sent, rows)
		}
		time.Sleep(100 * time.Millisecond)
	}

	invs := admin(t, "GET", "/api/v1/help-centers/"+slug+"/invitations?limit=200", nil, 200)["items"].([]any)
	lastSent := map[int64]string{}
	for _, it := range invs {
		inv := it.(map[string]any)
		if s, ok := inv["last_sent_at"].(string); ok {
			lastSent[int64(inv["contact_id"].(float64))] = rfc3339(t, &s)
		}
	}

	byRow := map[string][]string{}
	for _, r := range rows {
		byRow[r[0]] = r
	}
	for _, p := range people {
		wantEmail := p.email
		if p.wantEmail != "" {
			wantEmail = p.wantEmail
		}
		u := users[byEmail[p.email]]
		want := []string{wantEmail, p.wantName, "invited", rfc3339(t, u.InvitedAt), "", lastSent[byEmail[p.email]], "1"}
		// Then the invite as the latest email (sent, no event yet), and
		// no decline.
		if got := byRow[wantEmail]; len(got) != len(exportHeader) || !slices.Equal(got[:7], want) ||
			got[7] != "invite" || got[8] != "sent" || got[9] == "" || got[10] != "" {
			t.Errorf("row for %q\n got %q\nwant %q, then invite, sent, its time and no decline", p.email, got, want)
		}
		if want[3] == "" || want[5] == "" {
			t.Errorf("%s: invited_at %q, last_sent_at %q", p.email, want[3], want[5])
		}
	}

	// ?ids= picks users by id, ignoring spaces, and only from this help
	// center.
	hyperlink, zoe := tag+"-hyperlink@example.com", tag+"-zoe@example.com"
	pick := []int64{users[byEmail[hyperlink]].ID, users[byEmail[zoe]].ID}
	query := fmt.Sprintf("?ids=%d,%%20%d,%d", pick[0], pick[1], otherUser.ID)
	picked := fetchExport(t, slug, query)
	var emails []string
	for _, r := range picked {
		emails = append(emails, r[0])
	}
	slices.Sort(emails)
	want := []string{hyperlink, zoe}
	slices.Sort(want)
	if !slices.Equal(emails, want) {
		t.Fatalf("export with %s: %q, want %q", query, picked, want)
	}
	if got := fetchExport(t, otherSlug, fmt.Sprintf("?ids=%d", pick[0])); len(got) != 0 {
		t.Fatalf("another help center exported this one's user: %q", got)
	}
	if got := fetchExport(t, otherSlug, ""); len(got) != 1 || got[0][0] != tag+"-other@example.com" {
		t.Fatalf("other help center's export: %q", got)
	}
}

func TestUserExportRefusesBadIDs(t *testing.T) {
	slug := newHelpCenter(t, "unique")
	for _, ids := range []string{"", "abc", "1,,2", "1,x", "0", "-3", "1.5", "1;2", "99999999999999999999"} {
		r := call(t, "GET", "/api/v1/help-centers/"+slug+"/users/export.csv?ids="+url.QueryEscape(ids), app.AdminKey, nil)
		if r.Status != 422 || r.errorCode(t) != "invalid_field" {
			t.Errorf("ids=%q: %d %s", ids, r.Status, r.Body)
		}
	}
	// Ids that name nobody give an empty file, not an error.
	if rows := fetchExport(t, slug, "?ids=1,2"); len(rows) != 0 {
		t.Errorf("empty help center exported %q", rows)
	}
	if r := call(t, "GET", "/api/v1/help-centers/no-such-"+slug+"/users/export.csv", app.AdminKey, nil); r.Status != 404 || r.errorCode(t) != "help_center_not_found" {
		t.Errorf("unknown help center: %d %s", r.Status, r.Body)
	}
}
