package api

import (
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// The HTTP server's read and write timeouts count from the start of a
// request, which would cut a long export or a large upload that is still
// moving. Streams move their own deadline on as they make progress: a
// client that keeps reading (or sending) is served to the end, one that
// stalls for a whole timeout is cut as any other.

// extendWrite moves the connection's write deadline WriteTimeout ahead.
func (s *Server) extendWrite(c *gin.Context) {
	if s.WriteTimeout > 0 {
		_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(s.WriteTimeout))
	}
}

// progressReader moves the read deadline on each time the upload brings
// bytes.
type progressReader struct {
	r      io.Reader
	rc     *http.ResponseController
	period time.Duration
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 && p.period > 0 {
		_ = p.rc.SetReadDeadline(time.Now().Add(p.period))
	}
	return n, err
}

// readingUpload wraps body so that reading it keeps the connection's
// read deadline ReadTimeout ahead of the last bytes received.
func (s *Server) readingUpload(c *gin.Context, body io.Reader) io.Reader {
	return &progressReader{r: body, rc: http.NewResponseController(c.Writer), period: s.ReadTimeout}
}
