package testenv

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mailgun/mailgun-go/v4"
	"github.com/mailgun/mailgun-go/v4/events"
)

// Mailgun is mailgun-go's mock server behind a front of our own, so the
// real client code talks to it while a test adds what the mock lacks:
// messages keep their user variables and filtered events (as Mailgun's
// do), events can be indexed late, and a test can make the next sends
// fail as Mailgun does (a status with a body and headers) or hang after
// Mailgun took the message.
type Mailgun struct {
	Mock mailgun.MockServer
	srv  *httptest.Server

	mu sync.Mutex
	// vars holds each accepted message's user variables by its ID.
	vars map[string]map[string]string
	// headers holds each accepted message's custom headers (h:) by its ID.
	headers map[string]map[string]string
	// indexDelay hides accepted events younger than it from the events
	// API, as Mailgun's own indexing does.
	indexDelay time.Duration
	// plan is what the next sends meet, first first.
	plan []Reply
	// hung are released when the test ends.
	hung chan struct{}
}

// Reply is one planned answer to a send.
type Reply struct {
	// Status and Body answer instead of the mock (the message is not
	// taken); Header is added to the answer.
	Status int
	Body   string
	Header http.Header
	// HangAfterAccept: the mock takes the message, then the answer never
	// comes (until the client gives up).
	HangAfterAccept bool
}

// NewMailgun starts the mock and its front; Close stops both.
func NewMailgun() *Mailgun {
	m := &Mailgun{Mock: mailgun.NewMockServer(), vars: map[string]map[string]string{}, headers: map[string]map[string]string{},
		hung: make(chan struct{})}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	return m
}

// URL is the API base to configure (MAILGUN_API_BASE).
func (m *Mailgun) URL() string { return m.srv.URL + "/v3" }

// Close stops the front and the mock.
func (m *Mailgun) Close() {
	close(m.hung)
	m.srv.Close()
	m.Mock.Stop()
}

// SetIndexDelay makes accepted messages appear in the events API only
// this long after they were accepted.
func (m *Mailgun) SetIndexDelay(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.indexDelay = d
}

// Plan queues answers for the next sends.
func (m *Mailgun) Plan(r ...Reply) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.plan = append(m.plan, r...)
}

// Accepted counts the messages the mock accepted, by recipient.
func (m *Mailgun) Accepted() map[string]int {
	out := map[string]int{}
	for _, ev := range m.Mock.Events() {
		if acc, ok := ev.(*events.Accepted); ok && acc.Recipient != "" && acc.Message.Headers.From != "" {
			out[strings.ToLower(acc.Recipient)]++
		}
	}
	return out
}

// Variables returns the user variables of the accepted messages to an
// address, in the order they were accepted.
func (m *Mailgun) Variables(to string) []map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []map[string]string
	for _, ev := range m.Mock.Events() {
		if acc, ok := ev.(*events.Accepted); ok && strings.EqualFold(acc.Recipient, to) {
			out = append(out, m.vars[acc.ID])
		}
	}
	return out
}

// Headers returns the custom headers of the accepted messages to an
// address, in the order they were accepted.
func (m *Mailgun) Headers(to string) []map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []map[string]string
	for _, ev := range m.Mock.Events() {
		if acc, ok := ev.(*events.Accepted); ok && strings.EqualFold(acc.Recipient, to) {
			out = append(out, m.headers[acc.ID])
		}
	}
	return out
}

func (m *Mailgun) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages"):
		m.send(w, r)
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/events"):
		m.events(w, r)
	default:
		m.forward(w, r, nil)
	}
}

func (m *Mailgun) send(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := r.ParseMultipartForm(1 << 20); err != nil { //nolint:gosec // the body was read through a MaxBytesReader
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	vars, headers := map[string]string{}, map[string]string{}
	for k, v := range r.MultipartForm.Value {
		switch {
		case strings.HasPrefix(k, "v:") && len(v) > 0:
			vars[strings.TrimPrefix(k, "v:")] = v[0]
		case strings.HasPrefix(k, "h:") && len(v) > 0:
			headers[strings.TrimPrefix(k, "h:")] = v[0]
		}
	}
	m.mu.Lock()
	var reply Reply
	if len(m.plan) > 0 {
		reply, m.plan = m.plan[0], m.plan[1:]
	}
	m.mu.Unlock()
	if reply.Status != 0 {
		for k, v := range reply.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(reply.Status)
		_, _ = io.WriteString(w, reply.Body)
		return
	}
	rec := httptest.NewRecorder()
	m.forward(rec, r, body)
	var resp struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &resp) == nil && resp.ID != "" {
		m.mu.Lock()
		m.vars[strings.Trim(resp.ID, "<>")] = vars
		m.headers[strings.Trim(resp.ID, "<>")] = headers
		m.mu.Unlock()
	}
	if reply.HangAfterAccept {
		select {
		case <-r.Context().Done():
		case <-m.hung:
		}
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// events answers from the mock's events, filtered by the query's event
// and recipient as Mailgun filters them, with each message's user
// variables, and without the accepted events not yet indexed: all of them
// on one page, then an empty page, so a filter never yields an empty page
// before the end.
func (m *Mailgun) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	items := []map[string]any{}
	if q.Get("page") != "done" {
		m.mu.Lock()
		delay := m.indexDelay
		vars := m.vars
		m.mu.Unlock()
		for _, ev := range m.Mock.Events() {
			raw, err := json.Marshal(ev)
			if err != nil {
				continue
			}
			var it map[string]any
			if json.Unmarshal(raw, &it) != nil {
				continue
			}
			if e := q.Get("event"); e != "" && it["event"] != e {
				continue
			}
			if to := q.Get("recipient"); to != "" && !strings.EqualFold(stringField(it, "recipient"), to) {
				continue
			}
			if delay > 0 && time.Since(ev.GetTimestamp()) < delay {
				continue
			}
			m.mu.Lock()
			if v, ok := vars[ev.GetID()]; ok {
				it["user-variables"] = v
			}
			m.mu.Unlock()
			items = append(items, it)
		}
	}
	done := m.URL() + strings.TrimPrefix(r.URL.Path, "/v3") + "?page=done"
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"items":  items,
		"paging": map[string]string{"next": done, "first": done, "last": done, "previous": done},
	})
}

func stringField(it map[string]any, k string) string {
	s, _ := it[k].(string)
	return s
}

// forward sends the request on to the mock.
func (m *Mailgun) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	target, _ := url.Parse(m.Mock.URL())
	u := *r.URL
	u.Scheme, u.Host = target.Scheme, target.Host
	var rd io.Reader = r.Body
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), rd) //nolint:gosec // the target is the test's own mock server

	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req) //nolint:gosec // the target is the test's own mock server
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}
