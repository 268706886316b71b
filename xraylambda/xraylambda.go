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
package xraylambda

import (
	"context"
	"os"

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

type options struct{ rec *xray.Recorder }

// WithRecorder uses r instead of the default recorder.
func WithRecorder(r *xray.Recorder) Option { return func(o *options) { o.rec = r } }

// Begin returns ctx with the invocation's facade segment (see
// xray.Recorder.BeginFacadeSegment). Without a trace header it returns
// ctx and nil: the calls made in it are then untraced.
func Begin(ctx context.Context, opts ...Option) (context.Context, *xray.Segment) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.rec == nil {
		o.rec = xray.Default()
	}
	return o.rec.BeginFacadeSegment(ctx, TraceHeader(ctx))
}

// IsSampled reports whether a message from SQS belongs to a sampled trace,
// from the AWSTraceHeader system attribute (the Attributes map of
// aws-lambda-go's events.SQSMessage or of the SDK's types.Message).
func IsSampled(attributes map[string]string) bool {
	v, ok := attributes["AWSTraceHeader"]
	return ok && header.FromString(v).SamplingDecision == header.Sampled
}
