// Package xrayaws traces calls made with the AWS SDK for Go v2: every
// operation becomes an X-Ray subsegment named after the service
// ("DynamoDB", "S3", "SQS"...) in namespace "aws", with the operation,
// region, request IDs, retries, HTTP status and, per service, the
// parameters X-Ray shows in its console: DynamoDB table names, consumed
// capacity, counts and batch sizes; S3 bucket and key; SQS queue and
// message counts; SNS topic; Lambda function.
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	xrayaws.Instrument(&cfg)
//	db := dynamodb.NewFromConfig(cfg) // every client built from cfg is traced
//
// Item values, message bodies, PartiQL statements and object contents are
// never recorded. Every attempt carries the X-Amzn-Trace-Id header, so
// services that continue traces (SQS, Lambda, API Gateway) join the trace.
// A call made without a segment in its context is not traced.
package xrayaws

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/openxray/xray"
	"github.com/openxray/xray/header"
)

// Option configures the instrumentation.
type Option interface {
	apply(*config)
}

type config struct {
	write        header.Format // trace header formats sent; zero means both
	noParameters bool
	rec          *xray.Recorder
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithoutParameters records only the operation, region, request IDs,
// retries and HTTP status: no table, bucket, queue or function names, no
// counts.
func WithoutParameters() Option {
	return optionFunc(func(c *config) { c.noParameters = true })
}

// WithRecorder makes rec (instead of the default recorder) the one told
// about calls made outside any segment, and the one that records the facades
// of Lambda invocations; nil means the default recorder.
func WithRecorder(rec *xray.Recorder) Option { return optionFunc(func(c *config) { c.rec = rec }) }

// WithWriteFormats sets the trace header formats sent with each request:
// header.AmznTraceID (which AWS services read to continue the trace),
// header.TraceContext (W3C traceparent and tracestate), or both, the
// default.
func WithWriteFormats(f header.Format) Option {
	return optionFunc(func(c *config) { c.write = f })
}

func (c *config) recorder() *xray.Recorder {
	if c.rec != nil {
		return c.rec
	}
	return xray.Default()
}

// The middlewares' IDs in the SDK's stack.
const (
	initializeID = "OpenXRayInitialize"
	finalizeID   = "OpenXRayTraceHeader"
)

// Instrument traces every client built from cfg afterwards.
func Instrument(cfg *aws.Config, opts ...Option) {
	AppendMiddlewares(&cfg.APIOptions, opts...)
}

// AppendMiddlewares adds the tracing middlewares to a list of API options:
// aws.Config.APIOptions for every client built from the config, or a
// client's Options.APIOptions for one client. Adding them twice traces
// each call once.
func AppendMiddlewares(apiOptions *[]func(*middleware.Stack) error, opts ...Option) {
	t := &tracer{}
	for _, o := range opts {
		o.apply(&t.cfg)
	}
	// Built once: the SDK builds a stack for every call.
	t.init = middleware.InitializeMiddlewareFunc(initializeID, t.initialize)
	t.final = middleware.FinalizeMiddlewareFunc(finalizeID, t.traceHeader)
	*apiOptions = append(*apiOptions, t.register)
}

type tracer struct {
	cfg     config
	init    middleware.InitializeMiddleware
	final   middleware.FinalizeMiddleware
	missing atomic.Bool // context missing reported once
}

func (t *tracer) register(stack *middleware.Stack) error {
	if _, ok := stack.Initialize.Get(initializeID); ok {
		return nil
	}
	// After the SDK's own initialize steps, which put the service and
	// operation names in the context and validate the input.
	if err := stack.Initialize.Add(t.init, middleware.After); err != nil {
		return err
	}
	// After the retry loop: once per attempt.
	return stack.Finalize.Add(t.final, middleware.After)
}

// initialize wraps the whole operation, attempts included, in a
// subsegment.
func (t *tracer) initialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
	out middleware.InitializeOutput, md middleware.Metadata, err error,
) {
	rec := t.cfg.recorder()
	parent := rec.ParentSegment(ctx)
	if parent == nil {
		if !t.missing.Load() && t.missing.CompareAndSwap(false, true) {
			// Once per instrumentation: the recorder's context-missing
			// strategy reports it, then the cost is a context lookup.
			rec.ContextMissing("AWS call " + awsmiddleware.GetServiceID(ctx))
		}
		return next.HandleInitialize(ctx, in)
	}
	service := awsmiddleware.GetServiceID(ctx)
	sctx, seg := parent.BeginSubsegment(ctx, service)
	if seg == nil { // not sampled: the header still says so downstream
		return next.HandleInitialize(ctx, in)
	}
	op := awsmiddleware.GetOperationName(ctx)
	seg.SetNamespace("aws")
	setAWS(seg, "operation", op)
	if region := awsmiddleware.GetRegion(ctx); region != "" {
		setAWS(seg, "region", region)
	}
	if !t.cfg.noParameters {
		recordParameters(seg, service, op, in.Parameters, false)
	}

	out, md, err = next.HandleInitialize(sctx, in)

	if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok && id != "" {
		setAWS(seg, "request_id", id)
	}
	if results, ok := retry.GetAttemptResults(md); ok && len(results.Results) > 0 {
		setAWS(seg, "retries", len(results.Results)-1)
	}
	status := 0
	if resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok && resp != nil && resp.Response != nil && resp.StatusCode > 0 {
		status = resp.StatusCode
		if id2 := resp.Header.Get("X-Amz-Id-2"); id2 != "" {
			setAWS(seg, "id_2", id2)
		}
		length := resp.ContentLength
		if length < 0 {
			length = 0
		}
		seg.SetHTTPResponse(status, length)
	}
	if err != nil {
		recordError(seg, err, status)
	} else if !t.cfg.noParameters {
		recordParameters(seg, service, op, out.Result, true)
	}
	seg.Close(nil)
	return out, md, err
}

// traceHeader sets X-Amzn-Trace-Id and traceparent (as configured) on each
// attempt's request: the subsegment as parent when sampled, Sampled=0 when
// not.
func (t *tracer) traceHeader(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	if seg := xray.GetSegment(ctx); seg != nil {
		if req, ok := in.Request.(*smithyhttp.Request); ok {
			formats := t.cfg.write
			if formats == 0 {
				formats = header.AllFormats
			}
			var buf [128]byte
			if formats&header.AmznTraceID != 0 {
				req.Header.Set(header.Name, string(seg.AppendDownstreamHeader(buf[:0])))
			}
			if formats&header.TraceContext != 0 {
				req.Header.Set(header.TraceParentHTTP, string(seg.AppendTraceParent(buf[:0])))
				if ts := seg.TraceState(); ts != "" {
					req.Header.Set(header.TraceStateHTTP, ts)
				}
			}
		}
	}
	return next.HandleFinalize(ctx, in)
}

// recordParameters records v's fields (an operation's input or output)
// that the service's table lists. A panic while reading them (a value the
// table did not foresee) costs the fields, never the call.
func recordParameters(seg *xray.Segment, service, op string, v any, response bool) {
	if v == nil {
		return
	}
	defer func() { _ = recover() }()
	planFor(service, op, reflect.TypeOf(v), response).record(v, seg)
}

func setAWS(seg *xray.Segment, key string, value any) {
	// The values are strings, numbers, bools and maps or slices of them:
	// they always marshal.
	_ = seg.SetAWS(key, value)
}

// recordError sets the flags for err and records it as the cause. An
// error answered by the service is recorded with its error code as the
// exception's type and marked remote; throttling sets throttle, other 4xx
// error, 5xx and errors without a response fault.
func recordError(seg *xray.Segment, err error, status int) {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		seg.AddCause(&serviceError{code: api.ErrorCode(), message: api.ErrorMessage()}, true)
	} else {
		seg.AddCause(err, false)
	}
	switch {
	case status == http.StatusTooManyRequests || api != nil && isThrottle(api.ErrorCode()):
		seg.AddThrottleFlag()
	case status >= 400 && status < 500:
		seg.AddErrorFlag()
	case status >= 500 || status == 0:
		seg.AddFaultFlag()
	default:
		seg.AddErrorFlag()
	}
}

func isThrottle(code string) bool {
	_, ok := retry.DefaultThrottleErrorCodes[code]
	return ok
}

// serviceError is an error answered by an AWS service, as recorded in a
// cause: its code as the type, its message, without the SDK's wrapping
// (which repeats the request ID and operation).
type serviceError struct{ code, message string }

func (e *serviceError) Error() string     { return e.message }
func (e *serviceError) ErrorType() string { return e.code }
