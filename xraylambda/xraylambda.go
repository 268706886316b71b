// Package xraylambda traces AWS Lambda functions. Lambda records a
// segment for each invocation itself; the function continues it through a
// facade segment made from the invocation's trace header, and its
// subsegments (database calls, AWS SDK calls, HTTP calls) are sent one by
// one as they close, since the function may be frozen as soon as it
// returns.
//
//	func handler(ctx context.Context, event events.SQSEvent) error {
//		ctx, _ = xraylambda.Begin(ctx)
//		defer xray.Flush(context.Background())
//		...
//	}
//
// The daemon's address comes from AWS_XRAY_DAEMON_ADDRESS, which Lambda
// sets.
//
// When Lambda passes no trace header (the function's tracing is off) and
// the event comes from a service instrumented with OpenTelemetry, Begin
// with WithHeaders continues the caller's W3C traceparent instead.
package xraylambda

import (
	"context"
	"os"
	"strings"

	"github.com/openxray/xray"
	"github.com/openxray/xray/header"
)

// TraceHeaderEnv is the variable Lambda sets to each invocation's trace
// header.
const TraceHeaderEnv = "_X_AMZN_TRACE_ID"

// contextKey is the key under which github.com/aws/aws-lambda-go puts
// the invocation's trace header in the handler's context.
const contextKey = "x-amzn-trace-id"

// IsLambda reports whether the program runs in AWS Lambda
// (LAMBDA_TASK_ROOT is set).
func IsLambda() bool { return os.Getenv("LAMBDA_TASK_ROOT") != "" }

// TraceHeader returns the invocation's trace header: the one the Lambda
// runtime library put in ctx, else _X_AMZN_TRACE_ID. It is empty (never
// nil) outside an invocation.
func TraceHeader(ctx context.Context) *header.Header {
	if ctx != nil {
		if v, ok := ctx.Value(contextKey).(string); ok && v != "" {
			return header.FromString(v)
		}
	}
	return header.FromString(os.Getenv(TraceHeaderEnv))
}

// Option configures Begin.
type Option func(*options)

type options struct {
	rec     *xray.Recorder
	headers map[string]string
	order   []header.Format
}

// WithRecorder uses r instead of the default recorder.
func WithRecorder(r *xray.Recorder) Option { return func(o *options) { o.rec = r } }

// WithHeaders gives Begin the event's headers: an API Gateway, Function
// URL or load balancer event's Headers, or an SQS message's attributes as
// strings. Their names are matched without regard to case. They are read
// only when Lambda passed no trace header, in the given order of formats
// (by default X-Amzn-Trace-Id, then W3C traceparent with tracestate).
func WithHeaders(headers map[string]string, order ...header.Format) Option {
	return func(o *options) { o.headers, o.order = headers, order }
}

// Begin returns ctx with the invocation's facade segment (see
// xray.Recorder.BeginFacadeSegment).
//
// Without a trace header from Lambda, but with one in the headers given by
// WithHeaders (a caller instrumented with OpenTelemetry sends
// traceparent), Begin begins a segment of its own, named after the
// function (AWS_LAMBDA_FUNCTION_NAME), that continues the caller's trace;
// the handler must close it. Closing a facade does nothing, so handlers
// can always write defer seg.Close(nil).
//
// With neither, it returns ctx and nil: the calls made in it are then
// untraced.
func Begin(ctx context.Context, opts ...Option) (context.Context, *xray.Segment) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.rec == nil {
		o.rec = xray.Default()
	}
	h := TraceHeader(ctx)
	if h.TraceID == "" && o.headers != nil {
		if in := header.Extract(lookup(o.headers), o.order...); in != nil && in.TraceID != "" {
			name := os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
			if name == "" {
				name = "lambda"
			}
			return o.rec.BeginSegment(ctx, name, xray.WithTraceHeader(in))
		}
	}
	return o.rec.BeginFacadeSegment(ctx, h)
}

// lookup returns a get function over headers, exact names first, then
// without regard to case.
func lookup(headers map[string]string) func(string) string {
	return func(name string) string {
		if v, ok := headers[name]; ok {
			return v
		}
		for k, v := range headers {
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
}

// IsSampled reports whether a message from SQS belongs to a sampled trace,
// from the AWSTraceHeader system attribute (the Attributes map of
// aws-lambda-go's events.SQSMessage or of the SDK's types.Message).
func IsSampled(attributes map[string]string) bool {
	v, ok := attributes["AWSTraceHeader"]
	return ok && header.FromString(v).SamplingDecision == header.Sampled
}
