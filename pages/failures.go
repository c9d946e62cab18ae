package pages

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/portalaccess/portal/store"
)

// failed answers a request the portal could not complete. The log gets
// the error under a reference that the page shows, so a customer who
// writes to support can quote it and the team can find what happened. A
// refusal by the database of what we asked is our defect (500); anything
// else (a database, Temporal or hashing pool out of reach) passes, so the
// page asks to try again (503). msg says what did not happen; attrs add
// to the log line.
func (s *Site) failed(c *gin.Context, hcName, what string, err error, msg string, attrs ...any) {
	ref := reference()
	status := http.StatusServiceUnavailable
	if store.IsOurFault(err) {
		status = http.StatusInternalServerError
	}
	s.Logger.Error(what, append([]any{"reference", ref, "route", c.FullPath(), "status", status, "error", err}, attrs...)...)
	s.failurePage(c, status, hcName, msg, ref)
}

func (s *Site) failurePage(c *gin.Context, status int, hcName, msg, ref string) {
	if hcName == "" {
		hcName = "Help center"
	}
	next := "Please try again in a moment."
	if status == http.StatusInternalServerError {
		next = "This is a fault on our side, and trying again may not help yet."
	}
	if msg == "" {
		msg = "Your request could not be completed."
	}
	s.render(c, status, "message.html", page{Title: "Something went wrong", HelpCenter: hcName, Message: msg, Next: next,
		Reference: ref, Description: "Something went wrong in the " + hcName + " help center."})
}

// reference is a short id a person can read out: the first group of a
// random UUID is enough to find one line in a day's log.
func reference() string { return uuid.NewString()[:8] }

// recoverPages turns a panic in a portal handler into the 500 page with a
// reference, logged with the panic, instead of the API's JSON body.
func (s *Site) recoverPages(c *gin.Context) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
			panic(r) // a stream cut short on purpose: drop the connection
		}
		ref := reference()
		s.Logger.Error("panic in portal page", slog.String("reference", ref), slog.String("route", c.FullPath()), slog.Any("panic", r))
		if !c.Writer.Written() {
			s.failurePage(c, http.StatusInternalServerError, "", "", ref)
		}
		c.Abort()
	}()
	c.Next()
}
