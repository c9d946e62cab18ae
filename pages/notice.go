package pages

import (
	"crypto/hmac"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal/store"
)

// A notice is the one-time message that says what a form did, shown by
// the page its POST redirects to (POST, redirect, GET). It travels in a
// short-lived cookie holding only its kind and the request's number,
// signed with the token secret, so no other site and no other help
// center can make a page say something it did not do; the page that shows
// it clears it, so a reload does not repeat it.
const (
	noticeCookie = "portal_notice"
	// noticeLifetime covers the redirect, not a later visit.
	noticeLifetime = 60
)

// Kinds of notice.
const (
	noticeRequestSent     = "request-sent"
	noticePasswordChanged = "password-changed"
	noticePasswordReset   = "password-reset"
)

// noticeText is what a notice says; "" for a kind it does not know.
func noticeText(kind string, id int64) string {
	switch kind {
	case noticeRequestSent:
		return "Your request #" + strconv.FormatInt(id, 10) + " was sent to the support team. You can follow it under Your requests."
	case noticePasswordChanged:
		return "Your password was changed. Your account was logged out on every other device."
	case noticePasswordReset:
		return "Your new password is set. Everyone logged in with the old one was logged out."
	}
	return ""
}

func (s *Site) noticeMAC(hc *store.HelpCenter, kind, id string) string {
	return base64.RawURLEncoding.EncodeToString(s.Tokens.Pseudonym("notice", hc.Slug+"\x00"+kind+"\x00"+id))
}

// setNotice leaves a notice for the next page of hc this browser opens.
func (s *Site) setNotice(c *gin.Context, hc *store.HelpCenter, kind string, id int64) {
	n := strconv.FormatInt(id, 10)
	http.SetCookie(c.Writer, s.cookie(noticeCookie, kind+"."+n+"."+s.noticeMAC(hc, kind, n), noticeLifetime, http.SameSiteLaxMode))
}

// takeNotice returns the notice left for this page, once: it clears the
// cookie. A notice of another help center stays for that one.
func (s *Site) takeNotice(c *gin.Context, hc *store.HelpCenter) string {
	v, err := c.Cookie(s.cookieName(noticeCookie))
	if err != nil || v == "" {
		return ""
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 || !hmac.Equal([]byte(parts[2]), []byte(s.noticeMAC(hc, parts[0], parts[1]))) {
		return ""
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return ""
	}
	http.SetCookie(c.Writer, s.cookie(noticeCookie, "", -1, http.SameSiteLaxMode))
	return noticeText(parts[0], id)
}
