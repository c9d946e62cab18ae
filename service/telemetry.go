package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"

	"github.com/portalaccess/portal/config"
	"github.com/portalaccess/portal/metrics"
	"github.com/portalaccess/portal/store"
)

// Option adjusts a service at construction.
type Option func(*options)

type options struct{ spanExporter sdktrace.SpanExporter }

// WithSpanExporter sends the service's spans to e (a test's in-memory
// exporter) instead of OTEL_EXPORTER_OTLP_ENDPOINT.
func WithSpanExporter(e sdktrace.SpanExporter) Option {
	return func(o *options) { o.spanExporter = e }
}

// telemetry is the process's metrics and traces: the Temporal SDK's
// metrics on a registry of the service's own (served with the product's,
// package metrics), and spans from the HTTP router through the client,
// the workflows and the activities, exported over OTLP when configured.
type telemetry struct {
	// registry holds the Temporal SDK's metrics and the state read from
	// Postgres: one per service, since a test process runs several.
	registry   *prometheus.Registry
	meters     *sdkmetric.MeterProvider
	tracers    *sdktrace.TracerProvider
	propagator propagation.TextMapPropagator
}

func newTelemetry(ctx context.Context, cfg *config.Config, o options) (*telemetry, error) {
	t := &telemetry{registry: prometheus.NewRegistry(),
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
	exporter, err := otelprom.New(otelprom.WithRegisterer(t.registry), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("metrics exporter: %w", err)
	}
	t.meters = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	res := resource.NewSchemaless(attribute.String("service.name", "portal"))
	spans := o.spanExporter
	if spans == nil && cfg.OTLPEndpoint != "" {
		// Created without connecting: a collector that is down loses
		// spans, never requests.
		if spans, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(cfg.OTLPEndpoint)); err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
		}
	}
	topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	switch {
	case o.spanExporter != nil:
		topts = append(topts, sdktrace.WithSyncer(spans))
	case spans != nil:
		topts = append(topts, sdktrace.WithBatcher(spans))
	}
	t.tracers = sdktrace.NewTracerProvider(topts...)
	return t, nil
}

// watch reports the operations state of st at each scrape.
func (t *telemetry) watch(st *store.Store, logger *slog.Logger) error {
	return t.registry.Register(stateCollector{store: st, logger: logger})
}

// temporalMetrics is the SDK's metrics handler: workflow task and
// activity latencies and failures, schedule-to-start per task queue.
func (t *telemetry) temporalMetrics() client.MetricsHandler {
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter: t.meters.Meter("temporal-sdk-go"), UseMonotonicCounters: true,
		OnError: func(error) {}, // a metric that can't be recorded must not stop a workflow
	})
}

// temporalTracing carries spans from the client call into the workflow
// and its activities, through Temporal's headers.
func (t *telemetry) temporalTracing() (interceptor.Interceptor, error) {
	return temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer: t.tracers.Tracer("temporal-sdk-go"), TextMapPropagator: t.propagator,
	})
}

// TracerProvider is where the HTTP router's spans start.
func (t *telemetry) TracerProvider() trace.TracerProvider { return t.tracers }

// handler serves /metrics: the product's metrics and the SDK's.
func (t *telemetry) handler() http.Handler {
	return promhttp.HandlerFor(prometheus.Gatherers{metrics.Registry, t.registry},
		promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// shutdown flushes what is buffered.
func (t *telemetry) shutdown(ctx context.Context) error {
	return errors.Join(t.tracers.Shutdown(ctx), t.meters.Shutdown(ctx))
}

// stateCollector reports, at each scrape, what only Postgres knows:
// running bulk jobs and email sends left open.
type stateCollector struct {
	store  *store.Store
	logger *slog.Logger
}

var (
	bulkRunningDesc = prometheus.NewDesc("portal_bulk_jobs_running",
		"Bulk jobs not yet completed, cancelled or failed (from Postgres; the same on every replica).", nil, nil)
	unconfirmedDesc = prometheus.NewDesc("portal_emails_unconfirmed",
		"Email sends of the last 7 days that ended without knowing whether the provider got them (from Postgres).", nil, nil)
	sendingStuckDesc = prometheus.NewDesc("portal_emails_sending_stuck",
		"Email sends claimed more than 15 minutes ago and not finished (from Postgres).", nil, nil)
)

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- bulkRunningDesc
	ch <- unconfirmedDesc
	ch <- sendingStuckDesc
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.store.Operations(ctx)
	if err != nil {
		// Missing series say Postgres didn't answer; a zero would lie.
		c.logger.Warn("operations metrics", "error", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(bulkRunningDesc, prometheus.GaugeValue, float64(st.BulkJobsRunning))
	ch <- prometheus.MustNewConstMetric(unconfirmedDesc, prometheus.GaugeValue, float64(st.EmailsUnconfirmed))
	ch <- prometheus.MustNewConstMetric(sendingStuckDesc, prometheus.GaugeValue, float64(st.EmailsSendingStuck))
}
