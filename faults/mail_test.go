package faults

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portalaccess/portal/testenv"
)

// delivered is one message the provider accepted (answered 200).
type delivered struct {
	To    string
	Kind  string // the message's tag: invite, reminder, welcome...
	Token string // the link's token, when the message has one
	At    time.Time
}

// provider is Mailgun's mock server (with testenv's front, which keeps
// user variables and filters events as Mailgun does) behind a handler that
// records every message it accepted and, during an outage, answers 503 to
// two calls in three.
type provider struct {
	mock    *testenv.Mailgun
	srv     *httptest.Server
	failing atomic.Bool
	calls   atomic.Int64
	mu      sync.Mutex
	sent    []delivered
	refused atomic.Int64
}

var tokenInLink = regexp.MustCompile(`[?&]token=([^\s&"<>]+)`)

func startProvider(t *testing.T) *provider {
	t.Helper()
	p := &provider{mock: testenv.NewMailgun()}
	upstream, err := url.Parse(p.mock.URL())
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: upstream.Scheme, Host: upstream.Host})
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.failing.Load() && p.calls.Add(1)%3 != 0 {
			p.refused.Add(1)
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			return
		}
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") {
			forward.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		forward.ServeHTTP(rec, r)
		if rec.status == http.StatusOK {
			p.record(r.Header.Get("Content-Type"), body)
		}
	}))
	t.Cleanup(func() {
		p.srv.Close()
		p.mock.Close()
	})
	return p
}

// apiBase is the provider's API root as MAILGUN_API_BASE takes it, on
// the given address (the proxy in front of it).
func (p *provider) apiBase(addr string) string { return "http://" + addr + "/v3" }

// address is the recording handler's own address, the proxy's upstream.
func (p *provider) address() string { return strings.TrimPrefix(p.srv.URL, "http://") }

// record notes a message the mock accepted, read from its form.
func (p *provider) record(contentType string, body []byte) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return
	}
	form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(10 << 20)
	if err != nil {
		return
	}
	first := func(k string) string {
		if v := form.Value[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	d := delivered{To: strings.ToLower(first("to")), Kind: first("o:tag"), At: time.Now()}
	if m := tokenInLink.FindStringSubmatch(first("text")); m != nil {
		d.Token, _ = url.QueryUnescape(m[1])
	}
	p.mu.Lock()
	p.sent = append(p.sent, d)
	p.mu.Unlock()
}

// messages returns what was delivered so far.
func (p *provider) messages() []delivered {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]delivered(nil), p.sent...)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
