package api

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// csvStream writes a CSV response row by row, flushing as it goes, so an
// export of any size streams instead of building up in memory.
type csvStream struct {
	c    *gin.Context
	w    *csv.Writer
	rows int
	s    *Server
}

func (s *Server) startCSV(c *gin.Context, filename string, header ...string) *csvStream {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="`+filename+`"`)
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	s.extendWrite(c)
	cs := &csvStream{c: c, w: csv.NewWriter(c.Writer), s: s}
	_ = cs.w.Write(header)
	return cs
}

// row writes one record with every cell neutralised.
func (cs *csvStream) row(cells ...string) error {
	for i, v := range cells {
		cells[i] = neutralise(v)
	}
	if err := cs.w.Write(cells); err != nil {
		return err
	}
	cs.rows++
	if cs.rows%100 == 0 {
		// The export is moving: its write deadline moves with it.
		cs.s.extendWrite(cs.c)
	}
	if cs.rows%500 == 0 {
		cs.w.Flush()
		cs.c.Writer.Flush()
	}
	return cs.w.Error()
}

// finish flushes the stream. An error after the first bytes can't change
// the status any more; it is logged and the response is cut short, which
// the client sees as a truncated download rather than a complete file.
func (cs *csvStream) finish(err error) {
	cs.w.Flush()
	if err != nil {
		cs.s.Logger.Error("csv export failed", "route", cs.c.FullPath(), "error", err)
		panic(http.ErrAbortHandler)
	}
}

// neutralise stops a spreadsheet from running a cell as a formula: a cell
// that starts with =, +, -, @, a tab or a carriage return gets a leading
// apostrophe (OWASP's advice for CSV injection).
func neutralise(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
