// Package xrayhttp traces HTTP servers and clients and carries the trace
// from one to the other in the X-Amzn-Trace-Id header and in W3C
// traceparent and tracestate, so that it joins traces with services
// instrumented with OpenTelemetry.
//
// Handler wraps an http.Handler: each request becomes a segment that
// continues the caller's trace (or starts one, sampled by the recorder's
// rules on host, method and path), records the request and the response,
// and answers with the trace header. Client and RoundTripper make each
// outgoing request a subsegment and send the headers on.
//
// The package works with any router that takes an http.Handler (net/http's
// ServeMux, chi, gorilla/mux). Package xray re-exports Handler, Client,
// RoundTripper and the segment namers under the names aws-xray-sdk-go
// uses.
package xrayhttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/openxray/xray"
	"github.com/openxray/xray/header"
	"github.com/openxray/xray/sampling"
)

// SegmentNamer names the segment of a request from its host.
type SegmentNamer interface {
	Name(host string) string
}

// FixedSegmentNamer names every segment the same.
type FixedSegmentNamer struct {
	FixedName string
}

// NewFixedSegmentNamer returns a namer that always answers name.
func NewFixedSegmentNamer(name string) *FixedSegmentNamer {
	return &FixedSegmentNamer{FixedName: name}
}

// Name returns the fixed name.
func (n *FixedSegmentNamer) Name(string) string { return n.FixedName }

// HostSegmentNamer names every segment after the request's host.
type HostSegmentNamer struct{}

// Name returns host.
func (HostSegmentNamer) Name(host string) string { return host }

// DynamicSegmentNamer names a segment by the request's host when the host
// matches RecognizedHosts, and FallbackName otherwise.
type DynamicSegmentNamer struct {
	FallbackName string
	// RecognizedHosts is a pattern, or patterns separated by commas, with
	// * and ? wildcards, such as "*.example.com".
	RecognizedHosts string
}

// NewDynamicSegmentNamer returns a namer that uses the host when it
// matches recognizedHosts and fallback otherwise.
func NewDynamicSegmentNamer(fallback, recognizedHosts string) *DynamicSegmentNamer {
	return &DynamicSegmentNamer{FallbackName: fallback, RecognizedHosts: recognizedHosts}
}

// Name returns host when it is recognized, else the fallback name.
func (n *DynamicSegmentNamer) Name(host string) string {
	for _, p := range strings.Split(n.RecognizedHosts, ",") {
		if p = strings.TrimSpace(p); p != "" && sampling.WildcardMatch(p, host) {
			return host
		}
	}
	return n.FallbackName
}

// Option configures Handler.
type Option interface {
	apply(*handlerConfig)
}

type handlerConfig struct {
	read    []header.Format // the trace header formats read, in order
	route   func(*http.Request) string
	headers []string // request headers given to sampling as attributes
	rec     *xray.Recorder
}

// SharedOption is an option of both Handler (and StartRequest) and Client
// (and RoundTripper).
type SharedOption interface {
	Option
	ClientOption
}

type recorderOption struct{ rec *xray.Recorder }

func (o recorderOption) apply(c *handlerConfig)      { c.rec = o.rec }
func (o recorderOption) applyClient(c *clientConfig) { c.rec = o.rec }

// WithRecorder records with rec instead of the default recorder (nil means
// the default): the segments of a Handler, and the context-missing reports
// and Lambda facades of a Client.
func WithRecorder(rec *xray.Recorder) SharedOption { return recorderOption{rec} }

// recorder returns the recorder to use now.
func recorder(rec *xray.Recorder) *xray.Recorder {
	if rec != nil {
		return rec
	}
	return xray.Default()
}

// WithSamplingHeaders gives the values of the named request headers to the
// sampling strategy as request attributes (sampling.Request.Attributes,
// keyed by the names as given), so that centralized sampling rules with
// attributes apply: a rule with Attributes {"X-Tenant": "gold"} then
// samples the requests that carry that header.
func WithSamplingHeaders(names ...string) Option {
	return optionFunc(func(c *handlerConfig) { c.headers = append(c.headers, names...) })
}

// WithReadFormats sets the trace header formats an incoming request's
// trace context is read from, in order; the first present and valid wins.
// The default reads X-Amzn-Trace-Id, then W3C traceparent (with
// tracestate), so a request from an OpenTelemetry-instrumented service
// continues its trace.
func WithReadFormats(order ...header.Format) Option {
	return optionFunc(func(c *handlerConfig) { c.read = order })
}

type optionFunc func(*handlerConfig)

func (f optionFunc) apply(c *handlerConfig) { f(c) }

// WithRouteName renames each segment, once the handler has run, with
// name(r) when it is not empty: r.Pattern for net/http's ServeMux (the
// default when name is nil), chi.RouteContext(r.Context()).RoutePattern()
// for chi, mux.CurrentRoute(r).GetPathTemplate() for gorilla/mux. Names from
// routes stay few, where names from hosts or paths could be many.
func WithRouteName(name func(r *http.Request) string) Option {
	if name == nil {
		name = func(r *http.Request) string { return r.Pattern }
	}
	return optionFunc(func(c *handlerConfig) { c.route = name })
}

// Handler returns h wrapped so that each request is a segment named by
// namer. See the package documentation.
func Handler(namer SegmentNamer, h http.Handler, opts ...Option) http.Handler {
	var cfg handlerConfig
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if namer == nil {
		namer = NewFixedSegmentNamer("")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serve(&cfg, namer, h, w, r)
	})
}

func serve(cfg *handlerConfig, namer SegmentNamer, h http.Handler, w http.ResponseWriter, r *http.Request) {
	r, q := startRequest(cfg, w, r, namer)
	if !q.Sampled() {
		h.ServeHTTP(w, r)
		return
	}
	ww, rw := wrap(w)
	defer func() {
		if p := recover(); p != nil {
			if cfg.route != nil {
				q.SetName(cfg.route(r))
			}
			q.Panic(p, rw.written)
			panic(p)
		}
	}()
	h.ServeHTTP(ww, r)

	if cfg.route != nil {
		q.SetName(cfg.route(r))
	}
	q.End(rw.status, rw.written)
}

// Request is an incoming request being traced, for middlewares of routers
// that see the response through their own writer (gin, echo): StartRequest
// begins it, End ends it with the status the framework wrote. Its methods
// do nothing on the zero or an unsampled Request.
type Request struct {
	seg *xray.Segment
}

// StartRequest begins the segment of an incoming request as Handler does:
// named by namer, continuing the caller's X-Amzn-Trace-Id, with the
// response header set on w and the segment in the returned request's
// context. End must follow. Of the options, WithSamplingHeaders and
// WithRecorder apply.
func StartRequest(w http.ResponseWriter, r *http.Request, namer SegmentNamer, opts ...Option) (*http.Request, Request) {
	var cfg handlerConfig
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	return startRequest(&cfg, w, r, namer)
}

func startRequest(cfg *handlerConfig, w http.ResponseWriter, r *http.Request, namer SegmentNamer) (*http.Request, Request) {
	if namer == nil {
		namer = NewFixedSegmentNamer("")
	}
	in := header.Extract(func(name string) string {
		switch name {
		case header.TraceParentName:
			name = header.TraceParentHTTP
		case header.TraceStateName:
			name = header.TraceStateHTTP
		}
		return r.Header.Get(name)
	}, cfg.read...)
	host := hostOnly(r.Host)
	sr := sampling.Request{Host: host, Method: r.Method, URL: r.URL.Path}
	for _, name := range cfg.headers {
		if v := r.Header.Get(name); v != "" {
			if sr.Attributes == nil {
				sr.Attributes = make(map[string]string, len(cfg.headers))
			}
			sr.Attributes[name] = v
		}
	}
	ctx, seg := recorder(cfg.rec).BeginSegment(r.Context(), namer.Name(host), xray.WithTraceHeader(in), xray.WithSamplingRequest(sr))
	if seg == nil { // the SDK is disabled
		return r, Request{}
	}
	w.Header().Set(header.Name, responseHeader(seg, in))
	r = r.WithContext(ctx)
	if !seg.Sampled() {
		return r, Request{}
	}
	req := xray.HTTPRequest{Method: r.Method, URL: requestURL(r), UserAgent: r.UserAgent()}
	req.ClientIP, req.XForwardedFor = clientIP(r)
	seg.SetHTTPRequest(req)
	return r, Request{seg: seg}
}

// Sampled reports whether the request is recorded.
func (q Request) Sampled() bool { return q.seg != nil && q.seg.Sampled() }

// SetName renames the segment, typically with the matched route's pattern;
// an empty name keeps the one it has.
func (q Request) SetName(name string) {
	if q.Sampled() && name != "" {
		q.seg.SetName(name)
	}
}

// AddError records err, which the application's handler returned or the
// framework collected, as the cause; the status given to End sets the
// flags.
func (q Request) AddError(err error) {
	if q.Sampled() && err != nil {
		q.seg.AddCause(err, false)
	}
}

// End records the response (status 0 means 200) and sends the segment:
// 4xx set error (429 also throttle), 5xx fault.
func (q Request) End(status int, size int64) {
	if !q.Sampled() {
		return
	}
	if status == 0 {
		status = http.StatusOK
	}
	SetResponse(q.seg, status, size)
	q.seg.Close(nil)
}

// Panic records a panic of the handler (but http.ErrAbortHandler) as a
// fault with status 500 and sends the segment; the caller re-panics or
// recovers as its framework does.
func (q Request) Panic(p any, size int64) {
	if !q.Sampled() {
		return
	}
	if p != http.ErrAbortHandler {
		q.seg.RecordPanic(p)
	}
	q.seg.SetHTTPResponse(http.StatusInternalServerError, size)
	q.seg.AddFaultFlag()
	q.seg.Close(nil)
}

// SetResponse records a response on seg, an incoming request's segment or
// an outgoing call's subsegment: the http block's response (size may be 0
// for unknown) and the flags of its status class, as Handler and Client
// record them: 4xx error, 429 also throttle, 5xx fault.
func SetResponse(seg *xray.Segment, status int, size int64) {
	seg.SetHTTPResponse(status, size)
	markStatus(seg, status)
}

// markStatus sets the flags of a response status: 4xx error, 429 also
// throttle, 5xx fault.
func markStatus(s *xray.Segment, status int) {
	switch {
	case status == http.StatusTooManyRequests:
		s.AddThrottleFlag()
	case status >= 400 && status < 500:
		s.AddErrorFlag()
	case status >= 500:
		s.AddFaultFlag()
	}
}

// responseHeader is the X-Amzn-Trace-Id answered to the caller: the trace
// and, when the caller asked (Sampled=?), the decision.
func responseHeader(seg *xray.Segment, in *header.Header) string {
	var buf [64]byte
	b := append(buf[:0], "Root="...)
	b = seg.AppendTraceID(b)
	if in != nil && in.SamplingDecision == header.Requested {
		if seg.Sampled() {
			b = append(append(b, ';'), header.Sampled...)
		} else {
			b = append(append(b, ';'), header.NotSampled...)
		}
	}
	return string(b)
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// requestURL rebuilds the URL the client asked for, without its query
// string (which may carry personal data or tokens).
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	} else if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

// clientIP returns the first X-Forwarded-For hop, or the peer's address.
func clientIP(r *http.Request) (string, bool) {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		if first = strings.TrimSpace(first); first != "" {
			return first, true
		}
	}
	return hostOnly(r.RemoteAddr), false
}

// responseWriter records the status and the bytes written.
type responseWriter struct {
	http.ResponseWriter
	status   int
	written  int64
	hijacked bool
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

// Unwrap returns the original ResponseWriter, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type (
	flusher    struct{ w *responseWriter }
	hijacker   struct{ w *responseWriter }
	readerFrom struct{ w *responseWriter }
	pusher     struct{ w *responseWriter }
)

func (f flusher) Flush() {
	if f.w.status == 0 {
		f.w.status = http.StatusOK
	}
	f.w.ResponseWriter.(http.Flusher).Flush()
}

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := h.w.ResponseWriter.(http.Hijacker).Hijack()
	if err == nil {
		h.w.hijacked = true
		if h.w.status == 0 {
			h.w.status = http.StatusSwitchingProtocols
		}
	}
	return c, rw, err
}

func (r readerFrom) ReadFrom(src io.Reader) (int64, error) {
	if r.w.status == 0 {
		r.w.status = http.StatusOK
	}
	n, err := r.w.ResponseWriter.(io.ReaderFrom).ReadFrom(src)
	r.w.written += n
	return n, err
}

func (p pusher) Push(target string, opts *http.PushOptions) error {
	return p.w.ResponseWriter.(http.Pusher).Push(target, opts)
}
