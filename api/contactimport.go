package api

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/store"
)

// MaxImportBytes bounds a contact import file.
const MaxImportBytes = 512 << 20

// importBatch is how many rows go to the database at once.
const importBatchSize = 500

// maxListedRejections bounds the rejected rows the report lists one by
// one; the count covers all of them.
const maxListedRejections = 1000

type rejection struct {
	Line   int    `json:"line"`
	Email  string `json:"email,omitempty"`
	Reason string `json:"reason"`
}

type importReport struct {
	Created       int         `json:"created"`
	Updated       int         `json:"updated"`
	RejectedCount int         `json:"rejected_count"`
	Rejected      []rejection `json:"rejected"`
}

func (r *importReport) reject(line int, email, reason string) {
	r.RejectedCount++
	if len(r.Rejected) < maxListedRejections {
		// email is a slice of the whole record's string: copy it, or the
		// report keeps every listed row's other columns alive.
		r.Rejected = append(r.Rejected, rejection{Line: line, Email: strings.Clone(email), Reason: reason})
	}
}

// importError is a file the import refuses whole; it names the place.
type importError struct {
	status  int
	code    string
	message string
}

func (e *importError) Error() string { return e.message }

// importContacts reads a CSV (a text/csv body, or a multipart upload's
// "file" field) row by row and upserts contacts by email in batches, in
// one transaction: a malformed file changes nothing. The whole upload is
// first written to a temporary file (at most MaxImportBytes), so the
// transaction, and the database connection it holds, opens only once
// the file is here: a slow upload holds a connection of the HTTP
// server, never one of the pool.
func (s *Server) importContacts(c *gin.Context) {
	body, err := importBody(c)
	if err != nil {
		var ie *importError
		if errors.As(err, &ie) {
			abort(c, ie.status, ie.code, ie.message)
			return
		}
		abort(c, http.StatusBadRequest, "invalid_upload", err.Error())
		return
	}
	file, ok := s.spoolUpload(c, body)
	if !ok {
		return
	}
	defer func() {
		_ = file.Close()
		_ = os.Remove(file.Name())
	}()
	report := importReport{Rejected: []rejection{}}
	err = s.Store.Import(c.Request.Context(), func(im *store.Importer) error {
		if err := readImport(c.Request.Context(), capRecords(file, maxImportRecordBytes), im, &report, func() { s.extendWrite(c) }); err != nil {
			return err
		}
		return im.Record(c.Request.Context(), event(c, portal.AuditContactsImported, "contacts", nil,
			map[string]any{"created": report.Created, "updated": report.Updated, "rejected": report.RejectedCount}))
	})
	var ie *importError
	switch {
	case err == nil:
		c.JSON(http.StatusOK, report)
	case errors.As(err, &ie):
		abort(c, ie.status, ie.code, ie.message)
	default:
		s.internal(c, err)
	}
}

// spoolUpload copies the upload into a temporary file and rewinds it; on
// a refused or broken upload it answers and reports false.
func (s *Server) spoolUpload(c *gin.Context, body io.Reader) (*os.File, bool) {
	file, err := os.CreateTemp("", "portal-import-*.csv")
	if err != nil {
		s.internal(c, err)
		return nil, false
	}
	discard := func() {
		_ = file.Close()
		_ = os.Remove(file.Name())
	}
	upload := &uploadReader{r: s.readingUpload(c, body)}
	_, err = io.Copy(file, upload)
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(upload.err, &maxErr):
		discard()
		abort(c, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("import file exceeds %d bytes", maxErr.Limit))
		return nil, false
	case upload.err != nil:
		// The client cut the upload short: its doing, and nothing was
		// imported (no transaction was opened).
		discard()
		s.Logger.Info("upload cut short", "route", c.FullPath(), "error", upload.err)
		abort(c, http.StatusBadRequest, "incomplete_upload", "the upload ended before the file did; nothing was imported")
		return nil, false
	case err != nil:
		discard()
		s.internal(c, err)
		return nil, false
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		discard()
		s.internal(c, err)
		return nil, false
	}
	// The upload may have taken most of the write timeout: the answer's
	// deadline counts from here, and moves on with each batch.
	s.extendWrite(c)
	return file, true
}

// uploadReader remembers why reading the upload failed, so a file cut
// short by the client is told apart from a failure of ours.
type uploadReader struct {
	r   io.Reader
	err error
}

func (u *uploadReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && u.err == nil {
		u.err = err
	}
	return n, err
}

func importBody(c *gin.Context) (io.Reader, error) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch mt {
	case "text/csv", "application/csv", "text/plain":
		return c.Request.Body, nil
	case "multipart/form-data":
		mr, err := c.Request.MultipartReader()
		if err != nil {
			return nil, err
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, &importError{http.StatusBadRequest, "missing_file", `the upload has no "file" field`}
			}
			if err != nil {
				return nil, err
			}
			if part.FormName() == "file" {
				return part, nil
			}
		}
	}
	return nil, &importError{http.StatusUnsupportedMediaType, "unsupported_media_type", "send the CSV as text/csv or as a multipart/form-data field named file"}
}

// readImport reads the file in four steps: open it as CSV, find the
// columns in its header, check each row, and upsert the good rows in
// batches. A row that fails its check is listed in the report; a file the
// parser can't read fails whole.
func readImport(ctx context.Context, body io.Reader, im *store.Importer, report *importReport, progress func()) error {
	r := openCSV(body)
	cols, err := readHeader(r)
	if err != nil {
		return err
	}
	im.HasName, im.HasVerified = cols.hasName, cols.hasVerified
	b := &importBatch{im: im, report: report, seen: make(map[string]bool, importBatchSize), progress: progress}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return csvError(err)
		}
		line, _ := r.FieldPos(0)
		if line%100 == 0 && progress != nil {
			// Rows that are all rejected flush no batch: keep the
			// answer's deadline ahead all the same.
			progress()
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rec) == 1 && rec[0] == recordTooLong {
			report.reject(line, "", fmt.Sprintf("row longer than %d bytes", maxImportRecordBytes))
			continue
		}
		row, problem := cols.row(rec)
		if problem != "" {
			report.reject(line, row.Email, problem)
			continue
		}
		if err := b.add(ctx, row, line, strings.TrimSpace(rec[cols.email])); err != nil {
			return err
		}
	}
	return b.flush(ctx)
}

// openCSV reads body as CSV with rows of any width, reusing one record.
func openCSV(body io.Reader) *csv.Reader {
	// Drop a UTF-8 byte order mark before the parser sees it: in front of
	// a quoted header ("\ufeff\"email\"") it is a bare quote otherwise.
	br := bufio.NewReader(body)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	return r
}

// importColumns are the positions of the columns an import reads.
type importColumns struct {
	email, name, verified int
	hasName, hasVerified  bool
	// need is the width a row must have to hold every column read.
	need int
}

// readHeader finds the columns by name (the first of a repeated name
// counts); an email column is required.
func readHeader(r *csv.Reader) (importColumns, error) {
	header, err := r.Read()
	if err == io.EOF {
		return importColumns{}, &importError{http.StatusUnprocessableEntity, "empty_file", "the file is empty; the first line must be a header with an email column"}
	}
	if err != nil {
		return importColumns{}, csvError(err)
	}
	col := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, seen := col[name]; !seen {
			col[name] = i
		}
	}
	var c importColumns
	var ok bool
	if c.email, ok = col["email"]; !ok {
		return importColumns{}, &importError{http.StatusUnprocessableEntity, "missing_column", "line 1: the header has no email column"}
	}
	c.name, c.hasName = col["name"]
	c.verified, c.hasVerified = col["verified"]
	c.need = c.email
	if c.hasName {
		c.need = max(c.need, c.name)
	}
	if c.hasVerified {
		c.need = max(c.need, c.verified)
	}
	return c, nil
}

// row checks one record and returns the row to import, or why it can't
// be imported (with as much of the row as the report lists).
func (c importColumns) row(rec []string) (store.ImportRow, string) {
	if len(rec) <= c.need {
		return store.ImportRow{}, "missing column"
	}
	if slices.ContainsFunc(rec, func(v string) bool { return strings.ContainsRune(v, 0) }) {
		return store.ImportRow{}, "invalid character (NUL)"
	}
	email, ok := normalizeEmail(rec[c.email])
	if !ok {
		return store.ImportRow{Email: strings.TrimSpace(rec[c.email])}, "bad email"
	}
	// Fields are slices of one string per record; copy what the batch
	// keeps so it does not pin whole rows (ignored columns and all).
	row := store.ImportRow{Email: strings.Clone(email)}
	if c.hasName {
		row.Name = strings.Clone(strings.TrimSpace(rec[c.name]))
		if utf8.RuneCountInString(row.Name) > 200 {
			return row, "name longer than 200 characters"
		}
	}
	if c.hasVerified {
		v, ok := parseVerified(rec[c.verified])
		if !ok {
			return row, "bad verified value (use true or false)"
		}
		row.Verified = v
	}
	return row, ""
}

// importBatch gathers checked rows and upserts them importBatchSize at a
// time, counting the outcomes in the report.
type importBatch struct {
	im     *store.Importer
	report *importReport
	rows   []store.ImportRow
	lines  []int
	// typed holds each row's address as the file spells it, for the
	// report: a person looks for that, not for its normal form.
	typed []string
	// seen holds the batch's emails by portal.EmailKey: a repeat within
	// one upsert, in any spelling that normalises alike, is listed as a
	// duplicate here (the store reports repeats across batches).
	seen map[string]bool
	// progress is called after each batch, to keep the answer's write
	// deadline ahead.
	progress func()
}

func (b *importBatch) add(ctx context.Context, row store.ImportRow, line int, typed string) error {
	key := portal.EmailKey(row.Email)
	if b.seen[key] {
		b.report.reject(line, typed, "duplicate in file")
		return nil
	}
	b.seen[key] = true
	// The file's spelling is a slice of the reused record: keep the normal
	// form's string when they are the same, a copy when not.
	if typed == row.Email {
		typed = row.Email
	} else {
		typed = strings.Clone(typed)
	}
	b.rows = append(b.rows, row)
	b.lines = append(b.lines, line)
	b.typed = append(b.typed, typed)
	if len(b.rows) == importBatchSize {
		return b.flush(ctx)
	}
	return nil
}

func (b *importBatch) flush(ctx context.Context) error {
	if len(b.rows) == 0 {
		return nil
	}
	outcomes, err := b.im.Upsert(ctx, b.rows)
	if err != nil {
		return err
	}
	for i, o := range outcomes {
		switch o {
		case store.ImportCreated:
			b.report.Created++
		case store.ImportUpdated:
			b.report.Updated++
		default:
			b.report.reject(b.lines[i], b.typed[i], "duplicate in file")
		}
	}
	b.rows, b.lines, b.typed = b.rows[:0], b.lines[:0], b.typed[:0]
	clear(b.seen)
	if b.progress != nil {
		b.progress()
	}
	return nil
}

func parseVerified(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "false", "0", "no", "n":
		return false, true
	case "true", "1", "yes", "y":
		return true, true
	}
	return false, false
}

// csvError turns a parse error into a refusal that says where.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &importError{http.StatusUnprocessableEntity, "malformed_csv",
			"line " + strconv.Itoa(pe.Line) + ", column " + strconv.Itoa(pe.Column) + ": " + pe.Err.Error()}
	}
	return err
}
