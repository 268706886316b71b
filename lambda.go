package xray

import (
	"context"
	"os"

	"github.com/openxray/xray/header"
)

// In AWS Lambda, the service records each invocation's segment itself and
// passes its trace header to the function: aws-lambda-go puts it in the
// handler's context under the string key "x-amzn-trace-id" and in the
// environment variable _X_AMZN_TRACE_ID. A function's subsegments belong to
// that segment, through a facade (see BeginFacadeSegment).

const (
	// LambdaTraceHeaderKey is the context key under which aws-lambda-go
	// passes the invocation's trace header to a handler.
	LambdaTraceHeaderKey = "x-amzn-trace-id"
	// LambdaTraceHeaderEnv is the environment variable that holds the
	// current invocation's trace header in a Lambda function.
	LambdaTraceHeaderEnv = "_X_AMZN_TRACE_ID"
)

// inLambda reports whether the program runs in AWS Lambda.
func inLambda() bool { return os.Getenv("LAMBDA_TASK_ROOT") != "" }

// LambdaTraceHeader returns the trace header of the Lambda invocation whose
// context is ctx: the one aws-lambda-go put in ctx, else the one in
// _X_AMZN_TRACE_ID. It returns nil when there is neither.
func LambdaTraceHeader(ctx context.Context) *header.Header {
	if ctx != nil {
		if v, ok := ctx.Value(LambdaTraceHeaderKey).(string); ok && v != "" {
			return header.FromString(v)
		}
	}
	if v := os.Getenv(LambdaTraceHeaderEnv); v != "" {
		return header.FromString(v)
	}
	return nil
}

// lambdaFacade returns a context carrying the facade of the Lambda
// invocation of ctx, when the program runs in AWS Lambda
// (LAMBDA_TASK_ROOT is set) and the invocation has a trace header.
func (r *Recorder) lambdaFacade(ctx context.Context) (context.Context, *Segment) {
	if !inLambda() {
		return ctx, nil
	}
	c, s := r.BeginFacadeSegment(ctx, LambdaTraceHeader(ctx))
	if s == nil {
		return ctx, nil
	}
	return c, s
}

// ParentSegment returns the entity that work traced under ctx belongs to:
// the segment or subsegment in ctx, or, in an AWS Lambda function and
// without one, a facade for the current invocation recorded by the default
// recorder. It returns nil when there is neither. Integrations use it to
// find the parent of the subsegments they begin.
func ParentSegment(ctx context.Context) *Segment {
	return Default().ParentSegment(ctx)
}

// ParentSegment is the package-level ParentSegment; a Lambda facade it makes
// is recorded by r.
func (r *Recorder) ParentSegment(ctx context.Context) *Segment {
	if s := GetSegment(ctx); s != nil {
		return s
	}
	_, s := r.lambdaFacade(ctx)
	return s
}
