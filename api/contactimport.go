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
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal/store"
)

// MaxImportBytes bounds a contact import file.
const MaxImportBytes = 512 << 20

// importBatch is how many rows go to the database at once.
const importBatch = 500

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
// one transaction: a malformed file changes nothing.
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
	report := importReport{Rejected: []rejection{}}
	err = s.Store.Import(c.Request.Context(), func(im *store.Importer) error {
		return readImport(c.Request.Context(), body, im, &report)
	})
	var ie *importError
	var maxErr *http.MaxBytesError
	switch {
	case err == nil:
		c.JSON(http.StatusOK, report)
	case errors.As(err, &ie):
		abort(c, ie.status, ie.code, ie.message)
	case errors.As(err, &maxErr):
		abort(c, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("import file exceeds %d bytes", maxErr.Limit))
	default:
		s.internal(c, err)
	}
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

func readImport(ctx context.Context, body io.Reader, im *store.Importer, report *importReport) error {
	// Drop a UTF-8 byte order mark before the parser sees it: in front of
	// a quoted header ("\ufeff\"email\"") it is a bare quote otherwise.
	br := bufio.NewReader(body)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return &importError{http.StatusUnprocessableEntity, "empty_file", "the file is empty; the first line must be a header with an email column"}
	}
	if err != nil {
		return csvError(err)
	}
	col := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, seen := col[name]; !seen {
			col[name] = i
		}
	}
	emailCol, ok := col["email"]
	if !ok {
		return &importError{http.StatusUnprocessableEntity, "missing_column", "line 1: the header has no email column"}
	}
	nameCol, hasName := col["name"]
	verifiedCol, hasVerified := col["verified"]
	im.HasName, im.HasVerified = hasName, hasVerified

	batch := make([]store.ImportRow, 0, importBatch)
	lines := make([]int, 0, importBatch)
	inBatch := make(map[string]bool, importBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		outcomes, err := im.Upsert(ctx, batch)
		if err != nil {
			return err
		}
		for i, o := range outcomes {
			switch o {
			case store.ImportCreated:
				report.Created++
			case store.ImportUpdated:
				report.Updated++
			default:
				report.reject(lines[i], batch[i].Email, "duplicate in file")
			}
		}
		batch, lines = batch[:0], lines[:0]
		clear(inBatch)
		return nil
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return csvError(err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		need := emailCol
		if hasName {
			need = max(need, nameCol)
		}
		if hasVerified {
			need = max(need, verifiedCol)
		}
		if len(rec) <= need {
			report.reject(line, "", "missing column")
			continue
		}
		if slices.ContainsFunc(rec, func(v string) bool { return strings.ContainsRune(v, 0) }) {
			report.reject(line, "", "invalid character (NUL)")
			continue
		}
		email, ok := normalizeEmail(rec[emailCol])
		if !ok {
			report.reject(line, strings.TrimSpace(rec[emailCol]), "bad email")
			continue
		}
		// Fields are slices of one string per record; copy what the batch
		// keeps so it does not pin whole rows (ignored columns and all).
		email = strings.Clone(email)
		row := store.ImportRow{Email: email}
		if hasName {
			row.Name = strings.Clone(strings.TrimSpace(rec[nameCol]))
			if utf8.RuneCountInString(row.Name) > 200 {
				report.reject(line, email, "name longer than 200 characters")
				continue
			}
		}
		if hasVerified {
			v, ok := parseVerified(rec[verifiedCol])
			if !ok {
				report.reject(line, email, "bad verified value (use true or false)")
				continue
			}
			row.Verified = v
		}
		key := strings.ToLower(email)
		if inBatch[key] {
			report.reject(line, email, "duplicate in file")
			continue
		}
		inBatch[key] = true
		batch = append(batch, row)
		lines = append(lines, line)
		if len(batch) == importBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
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
