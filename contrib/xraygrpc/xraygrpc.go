// Package xraygrpc traces gRPC calls. The server interceptors begin a
// segment per call, continuing the caller's trace from the
// x-amzn-trace-id metadata or, without it, W3C traceparent and tracestate
// (what OpenTelemetry's otelgrpc sends); the client interceptors record a
// subsegment per call in namespace "remote" and send both. Both record the
// call as an http block with url grpc://<authority>/<service>/<method>,
// and map the status code: ResourceExhausted sets throttle, client-side
// codes (InvalidArgument, NotFound, PermissionDenied, Canceled...) set
// error, server-side codes (Internal, Unavailable, DeadlineExceeded,
// Unimplemented...) set fault.
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(xraygrpc.UnaryServerInterceptor()),
//		grpc.ChainStreamInterceptor(xraygrpc.StreamServerInterceptor()))
//	conn, err := grpc.NewClient(target,
//		grpc.WithChainUnaryInterceptor(xraygrpc.UnaryClientInterceptor()),
//		grpc.WithChainStreamInterceptor(xraygrpc.StreamClientInterceptor()))
package xraygrpc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/openxray/xray"
	"github.com/openxray/xray/header"
	"github.com/openxray/xray/sampling"
)

// MetadataKey is the gRPC metadata key that carries the trace header.
const MetadataKey = "x-amzn-trace-id"

// Option configures an interceptor.
type Option func(*config)

type config struct {
	rec   *xray.Recorder
	name  string
	keys  []string        // incoming metadata given to sampling as attributes
	read  []header.Format // trace context formats read, in order
	write header.Format   // formats written; zero means both
}

// WithReadFormats sets the trace context formats a server reads, in
// order; the first present and valid wins. The default reads
// x-amzn-trace-id, then traceparent.
func WithReadFormats(order ...header.Format) Option {
	return func(c *config) { c.read = order }
}

// WithWriteFormats sets the trace context formats a client sends:
// header.AmznTraceID, header.TraceContext, or both, the default.
func WithWriteFormats(f header.Format) Option {
	return func(c *config) { c.write = f }
}

// WithSamplingMetadata gives the values of the named incoming metadata keys
// to the sampling strategy as request attributes (keyed by the names as
// given, lower-cased as gRPC metadata is), so that centralized sampling
// rules with attributes apply to the server's calls.
func WithSamplingMetadata(keys ...string) Option {
	return func(c *config) {
		for _, k := range keys {
			c.keys = append(c.keys, strings.ToLower(k))
		}
	}
}

// WithRecorder records with r instead of the default recorder.
func WithRecorder(r *xray.Recorder) Option { return func(c *config) { c.rec = r } }

// WithSegmentName names the server's segments (by default the called
// service's full name, such as grpc.health.v1.Health).
func WithSegmentName(name string) Option { return func(c *config) { c.name = name } }

func newConfig(opts []Option) *config {
	c := &config{}
	for _, o := range opts {
		o(c)
	}
	return c
}

func (c *config) recorder() *xray.Recorder {
	if c.rec != nil {
		return c.rec
	}
	return xray.Default()
}

// UnaryServerInterceptor begins a segment for each unary call.
func UnaryServerInterceptor(opts ...Option) grpc.UnaryServerInterceptor {
	c := newConfig(opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		ctx, seg := c.beginServer(ctx, info.FullMethod)
		defer func() { finish(seg, err) }()
		defer seg.CloseOnPanic()
		return handler(ctx, req)
	}
}

// StreamServerInterceptor begins a segment for each streaming call; it
// ends when the handler returns.
func StreamServerInterceptor(opts ...Option) grpc.StreamServerInterceptor {
	c := newConfig(opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		ctx, seg := c.beginServer(ss.Context(), info.FullMethod)
		defer func() { finish(seg, err) }()
		defer seg.CloseOnPanic()
		return handler(srv, &serverStream{ServerStream: ss, ctx: ctx})
	}
}

type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

func (c *config) beginServer(ctx context.Context, method string) (context.Context, *xray.Segment) {
	md, _ := metadata.FromIncomingContext(ctx)
	h := header.Extract(func(k string) string {
		if k == header.Name {
			k = MetadataKey // lower case: md.Get lowers what is not
		}
		return first(md.Get(k))
	}, c.read...)
	authority := first(md.Get(":authority"))
	name := c.name
	if name == "" {
		name = serviceName(method)
	}
	sr := sampling.Request{Host: authority, Method: http.MethodPost, URL: method}
	for _, k := range c.keys {
		if v := md.Get(k); len(v) > 0 {
			if sr.Attributes == nil {
				sr.Attributes = make(map[string]string, len(c.keys))
			}
			sr.Attributes[k] = v[0]
		}
	}
	ctx, seg := c.recorder().BeginSegment(ctx, name, xray.WithTraceHeader(h), xray.WithSamplingRequest(sr))
	if seg.Sampled() {
		req := xray.HTTPRequest{Method: http.MethodPost, URL: "grpc://" + authority + method, UserAgent: first(md.Get("user-agent"))}
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			req.ClientIP = hostOnly(p.Addr.String())
		}
		seg.SetHTTPRequest(req)
	}
	return ctx, seg
}

// UnaryClientInterceptor records a subsegment for each unary call made
// inside a segment, and sends the trace header with it.
func UnaryClientInterceptor(opts ...Option) grpc.UnaryClientInterceptor {
	cfg := newConfig(opts)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		ctx, sub := beginClient(ctx, cfg, cc, method)
		err := invoker(ctx, method, req, reply, cc, callOpts...)
		finish(sub, err)
		return err
	}
}

// StreamClientInterceptor records a subsegment for each streaming call
// made inside a segment. It ends when the stream does: when receiving
// returns an error or io.EOF, or when the call's context is done.
func StreamClientInterceptor(opts ...Option) grpc.StreamClientInterceptor {
	cfg := newConfig(opts)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		ctx, sub := beginClient(ctx, cfg, cc, method)
		cs, err := streamer(ctx, desc, cc, method, callOpts...)
		if err != nil || sub == nil {
			finish(sub, err)
			return cs, err
		}
		s := &clientStream{ClientStream: cs, sub: sub}
		s.stop = context.AfterFunc(ctx, func() { s.end(ctx.Err()) })
		return s, nil
	}
}

type clientStream struct {
	grpc.ClientStream
	sub  *xray.Segment
	once sync.Once
	stop func() bool
}

func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		if errors.Is(err, io.EOF) {
			s.end(nil)
		} else {
			s.end(err)
		}
	}
	return err
}

func (s *clientStream) end(err error) {
	s.once.Do(func() {
		s.stop()
		finish(s.sub, err)
	})
}

func beginClient(ctx context.Context, cfg *config, cc *grpc.ClientConn, method string) (context.Context, *xray.Segment) {
	parent := cfg.recorder().ParentSegment(ctx)
	if parent == nil {
		return ctx, nil
	}
	authority := authorityOf(cc)
	sctx, sub := parent.BeginSubsegment(ctx, hostOnly(authority))
	if sub == nil { // unsampled: the decision still goes downstream
		return outgoing(ctx, parent, cfg.write), nil
	}
	sub.SetNamespace("remote")
	sub.SetHTTPRequest(xray.HTTPRequest{Method: http.MethodPost, URL: "grpc://" + authority + method, Traced: true})
	return outgoing(sctx, sub, cfg.write), sub
}

// outgoing adds the trace context of a call made in seg to ctx's outgoing
// metadata, in the formats asked for.
func outgoing(ctx context.Context, seg *xray.Segment, formats header.Format) context.Context {
	if formats == 0 {
		formats = header.AllFormats
	}
	kv := make([]string, 0, 6)
	var buf [128]byte
	if formats&header.AmznTraceID != 0 {
		kv = append(kv, MetadataKey, string(seg.AppendDownstreamHeader(buf[:0])))
	}
	if formats&header.TraceContext != 0 {
		kv = append(kv, header.TraceParentName, string(seg.AppendTraceParent(buf[:0])))
		if ts := seg.TraceState(); ts != "" {
			kv = append(kv, header.TraceStateName, ts)
		}
	}
	return metadata.AppendToOutgoingContext(ctx, kv...)
}

// finish records the call's status and closes seg.
func finish(seg *xray.Segment, err error) {
	if !seg.Sampled() {
		return
	}
	code := status.Code(err)
	if errors.Is(err, context.Canceled) {
		code = codes.Canceled
	} else if errors.Is(err, context.DeadlineExceeded) {
		code = codes.DeadlineExceeded
	}
	seg.SetHTTPResponse(httpStatus(code), 0)
	seg.AddMetadataString("grpc", "status_code", code.String())
	switch {
	case code == codes.OK:
	case code == codes.ResourceExhausted:
		seg.AddThrottleFlag()
	case serverSide(code):
		seg.AddFaultFlag()
	default:
		seg.AddErrorFlag()
	}
	if err != nil {
		seg.AddCause(err, true)
	}
	seg.Close(nil)
}

func serverSide(c codes.Code) bool {
	switch c {
	case codes.Unknown, codes.DeadlineExceeded, codes.Unimplemented, codes.Internal, codes.Unavailable, codes.DataLoss:
		return true
	}
	return false
}

// httpStatus maps a gRPC code to the HTTP status with the same meaning.
func httpStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499 // client closed request
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// serviceName is the service part of /package.Service/Method.
func serviceName(method string) string {
	method = strings.TrimPrefix(method, "/")
	if i := strings.LastIndexByte(method, '/'); i > 0 {
		return method[:i]
	}
	return method
}

// authorityOf is the host:port a connection calls, without the
// resolver's scheme (dns:///, passthrough:///).
func authorityOf(cc *grpc.ClientConn) string {
	t := cc.Target()
	if i := strings.Index(t, ":///"); i >= 0 {
		t = t[i+4:]
	}
	return t
}

func hostOnly(hostport string) string {
	if i := strings.LastIndexByte(hostport, ':'); i > 0 && !strings.HasSuffix(hostport, "]") {
		return strings.Trim(hostport[:i], "[]")
	}
	return hostport
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
