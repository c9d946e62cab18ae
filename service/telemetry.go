package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"

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
	sdkRegistry *prometheus.Registry
	meters      *sdkmetric.MeterProvider
	tracers     *sdktrace.TracerProvider
	propagator  propagation.TextMapPropagator
}

func newTelemetry(ctx context.Context, cfg *config.Config, o options) (*telemetry, error) {
	t := &telemetry{sdkRegistry: prometheus.NewRegistry(),
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
	exporter, err := otelprom.New(otelprom.WithRegisterer(t.sdkRegistry), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
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
	return promhttp.HandlerFor(prometheus.Gatherers{metrics.Registry, t.sdkRegistry},
		promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// shutdown flushes what is buffered.
func (t *telemetry) shutdown(ctx context.Context) error {
	return errors.Join(t.tracers.Shutdown(ctx), t.meters.Shutdown(ctx))
}
