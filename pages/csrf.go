package pages

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal/credentials"
	"github.com/portalaccess/portal/store"
)

const csrfCookie = "portal_csrf"

// cookie makes a portal cookie: HttpOnly, Path=/, with the given
// SameSite, and Secure whenever PUBLIC_BASE_URL is https. Only a
// development portal on plain http sends it without Secure, since the
// browser would drop it.
//
// Over https the name takes the __Host- prefix, which the browser accepts
// only from this exact host, Secure, with Path=/ and no Domain: no sibling
// subdomain can plant or overwrite a session or CSRF cookie. That prefix
// needs Path=/, so a session is scoped to its help center by the slug in
// the cookie's name rather than by a path (a path never kept pages of one
// origin apart anyway).
func (s *Site) cookie(name, value string, maxAge int, sameSite http.SameSite) *http.Cookie {
	return &http.Cookie{Name: s.cookieName(name), Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, SameSite: sameSite, //nolint:gosec // G124: Secure follows PUBLIC_BASE_URL's scheme, as said above
		Secure: s.SecureCookies}
}

// cookieName is the name a portal cookie goes by on this site.
func (s *Site) cookieName(name string) string {
	if s.SecureCookies {
		return "__Host-" + name
	}
	return name
}

// csrfToken returns the browser's CSRF token, setting the cookie on first
// use. Forms echo it in a hidden field (double-submit): a cross-site page
// can make the browser send the cookie but cannot read it to fill the field.
func (s *Site) csrfToken(c *gin.Context) string {
	if v, err := c.Cookie(s.cookieName(csrfCookie)); err == nil && len(v) == 43 {
		return v
	}
	v := credentials.Random()
	http.SetCookie(c.Writer, s.cookie(csrfCookie, v, 0, http.SameSiteStrictMode))
	return v
}

// checkCSRF refuses a form post from another site: the Origin (when the
// browser sends one) must be ours, and the form must echo the cookie.
func (s *Site) checkCSRF(c *gin.Context) bool {
	if origin := c.GetHeader("Origin"); origin != "" && origin != "null" {
		if !s.sameOrigin(origin, c.Request) {
			return false
		}
	}
	if c.GetHeader("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	cookie, err := c.Cookie(s.cookieName(csrfCookie))
	form := c.PostForm("csrf_token")
	return err == nil && cookie != "" && subtle.ConstantTimeCompare([]byte(cookie), []byte(form)) == 1
}

func (s *Site) sameOrigin(origin string, r *http.Request) bool {
	o, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if base, err := url.Parse(s.PublicBaseURL); err == nil && o.Scheme == base.Scheme && o.Host == base.Host {
		return true
	}
	return o.Host == r.Host
}

// portalForm loads the help center of a posted portal form and refuses a
// cross-site or stale post; next tells the person what to do then.
func (s *Site) portalForm(c *gin.Context, next string) (*store.HelpCenter, bool) {
	hc, ok := s.portalHelpCenter(c)
	if !ok {
		return nil, false
	}
	if !s.checkCSRF(c) {
		s.message(c, http.StatusForbidden, hc.Name, "Form expired", "This form could not be verified.", next)
		return nil, false
	}
	for _, vs := range c.Request.PostForm {
		for _, v := range vs {
			if strings.ContainsRune(v, 0) {
				s.message(c, http.StatusBadRequest, hc.Name, "Form not accepted", "The form contained characters that can't be stored.", next)
				return nil, false
			}
		}
	}
	return hc, true
}
