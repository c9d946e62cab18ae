package pages

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// contentSecurityPolicy allows a portal page nothing but its own inline
// stylesheet (by hash: no inline script or style attribute runs), images
// from the portal, and forms posting back to the portal; no other site
// may frame it, and no <base> may redirect its links.
var contentSecurityPolicy = func() string {
	sum := sha256.Sum256([]byte(stylesheet))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; img-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}()

// securityHeaders goes on every portal answer. Pages carry invitation and
// sign-up tokens, CSRF tokens and the customer's own data, so nothing is
// cached and no address leaks in a Referer.
func (s *Site) securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY") // frame-ancestors, for browsers that predate it
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if s.SecureCookies {
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
}

// portalNotFound answers, under /portal/, what the router could not match:
// an HTML page with the portal's headers instead of the API's JSON. The
// router has already set the status (404, or 405 for a known path asked
// with the wrong method).
func (s *Site) portalNotFound(c *gin.Context) {
	if c.FullPath() != "" || !strings.HasPrefix(c.Request.URL.Path, "/portal/") {
		return
	}
	s.securityHeaders(c)
	if c.Writer.Status() == http.StatusMethodNotAllowed {
		s.message(c, http.StatusMethodNotAllowed, "Help center", "This page can't be used that way",
			"This address is for a form; open the page the form is on instead.", "")
	} else {
		s.message(c, http.StatusNotFound, "Help center", "Page not found", "There is no page at this address.",
			"Check that you copied the whole link.")
	}
	c.Abort()
}
