package testenv

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"

	"github.com/mailgun/mailgun-go/v4"
)

// MailgunRecorder is mailgun-go's mock server behind a front that keeps
// the form of every message request (from, h:Reply-To, o:tracking and
// the rest), which the mock itself does not record, so a test can assert
// what the real client sent.
type MailgunRecorder struct {
	Mock mailgun.MockServer
	srv  *httptest.Server

	mu   sync.Mutex
	sent []url.Values
}

// NewMailgunRecorder starts the mock and its front; Close stops both.
func NewMailgunRecorder() *MailgunRecorder {
	m := &MailgunRecorder{Mock: mailgun.NewMockServer()}
	target, _ := url.Parse(m.Mock.URL())
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages") {
			body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
			form := http.Request{Method: r.Method, Header: r.Header, Body: io.NopCloser(bytes.NewReader(body))}
			if err := form.ParseMultipartForm(1 << 20); err == nil { //nolint:gosec // read through a MaxBytesReader
				m.mu.Lock()
				m.sent = append(m.sent, url.Values(form.MultipartForm.Value))
				m.mu.Unlock()
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		proxy.ServeHTTP(w, r)
	}))
	return m
}

// URL is the API base to configure (MAILGUN_API_BASE).
func (m *MailgunRecorder) URL() string { return m.srv.URL + "/v3" }

// Close stops the front and the mock.
func (m *MailgunRecorder) Close() {
	m.srv.Close()
	m.Mock.Stop()
}

// Sent returns the forms of the message requests to an address, in the
// order they came.
func (m *MailgunRecorder) Sent(to string) []url.Values {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []url.Values
	for _, v := range m.sent {
		if strings.Contains(strings.ToLower(v.Get("to")), strings.ToLower(to)) {
			out = append(out, v)
		}
	}
	return out
}
