package service

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/portalaccess/portal/config"
	"github.com/portalaccess/portal/metrics"
)

// newTemporalClient builds the Temporal client without connecting: the
// HTTP side serves its pages while Temporal is down, calls that need it
// fail (503) until it answers, and the connection is made on first use
// and re-made by gRPC on its own afterwards.
func newTemporalClient(cfg *config.Config, logger *slog.Logger, metrics client.MetricsHandler, interceptors []interceptor.ClientInterceptor) (client.Client, error) {
	opts := client.Options{
		HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger:         tlog.NewStructuredLogger(logger.With("component", "temporal")),
		MetricsHandler: metrics,
		Interceptors:   append([]interceptor.ClientInterceptor{&deadlines{timeout: cfg.TemporalCallTimeout}}, interceptors...),
		ConnectionOptions: client.ConnectionOptions{
			TLS: cfg.TemporalTLS(),
			// Connecting (on first use) is bounded like any call.
			GetSystemInfoTimeout: cfg.TemporalCallTimeout,
			DialOptions:          []grpc.DialOption{grpc.WithChainUnaryInterceptor(countUnreachable)},
		},
	}
	if cfg.TemporalAPIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey)
	}
	c, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, fmt.Errorf("temporal client for %s (TEMPORAL_ADDRESS): %w", cfg.TemporalAddress, err)
	}
	return c, nil
}

// countUnreachable counts the calls to Temporal, from any part of the
// process (requests, the sweeper, the workers' polls), that found it
// unreachable or too slow: the one signal that Temporal is down for us.
func countUnreachable(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		metrics.TemporalUnavailable.Inc()
	}
	return err
}

// deadlines gives every call the API, the pages and the sweeper make to
// Temporal a deadline (TEMPORAL_CALL_TIMEOUT) unless the caller set an
// earlier one, so an unreachable or slow server costs a request that long
// and no longer. Waiting for a workflow's result is left alone: callers
// that wait for one (tests, tools) choose how long.
type deadlines struct {
	interceptor.ClientInterceptorBase
	timeout time.Duration
}

func (d *deadlines) InterceptClient(next interceptor.ClientOutboundInterceptor) interceptor.ClientOutboundInterceptor {
	o := &deadlineCalls{timeout: d.timeout}
	o.Next = next
	return o
}

type deadlineCalls struct {
	interceptor.ClientOutboundInterceptorBase
	timeout time.Duration
}

func (d *deadlineCalls) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.timeout)
}

func (d *deadlineCalls) ExecuteWorkflow(ctx context.Context, in *interceptor.ClientExecuteWorkflowInput) (client.WorkflowRun, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Next.ExecuteWorkflow(ctx, in)
}

func (d *deadlineCalls) SignalWorkflow(ctx context.Context, in *interceptor.ClientSignalWorkflowInput) error {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Next.SignalWorkflow(ctx, in)
}

func (d *deadlineCalls) SignalWithStartWorkflow(ctx context.Context, in *interceptor.ClientSignalWithStartWorkflowInput) (client.WorkflowRun, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Next.SignalWithStartWorkflow(ctx, in)
}

func (d *deadlineCalls) CancelWorkflow(ctx context.Context, in *interceptor.ClientCancelWorkflowInput) error {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Next.CancelWorkflow(ctx, in)
}

func (d *deadlineCalls) TerminateWorkflow(ctx context.Context, in *interceptor.ClientTerminateWorkflowInput) error {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Next.TerminateWorkflow(ctx, in)
}

func (d *deadlineCalls) QueryWorkflow(ctx context.Context, in *interceptor.ClientQueryWorkflowInput) (converter.EncodedValue, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Next.QueryWorkflow(ctx, in)
}

func (d *deadlineCalls) UpdateWorkflow(ctx context.Context, in *interceptor.ClientUpdateWorkflowInput) (client.WorkflowUpdateHandle, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Next.UpdateWorkflow(ctx, in)
}

func (d *deadlineCalls) UpdateWithStartWorkflow(ctx context.Context, in *interceptor.ClientUpdateWithStartWorkflowInput) (client.WorkflowUpdateHandle, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Next.UpdateWithStartWorkflow(ctx, in)
}

func (d *deadlineCalls) DescribeWorkflow(ctx context.Context, in *interceptor.ClientDescribeWorkflowInput) (*interceptor.ClientDescribeWorkflowOutput, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Next.DescribeWorkflow(ctx, in)
}
