package xrayhttp

import (
	"crypto/tls"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/header"
)

// ClientOption configures Client and RoundTripper.
type ClientOption interface {
	applyClient(*clientConfig)
}

type clientConfig struct {
	timings bool
	write   header.Format // zero means header.AllFormats
	rec     *xray.Recorder
}

// WithWriteFormats sets the trace header formats sent with each request:
// header.AmznTraceID, header.TraceContext (traceparent and tracestate), or
// both, the default.
func WithWriteFormats(f header.Format) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.write = f })
}

type clientOptionFunc func(*clientConfig)

func (f clientOptionFunc) applyClient(c *clientConfig) { f(c) }

// WithTimings records DNS lookup, connection, TLS handshake and time to
// first byte, in milliseconds, as metadata "http" of each request's
// subsegment (one subsegment, not one per phase). The user's own
// httptrace.ClientTrace in the request's context still runs.
func WithTimings() ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.timings = true })
}

// Client returns a copy of c (http.DefaultClient when nil) whose requests
// are traced.
func Client(c *http.Client, opts ...ClientOption) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	cp := *c
	cp.Transport = RoundTripper(c.Transport, opts...)
	return &cp
}

// RoundTripper returns rt (http.DefaultTransport when nil) with each
// request made a subsegment named by the host, in namespace "remote", and
// the trace header sent on. Without a segment in the request's context the
// request goes out untraced and without the header; in an unsampled
// segment it carries the header with Sampled=0, so the callee records
// nothing either.
func RoundTripper(rt http.RoundTripper, opts ...ClientOption) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	if t, ok := rt.(*transport); ok {
		return t
	}
	t := &transport{base: rt}
	for _, o := range opts {
		if o != nil {
			o.applyClient(&t.cfg)
		}
	}
	return t
}

type transport struct {
	base http.RoundTripper
	cfg  clientConfig
}

// RoundTrip sends req in a subsegment. The subsegment ends when the
// response headers arrive (or the request fails), so it is always closed,
// whether or not the caller reads the body.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	parent := recorder(t.cfg.rec).ParentSegment(ctx)
	if parent == nil {
		return t.base.RoundTrip(req)
	}
	sctx, span := parent.BeginSubsegment(ctx, req.URL.Hostname())
	if span == nil {
		// Unsampled: tell the callee, so it does not sample alone.
		r2 := req.Clone(ctx)
		setTraceHeaders(r2.Header, parent, t.cfg.write)
		return t.base.RoundTrip(r2)
	}
	span.SetNamespace("remote")
	var timing *timings
	if t.cfg.timings {
		timing = &timings{}
		sctx = httptrace.WithClientTrace(sctx, timing.trace())
	}
	// The RoundTripper contract: never change the caller's request.
	r2 := req.Clone(sctx)
	setTraceHeaders(r2.Header, span, t.cfg.write)
	span.SetHTTPRequest(xray.HTTPRequest{Method: req.Method, URL: safeURL(req.URL), Traced: true})

	resp, err := t.base.RoundTrip(r2)
	if timing != nil {
		timing.record(span)
	}
	if err != nil {
		span.AddFaultFlag()
		span.AddCause(err, true)
		span.Close(nil)
		return resp, err
	}
	SetResponse(span, resp.StatusCode, resp.ContentLength)
	span.Close(nil)
	return resp, nil
}

// setTraceHeaders writes the trace context of a call made in seg (its
// subsegment, or an unsampled segment) in the formats asked for.
func setTraceHeaders(h http.Header, seg *xray.Segment, formats header.Format) {
	if formats == 0 {
		formats = header.AllFormats
	}
	var buf [128]byte
	if formats&header.AmznTraceID != 0 {
		h.Set(header.Name, string(seg.AppendDownstreamHeader(buf[:0])))
	}
	if formats&header.TraceContext != 0 {
		h.Set(header.TraceParentHTTP, string(seg.AppendTraceParent(buf[:0])))
		if ts := seg.TraceState(); ts != "" {
			h.Set(header.TraceStateHTTP, ts)
		} else {
			h.Del(header.TraceStateHTTP)
		}
	}
}

// safeURL is u without user information, query string and fragment.
func safeURL(u *url.URL) string {
	v := *u
	v.User = nil
	v.RawQuery, v.ForceQuery = "", false
	v.Fragment, v.RawFragment = "", ""
	return v.String()
}

// timings collects the phases of one request from httptrace hooks, which
// the transport may call from its own goroutines (a dial can finish after
// the request was served by another connection).
type timings struct {
	mu                                   sync.Mutex
	dnsStart, connStart, tlsStart, start time.Time
	dns, conn, tls, ttfb                 time.Duration
}

func (tm *timings) set(d *time.Duration, since *time.Time) {
	tm.mu.Lock()
	*d = time.Since(*since)
	tm.mu.Unlock()
}

func (tm *timings) mark(t *time.Time) {
	tm.mu.Lock()
	*t = time.Now()
	tm.mu.Unlock()
}

func (tm *timings) trace() *httptrace.ClientTrace {
	tm.start = time.Now()
	return &httptrace.ClientTrace{
		DNSStart:             func(httptrace.DNSStartInfo) { tm.mark(&tm.dnsStart) },
		DNSDone:              func(httptrace.DNSDoneInfo) { tm.set(&tm.dns, &tm.dnsStart) },
		ConnectStart:         func(string, string) { tm.mark(&tm.connStart) },
		ConnectDone:          func(string, string, error) { tm.set(&tm.conn, &tm.connStart) },
		TLSHandshakeStart:    func() { tm.mark(&tm.tlsStart) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { tm.set(&tm.tls, &tm.tlsStart) },
		GotFirstResponseByte: func() { tm.set(&tm.ttfb, &tm.start) },
	}
}

func (tm *timings) record(s *xray.Segment) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for _, f := range []struct {
		key string
		d   time.Duration
	}{{"dns_ms", tm.dns}, {"connect_ms", tm.conn}, {"tls_ms", tm.tls}, {"first_byte_ms", tm.ttfb}} {
		if f.d > 0 {
			s.AddMetadataToNamespace("http", f.key, ms(f.d))
		}
	}
}
