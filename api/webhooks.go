package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	"github.com/portalaccess/portal"
	"github.com/portalaccess/portal/mail"
	"github.com/portalaccess/portal/metrics"
	"github.com/portalaccess/portal/store"
	"github.com/portalaccess/portal/workflows"
)

// webhookMaxAge is how far a webhook's timestamp may be from now: an
// older one is refused, so a captured webhook can't be replayed later,
// and its token need only be remembered that long.
const webhookMaxAge = 5 * time.Minute

// mailgunWebhook is the body of Mailgun's JSON webhooks.
type mailgunWebhook struct {
	Signature struct {
		Timestamp string `json:"timestamp"`
		Token     string `json:"token"`
		Signature string `json:"signature"`
	} `json:"signature"`
	EventData mailgunEventData `json:"event-data"`
}

type mailgunEventData struct {
	Event          string  `json:"event"`
	Timestamp      float64 `json:"timestamp"`
	Severity       string  `json:"severity,omitempty"`
	Reason         string  `json:"reason,omitempty"`
	Recipient      string  `json:"recipient"`
	DeliveryStatus struct {
		Code        int    `json:"code,omitempty"`
		Message     string `json:"message,omitempty"`
		Description string `json:"description,omitempty"`
	} `json:"delivery-status"`
	Message struct {
		Headers struct {
			MessageID string `json:"message-id"`
		} `json:"headers"`
	} `json:"message"`
	UserVariables map[string]any `json:"user-variables,omitempty"`
}

// delivery maps the event to what it says of the email; ok is false for
// events the portal does not track (opened, clicked, accepted...).
func (e *mailgunEventData) delivery() (portal.EmailDelivery, string, bool) {
	switch e.Event {
	case "delivered":
		return portal.DeliveryDelivered, "delivered", true
	case "failed":
		if e.Severity == "temporary" {
			return portal.DeliveryDeferred, "deferred", true
		}
		return portal.DeliveryBounced, "bounced", true
	case "complained":
		return portal.DeliveryComplained, "complained", true
	}
	return "", e.Event, false
}

// failureText is the provider's explanation of a failure, short.
func (e *mailgunEventData) failureText() string {
	parts := []string{}
	if e.DeliveryStatus.Code != 0 {
		parts = append(parts, strconv.Itoa(e.DeliveryStatus.Code))
	}
	for _, s := range []string{e.Reason, e.DeliveryStatus.Description, e.DeliveryStatus.Message} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
			break
		}
	}
	text := strings.Join(parts, " ")
	if len(text) > 500 {
		text = text[:500]
	}
	return text
}

func (e *mailgunEventData) emailID() int64 {
	switch v := e.UserVariables[mail.VarEmailID].(type) {
	case string:
		id, _ := strconv.ParseInt(v, 10, 64)
		return id
	case float64:
		return int64(v)
	}
	return 0
}

// webhookOutcome is how a webhook call is answered.
type webhookOutcome struct {
	status        int
	code, message string
}

// mailgunWebhook receives Mailgun's events (POST /webhooks/mailgun). The
// answer is 200 for anything taken or deliberately ignored (an unknown
// email, a replay), so Mailgun stops retrying; 401 for a bad signature or
// a stale timestamp; 503 when Temporal could not be told, so Mailgun
// retries later.
func (s *Server) mailgunWebhook(c *gin.Context) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		abort(c, http.StatusRequestEntityTooLarge, "body_too_large", "request body is too large")
		return
	}
	out := s.receiveMailgunWebhook(c.Request.Context(), body)
	if out.status != http.StatusOK {
		abort(c, out.status, out.code, out.message)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": out.code})
}

// receiveMailgunWebhook verifies and records one webhook: the signature
// (mailgun-go's check), the timestamp window, the token (a replay
// changes nothing), then the event into its email's log row, the
// suppression of an address that bounced or complained, and a signal to
// the invitation it belonged to.
func (s *Server) receiveMailgunWebhook(ctx context.Context, body []byte) webhookOutcome {
	var hook mailgunWebhook
	if err := json.Unmarshal(body, &hook); err != nil {
		return webhookOutcome{http.StatusBadRequest, "invalid_json", "the body is not a Mailgun JSON webhook"}
	}
	sig := hook.Signature
	if !s.Webhooks.Verify(sig.Timestamp, sig.Token, sig.Signature) {
		metrics.WebhookSignatureFailures.Inc()
		s.Logger.Warn("mailgun webhook refused: bad signature")
		return webhookOutcome{http.StatusUnauthorized, "bad_signature", "the webhook's signature does not verify"}
	}
	ts, err := strconv.ParseInt(sig.Timestamp, 10, 64)
	if err != nil || math.Abs(time.Since(time.Unix(ts, 0)).Seconds()) > webhookMaxAge.Seconds() {
		metrics.WebhookSignatureFailures.Inc()
		s.Logger.Warn("mailgun webhook refused: timestamp outside the window", "timestamp", sig.Timestamp)
		return webhookOutcome{http.StatusUnauthorized, "stale_webhook", "the webhook's timestamp is too old or in the future"}
	}
	ev := hook.EventData
	delivery, label, tracked := ev.delivery()
	if seen, err := s.Store.WebhookTokenSeen(ctx, sig.Token); err != nil {
		s.Logger.Error("webhook token", "error", err)
		return webhookOutcome{http.StatusServiceUnavailable, "unavailable", "try again"}
	} else if seen {
		metrics.EmailEvents.WithLabelValues(label, "replayed").Inc()
		return webhookOutcome{http.StatusOK, "replayed", ""}
	}
	if tracked {
		if out, ok := s.recordMailgunEvent(ctx, ev, delivery, label); !ok {
			return out
		}
	}
	// Remembered once handled, so Mailgun's retry of a call that failed
	// above is handled again rather than taken for a replay.
	if _, err := s.Store.UseWebhookToken(ctx, sig.Token, time.Unix(ts, 0).Add(2*webhookMaxAge)); err != nil {
		s.Logger.Error("webhook token", "error", err)
	}
	if !tracked {
		return webhookOutcome{http.StatusOK, "ignored", ""}
	}
	return webhookOutcome{http.StatusOK, "recorded", ""}
}

// recordMailgunEvent writes a tracked event and acts on a bounce or a
// complaint; ok is false with the answer when it could not finish.
func (s *Server) recordMailgunEvent(ctx context.Context, ev mailgunEventData, delivery portal.EmailDelivery, label string) (webhookOutcome, bool) {
	at := time.Unix(0, int64(ev.Timestamp*float64(time.Second))).UTC()
	if ev.Timestamp == 0 {
		at = time.Now().UTC()
	}
	res, err := s.Store.RecordEmailEvent(ctx, store.EmailEvent{EmailID: ev.emailID(), MessageID: ev.Message.Headers.MessageID,
		Delivery: delivery, At: at, Reason: ev.failureText()})
	if err != nil {
		s.Logger.Error("recording mailgun event", "error", err)
		return webhookOutcome{http.StatusServiceUnavailable, "unavailable", "try again"}, false
	}
	if res.Email == nil {
		metrics.EmailEvents.WithLabelValues(label, "unmatched").Inc()
		s.Logger.Info("mailgun event for no email of ours", "event", ev.Event)
		return webhookOutcome{}, true
	}
	result := "duplicate"
	if res.Changed {
		result = "recorded"
	}
	metrics.EmailEvents.WithLabelValues(label, result).Inc()
	s.Logger.Info("mailgun event", "event", ev.Event, "severity", ev.Severity, "email", res.Email.ID, "result", result)
	reason := portal.UndeliverableBounced
	switch delivery {
	case portal.DeliveryComplained:
		reason = portal.UndeliverableComplained
	case portal.DeliveryBounced:
	default:
		return webhookOutcome{}, true
	}
	added, err := s.Store.Suppress(ctx, res.Email.Recipient, reason, store.SuppressedByWebhook, ev.failureText())
	if err != nil {
		s.Logger.Error("suppressing address", "email", res.Email.ID, "error", err)
		return webhookOutcome{http.StatusServiceUnavailable, "unavailable", "try again"}, false
	}
	if added {
		metrics.Suppressions.WithLabelValues(store.SuppressedByWebhook, string(reason)).Inc()
	}
	if err := s.signalDeliveryFailed(ctx, res.Email, reason); err != nil {
		s.Logger.Error("signalling delivery failure", "email", res.Email.ID, "error", err)
		return webhookOutcome{http.StatusServiceUnavailable, "temporal_unavailable", "the workflow service is unavailable; try again"}, false
	}
	return webhookOutcome{}, true
}

// signalDeliveryFailed tells the invitation, sign-up or password reset an
// email belonged to that its address bounced or complained: the
// invitation and a sign-up still waiting for its link close as
// undeliverable, a reset sends no more links. A workflow that already
// closed needs nothing (the suppression keeps later ones from sending);
// other workflows' emails are notices, kept only on record.
func (s *Server) signalDeliveryFailed(ctx context.Context, e *store.EmailLog, reason portal.UndeliverableReason) error {
	if e.WorkflowID == nil {
		return nil
	}
	signal := workflows.DeliveryFailed{EmailKey: e.IdempotencyKey, Reason: reason}
	switch {
	case strings.HasPrefix(*e.WorkflowID, "invitation/") && e.InvitationID != nil:
		signal.InvitationID = *e.InvitationID
	case strings.HasPrefix(*e.WorkflowID, "signup/"), strings.HasPrefix(*e.WorkflowID, "password-reset/"):
	default:
		return nil
	}
	err := s.Temporal.SignalWorkflow(ctx, *e.WorkflowID, "", workflows.DeliveryFailedSignal, signal)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil
	}
	return err
}
