package portal

import "context"

type requestIDKey struct{}

// WithRequestID carries the ID of the request being served (answered in
// X-Request-Id), so the audit events it causes, even those a workflow
// writes later on its behalf, name it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the ID WithRequestID put in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
