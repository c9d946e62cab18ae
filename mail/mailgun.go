package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailgun/mailgun-go/v4"
	"github.com/mailgun/mailgun-go/v4/events"
)

// MailgunConfig is what the Mailgun sender needs.
type MailgunConfig struct {
	Domain string
	APIKey string
	// APIBase selects the region, for example https://api.eu.mailgun.net;
	// a missing /v3 suffix is added.
	APIBase string
	From    string
	// Timeout bounds every call to Mailgun, so a hung call ends as an
	// unknown outcome (confirmed later) instead of holding the worker.
	Timeout time.Duration
	// EventsDelay is how long Mailgun may take to index an accepted
	// message in its events: a confirmation that finds nothing before
	// then is asked again later instead of judged.
	EventsDelay time.Duration
	// WebhookSigningKey verifies the webhooks Mailgun posts.
	WebhookSigningKey string
}

// Mailgun sends through the Mailgun API.
type Mailgun struct {
	mg          *mailgun.MailgunImpl
	from        string
	domain      string
	timeout     time.Duration
	eventsDelay time.Duration
}

var versionSuffix = regexp.MustCompile(`/v[1-4]$`)

// NewMailgun returns a sender for cfg.Domain.
func NewMailgun(cfg MailgunConfig) *Mailgun {
	mg := mailgun.NewMailgun(cfg.Domain, cfg.APIKey)
	if cfg.APIBase != "" {
		apiBase := strings.TrimRight(cfg.APIBase, "/")
		if !versionSuffix.MatchString(apiBase) {
			apiBase += "/v3"
		}
		mg.SetAPIBase(apiBase)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	// The client's own timeout backs up the per-call context, and the
	// transport keeps the Retry-After of a 429, which mailgun-go's error
	// does not carry.
	mg.SetClient(&http.Client{Timeout: cfg.Timeout, Transport: retryAfterTransport{next: http.DefaultTransport}})
	mg.SetWebhookSigningKey(cfg.WebhookSigningKey)
	return &Mailgun{mg: mg, from: cfg.From, domain: cfg.Domain, timeout: cfg.Timeout, eventsDelay: cfg.EventsDelay}
}

// MessageID is the Message-Id header of the email sent with an
// idempotency key: every attempt of one send carries the same one.
func MessageID(key, domain string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16]) + "@" + domain
}

// Send implements Sender. Its errors say what kind of failure it was:
// ErrRejected (the recipient), ErrConfiguration (our side),
// ErrUnknownOutcome (maybe sent), *RetryLaterError (throttled), or a plain
// error for a request that certainly never reached Mailgun.
func (s *Mailgun) Send(ctx context.Context, m Message) (string, error) {
	from, err := From(m, s.from)
	if err != nil {
		return "", err
	}
	msg := mailgun.NewMessage(from, m.Subject, m.Text, m.To)
	dress(msg, m)
	if m.HTML != "" {
		msg.SetHTML(m.HTML)
	}
	if m.Kind != "" {
		if err := msg.AddTag(string(m.Kind)); err != nil {
			return "", fmt.Errorf("tag message: %w", err)
		}
	}
	if m.IdempotencyKey != "" {
		msg.AddHeader("Message-Id", "<"+MessageID(m.IdempotencyKey, s.domain)+">")
	}
	if m.EmailID != 0 {
		if err := msg.AddVariable(VarEmailID, strconv.FormatInt(m.EmailID, 10)); err != nil {
			return "", fmt.Errorf("message variable: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	hold := &retryAfterHolder{}
	_, id, err := s.mg.Send(context.WithValue(ctx, retryAfterKey{}, hold), msg)
	if err != nil {
		return "", s.classify(err, hold.get())
	}
	return strings.Trim(id, "<>"), nil
}

// recipientRefusal matches the 400 answers Mailgun gives for the
// recipient's address ("'to' parameter is not a valid address",
// "invalid 'to' address"). Every other 400 (a bad from, a sandbox domain's
// unauthorised recipient, a missing parameter) is ours to fix.
var recipientRefusal = regexp.MustCompile(`(?i)('to'|\bto\b)[^.]*(not a valid|invalid|address)|invalid[^.]*('to'|\bto\b)[^.]*address|recipient address`)

// classify turns a failed call into the failure kinds Send promises.
func (s *Mailgun) classify(err error, retryAfter time.Duration) error {
	var resp *mailgun.UnexpectedResponseError
	if errors.As(err, &resp) {
		body := responseMessage(resp.Data)
		switch status := resp.Actual; {
		case status == http.StatusBadRequest && recipientRefusal.MatchString(body):
			return fmt.Errorf("mailgun: %w: %s (HTTP 400)", ErrRejected, body)
		case status == http.StatusTooManyRequests:
			if retryAfter <= 0 {
				retryAfter = 30 * time.Second
			}
			return &RetryLaterError{After: retryAfter, Err: fmt.Errorf("mailgun throttled the send (HTTP 429): %s", body)}
		case status >= 500:
			// Mailgun may have queued the message before failing to say so.
			return fmt.Errorf("mailgun: %w: HTTP %d: %s", ErrUnknownOutcome, status, body)
		default:
			// 400 for our sender or domain, 401, 403, 404: a wrong key,
			// domain, region or from address.
			return fmt.Errorf("mailgun: %w: HTTP %d: %s", ErrConfiguration, status, body)
		}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		// The request never left: nothing to confirm.
		return fmt.Errorf("mailgun unreachable: %w", err)
	}
	// A timeout, a cancelled call or a broken connection after the request
	// was written: Mailgun may have it.
	return fmt.Errorf("mailgun: %w: %w", ErrUnknownOutcome, err)
}

// responseMessage extracts Mailgun's {"message": ...} from an error body.
func responseMessage(data []byte) string {
	var body struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &body) == nil && body.Message != "" {
		return body.Message
	}
	return strings.TrimSpace(string(data))
}

// Accepted implements Confirmer: it looks for the message's "accepted"
// event among the recipient's events since the interrupted attempt,
// matched on its user variable or its Message-Id. Before EventsDelay has
// passed since that attempt, finding nothing proves nothing, so it answers
// a RetryLaterError instead.
func (s *Mailgun) Accepted(ctx context.Context, m Message, since time.Time) (string, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	wantVar := strconv.FormatInt(m.EmailID, 10)
	wantID := ""
	if m.IdempotencyKey != "" {
		wantID = MessageID(m.IdempotencyKey, s.domain)
	}
	settled := time.Since(since) >= s.eventsDelay
	it := s.mg.ListEvents(&mailgun.ListEventOptions{
		Begin: since.Add(-time.Minute), ForceAscending: true, Limit: 300,
		Filter: map[string]string{"event": "accepted", "recipient": m.To},
	})
	var page []mailgun.Event
	for it.Next(ctx, &page) {
		for _, ev := range page {
			acc, ok := ev.(*events.Accepted)
			if !ok || !strings.EqualFold(acc.Recipient, m.To) {
				continue
			}
			if (m.EmailID != 0 && userVariable(acc.UserVariables, VarEmailID) == wantVar) ||
				(wantID != "" && strings.Trim(acc.Message.Headers.MessageID, "<>") == wantID) {
				return strings.Trim(acc.Message.Headers.MessageID, "<>"), true, nil
			}
		}
	}
	if err := it.Err(); err != nil {
		return "", false, fmt.Errorf("mailgun events: %w", err)
	}
	if !settled {
		wait := s.eventsDelay - time.Since(since)
		return "", false, &RetryLaterError{After: max(wait, time.Second), Err: errors.New("mailgun may not have indexed the send yet")}
	}
	return "", false, nil
}

// userVariable reads one of an event's user variables, which arrive as a
// JSON object of strings.
func userVariable(vars any, name string) string {
	m, ok := vars.(map[string]any)
	if !ok {
		return ""
	}
	switch v := m[name].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatInt(int64(v), 10)
	}
	return ""
}

// SuppressedAddress is an address on one of Mailgun's own lists.
type SuppressedAddress struct {
	Address string
	// Complaint: the list of spam complaints; otherwise bounces.
	Complaint bool
	Detail    string
}

// SuppressionLists reads Mailgun's bounce and complaint lists of the
// domain, every page.
func (s *Mailgun) SuppressionLists(ctx context.Context) ([]SuppressedAddress, error) {
	var out []SuppressedAddress
	bounces := s.mg.ListBounces(&mailgun.ListOptions{Limit: 1000})
	var bpage []mailgun.Bounce
	for bounces.Next(ctx, &bpage) {
		for _, b := range bpage {
			out = append(out, SuppressedAddress{Address: b.Address, Detail: strings.TrimSpace(b.Code + " " + b.Error)})
		}
	}
	if err := bounces.Err(); err != nil {
		return nil, fmt.Errorf("mailgun bounces: %w", err)
	}
	complaints := s.mg.ListComplaints(&mailgun.ListOptions{Limit: 1000})
	var cpage []mailgun.Complaint
	for complaints.Next(ctx, &cpage) {
		for _, c := range cpage {
			out = append(out, SuppressedAddress{Address: c.Address, Complaint: true, Detail: "spam complaint"})
		}
	}
	if err := complaints.Err(); err != nil {
		return nil, fmt.Errorf("mailgun complaints: %w", err)
	}
	return out, nil
}

// retryAfterKey carries a *retryAfterHolder to the transport.
type retryAfterKey struct{}

type retryAfterHolder struct {
	mu    sync.Mutex
	after time.Duration
}

func (h *retryAfterHolder) get() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.after
}

// retryAfterTransport records the Retry-After of a 429 in the holder the
// request's context carries.
type retryAfterTransport struct{ next http.RoundTripper }

func (t retryAfterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		return resp, err
	}
	if h, ok := req.Context().Value(retryAfterKey{}).(*retryAfterHolder); ok {
		h.mu.Lock()
		h.after = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		h.mu.Unlock()
	}
	return resp, nil
}

// parseRetryAfter reads seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// dress sets what a message carries beyond its content: the reply-to
// address, extra headers and, for a message with a token, tracking off
// for this message whatever the domain's setting.
func dress(msg *mailgun.Message, m Message) {
	if m.Sender.ReplyTo != "" {
		msg.SetReplyTo(m.Sender.ReplyTo)
	}
	for name, value := range m.Headers {
		msg.AddHeader(name, value)
	}
	if m.Untracked {
		msg.SetTracking(false)
		msg.SetTrackingClicks(false)
		msg.SetTrackingOpens(false)
	}
}
