package xray

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"net/http"

	"github.com/openxray/xray"
	"github.com/openxray/xray/compat/header"
	"github.com/openxray/xray/compat/internal/config"
	"github.com/openxray/xray/contrib/xraygrpc"
	"github.com/openxray/xray/xrayhttp"
	"github.com/openxray/xray/xraysql"
	"google.golang.org/grpc"
)

// The segment namers of package xrayhttp.
type (
	// SegmentNamer names the segment of a request from its host.
	SegmentNamer = xrayhttp.SegmentNamer
	// FixedSegmentNamer names every segment the same.
	FixedSegmentNamer = xrayhttp.FixedSegmentNamer
	// DynamicSegmentNamer names segments by recognized hosts.
	DynamicSegmentNamer = xrayhttp.DynamicSegmentNamer
)

// NewFixedSegmentNamer returns a namer that always answers name.
func NewFixedSegmentNamer(name string) *FixedSegmentNamer {
	return xrayhttp.NewFixedSegmentNamer(name)
}

// NewDynamicSegmentNamer returns a namer that answers the request's host
// when it matches recognized (with * and ? wildcards), fallback otherwise.
func NewDynamicSegmentNamer(fallback string, recognized string) *DynamicSegmentNamer {
	return xrayhttp.NewDynamicSegmentNamer(fallback, recognized)
}

// Handler returns h with each request recorded as a segment named by sn.
func Handler(sn SegmentNamer, h http.Handler) http.Handler {
	config.Ensure()
	return xrayhttp.Handler(sn, h)
}

// HandlerWithContext is Handler with the recorder of ctx's configuration
// (ContextWithConfig).
func HandlerWithContext(ctx context.Context, sn SegmentNamer, h http.Handler) http.Handler {
	return xrayhttp.Handler(sn, h, xrayhttp.WithRecorder(recorderOf(ctx)))
}

// Client returns a copy of c whose requests are subsegments.
func Client(c *http.Client) *http.Client {
	config.Ensure()
	return xrayhttp.Client(c)
}

// RoundTripper returns rt with each request a subsegment.
func RoundTripper(rt http.RoundTripper) http.RoundTripper {
	config.Ensure()
	return xrayhttp.RoundTripper(rt)
}

// HttpCaptureResponse records the response status on seg and sets its
// flags: 4xx error (429 throttle too), 5xx fault.
func HttpCaptureResponse(seg *Segment, statusCode int) {
	xrayhttp.SetResponse(seg.Core(), statusCode, 0)
}

// HttpTrace serves r with h inside seg, a segment begun for r (with
// traceHeader, its incoming header), records the request and the
// response, and closes seg.
func HttpTrace(seg *Segment, h http.Handler, w http.ResponseWriter, r *http.Request, traceHeader *header.Header) {
	s := seg.Core()
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	s.SetHTTPRequest(xray.HTTPRequest{Method: r.Method, URL: scheme + r.Host + r.URL.Path, UserAgent: r.UserAgent()})
	resp := traceHeader
	if resp == nil {
		resp = &header.Header{}
	}
	out := header.Header{TraceID: seg.TraceID}
	if resp.SamplingDecision == header.Requested {
		out.SamplingDecision = header.NotSampled
		if seg.Sampled {
			out.SamplingDecision = header.Sampled
		}
	}
	w.Header().Set("X-Amzn-Trace-Id", out.String())
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			s.RecordPanic(p)
			HttpCaptureResponse(seg, http.StatusInternalServerError)
			s.Close(nil)
			panic(p)
		}
	}()
	h.ServeHTTP(rw, r.WithContext(xray.ContextWithSegment(r.Context(), s)))
	HttpCaptureResponse(seg, rw.status)
	s.Close(nil)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// SQLContext opens a database like sql.Open, each call a subsegment with an
// sql block (the statement sanitized).
func SQLContext(driver, dsn string) (*sql.DB, error) {
	config.Ensure()
	return xraysql.Open(driver, dsn)
}

// SQLConnector returns connector with each call traced; dsn describes the
// database for the sql block (its password is never recorded).
func SQLConnector(dsn string, connector driver.Connector) driver.Connector {
	config.Ensure()
	return xraysql.Wrap(connector, xraysql.WithDSN(dsn))
}

// GrpcOption configures the gRPC interceptors.
type GrpcOption interface {
	apply(*grpcConfig)
}

type grpcConfig struct {
	cfg   *Config
	namer SegmentNamer
}

type grpcOptionFunc func(*grpcConfig)

func (f grpcOptionFunc) apply(c *grpcConfig) { f(c) }

// WithRecorder records with the recorder of cfg, a configuration returned
// by GetRecorder; nil (or any other Config) means the default recorder.
func WithRecorder(cfg *Config) GrpcOption {
	return grpcOptionFunc(func(c *grpcConfig) { c.cfg = cfg })
}

// WithSegmentNamer names the server's segments: a FixedSegmentNamer's name,
// or a DynamicSegmentNamer's fallback (gRPC requests have no host to match).
func WithSegmentNamer(sn SegmentNamer) GrpcOption {
	return grpcOptionFunc(func(c *grpcConfig) { c.namer = sn })
}

func grpcOptions(opts []GrpcOption) []xraygrpc.Option {
	config.Ensure()
	var c grpcConfig
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	var out []xraygrpc.Option
	if c.cfg != nil && c.cfg.rec != nil {
		out = append(out, xraygrpc.WithRecorder(c.cfg.rec))
	}
	switch n := c.namer.(type) {
	case *FixedSegmentNamer:
		out = append(out, xraygrpc.WithSegmentName(n.FixedName))
	case *DynamicSegmentNamer:
		out = append(out, xraygrpc.WithSegmentName(n.FallbackName))
	}
	return out
}

// UnaryServerInterceptor records each unary call served as a segment.
func UnaryServerInterceptor(serverInterceptorOptions ...GrpcOption) grpc.UnaryServerInterceptor {
	return xraygrpc.UnaryServerInterceptor(grpcOptions(serverInterceptorOptions)...)
}

// UnaryClientInterceptor records each unary call made as a subsegment.
func UnaryClientInterceptor(clientInterceptorOptions ...GrpcOption) grpc.UnaryClientInterceptor {
	return xraygrpc.UnaryClientInterceptor(grpcOptions(clientInterceptorOptions)...)
}
