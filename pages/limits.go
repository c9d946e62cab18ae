package pages

import (
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/metrics"
)

// Rate limit scopes in the rate_limits table.
const (
	scopeClient = "portal-client"
	scopeTarget = "portal-target"
)

// busyRetry is what a form answered 503 because every hashing slot was
// taken asks the browser to wait: a hash takes a fraction of a second.
const busyRetry = 5 * time.Second

// readForm reads a POST's form before anything else looks at it. A body
// over the server's limit answers 413 with a page saying so, rather than
// reaching the handlers as an empty form that they would refuse as
// expired; a body that can't be read as a form, or a link with a NUL
// character in it, answers 400.
func (s *Site) readForm(c *gin.Context) {
	if strings.Contains(strings.ToLower(c.Request.URL.RawQuery), "%00") || strings.ContainsRune(c.Request.URL.Path, 0) {
		s.message(c, http.StatusBadRequest, "Help center", "Link not valid", "This link contains characters that can't be used.",
			"Check that you copied the whole link.")
		c.Abort()
		return
	}
	if c.Request.Method != http.MethodPost {
		return
	}
	// ParseMultipartForm hides ParseForm's error behind ErrNotMultipart,
	// so a URL-encoded form (every portal form) is read on its own.
	err := c.Request.ParseForm()
	if err == nil && strings.HasPrefix(c.ContentType(), "multipart/") {
		err = c.Request.ParseMultipartForm(1 << 20)
	}
	if err == nil {
		return
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.message(c, http.StatusRequestEntityTooLarge, "Help center", "Form too large",
			"The form you sent is larger than "+strconv.FormatInt(tooBig.Limit>>20, 10)+" MB, and was not accepted.",
			"Go back, shorten what you typed, and send it again.")
	} else {
		s.message(c, http.StatusBadRequest, "Help center", "Form not accepted", "The form you sent could not be read.",
			"Reload the page and try again.")
	}
	c.Abort()
}

// limitPosts counts every POST of the portal against its client address,
// then, when the form names an email address or carries a link's token,
// against that target; a post over either limit gets the 429 page before
// its handler does any work. Both checks are one database statement each,
// cheap next to the argon2id hash a login or a new password costs.
func (s *Site) limitPosts(c *gin.Context) {
	if c.Request.Method != http.MethodPost {
		return
	}
	client := clientKey(clientIP(c.Request, s.TrustedProxies))
	if !s.take(c, scopeClient, s.Tokens.Pseudonym(scopeClient, client), s.PerIP) {
		return
	}
	if target := postTarget(c); target != "" {
		// Per route and help center: an address may sign up here and log
		// in there without the one using up the other.
		key := s.Tokens.Pseudonym(scopeTarget, c.FullPath()+"\x00"+c.Param("slug")+"\x00"+target)
		s.take(c, scopeTarget, key, s.PerTarget)
	}
}

// postTarget is what a portal form is about: the link's token (accept,
// verify, reset) or else the email address (login, sign-up, forgotten
// password), in a form that does not depend on letter case or spacing.
func postTarget(c *gin.Context) string {
	if token := c.PostForm("token"); token != "" {
		return "token\x00" + token
	}
	if email := strings.TrimSpace(c.PostForm("email")); email != "" {
		if n, ok := portal.NormalizeEmail(email); ok {
			email = n
		}
		return "email\x00" + strings.ToLower(email)
	}
	return ""
}

// take counts one attempt, and answers 429 (or 503 when the count can't be
// kept) and stops the request when it may not go on.
func (s *Site) take(c *gin.Context, scope string, key []byte, rate portal.Rate) bool {
	if rate.Count <= 0 {
		return true // a site built without limits (configuration always sets them)
	}
	ok, wait, err := s.Store.TakeRate(c.Request.Context(), scope, key, rate)
	if err != nil {
		// Without the count, a flood would go through unchecked: refuse.
		s.failed(c, "Help center", "rate limit", err, "", "scope", scope)
		c.Abort()
		return false
	}
	if !ok {
		s.Logger.Info("rate limited", "scope", scope, "route", c.FullPath(), "retry_after_s", retrySeconds(wait))
		metrics.RateLimited.WithLabelValues(strings.TrimPrefix(scope, "portal-")).Inc()
		s.tooMany(c, wait)
		c.Abort()
		return false
	}
	return true
}

// tooMany renders the 429 page: when to try again, in words and in
// Retry-After.
func (s *Site) tooMany(c *gin.Context, wait time.Duration) {
	c.Header("Retry-After", retrySeconds(wait))
	s.message(c, http.StatusTooManyRequests, "Help center", "Too many attempts",
		"There have been too many attempts from your network, or for the same address or link, in a short time.",
		"Please try again "+portal.RetryWords(wait)+". Your browser's back button returns to the form.")
}

// busy marks an answer to a form whose password could not be hashed in
// time; the caller renders the form again, as typed, with busyMessage.
// The request log shows each such answer as a 503 of its route.
func busy(c *gin.Context) {
	c.Header("Retry-After", retrySeconds(busyRetry))
}

const busyMessage = "Too many people are doing this right now. Please try again in a few seconds."

// retrySeconds is a Retry-After value: whole seconds, rounded up.
func retrySeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

// clientIP is the address of the client: the connection's peer, unless
// that is a trusted proxy, in which case X-Forwarded-For is read from the
// right, skipping trusted proxies, to the first address that is not one.
// Entries left of that were written by the client and mean nothing.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := peer.Addr().Unmap()
	if !isTrusted(addr, trusted) {
		return addr
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// A mangled entry: count the request against the last proxy
			// that can be trusted, which is stricter, never laxer.
			return addr
		}
		addr = hop.Unmap()
		if !isTrusted(addr, trusted) {
			return addr
		}
	}
	return addr
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// clientKey is what one client is counted by: its IPv4 address, or the
// /64 network of an IPv6 one, since anybody gets a /64 to pick from.
func clientKey(addr netip.Addr) string {
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}
