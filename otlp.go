package xray

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Defaults of OTLPConfig, those of OpenTelemetry's batch span processor
// and OTLP exporter.
const (
	DefaultOTLPEndpoint     = "http://localhost:4318/v1/traces"
	DefaultOTLPTimeout      = 10 * time.Second
	DefaultOTLPQueueSize    = 2048
	DefaultOTLPBatchSize    = 512
	DefaultOTLPBatchTimeout = 5 * time.Second
)

// Limits of X-Ray's OTLP endpoint, which every request keeps to.
const (
	otlpMaxRequestSpans = 10000
	otlpMaxRequestBytes = 5 << 20
)

// otlpMaxQueueBytes bounds the queue's memory whatever the spans' size.
const otlpMaxQueueBytes = 32 << 20

// OTLPConfig configures the OTLP/HTTP exporter (protobuf, optionally
// gzip). The zero value sends to DefaultOTLPEndpoint, uncompressed. The
// OTEL_* environment variables take precedence over it (see Config).
type OTLPConfig struct {
	// Endpoint is the full URL spans are posted to, such as
	// http://localhost:4318/v1/traces or
	// https://xray.us-east-1.amazonaws.com/v1/traces.
	Endpoint string
	// Headers are sent with every request (an API key, a tenant).
	Headers map[string]string
	// Compression is "none" (the default, as in OpenTelemetry's SDKs) or
	// "gzip", worth it over a network: X-Ray's OTLP endpoint and
	// collectors accept it.
	Compression string
	// Timeout bounds each request; zero means DefaultOTLPTimeout.
	Timeout time.Duration
	// Client sends the requests; nil means a client of its own. A client
	// whose transport signs requests (contrib/xraysigv4) reaches X-Ray's
	// OTLP endpoint.
	Client *http.Client
	// ServiceName is the resource's service.name; empty means the name of
	// each span's segment.
	ServiceName string
	// ResourceAttributes are added to the resource, after those the
	// recorder knows (service.version, telemetry.sdk.*, the plugins').
	ResourceAttributes map[string]string
	// MaxQueueSize bounds the spans waiting to be sent; past it, spans
	// are dropped and counted. Zero means DefaultOTLPQueueSize.
	MaxQueueSize int
	// MaxBatchSize is the number of spans that starts a request at once;
	// zero means DefaultOTLPBatchSize. A request never carries more than
	// 10,000 spans or 5 MB, X-Ray's limits.
	MaxBatchSize int
	// BatchTimeout is the longest a span waits for its batch to fill;
	// zero means DefaultOTLPBatchTimeout.
	BatchTimeout time.Duration
	// RetryInitial and RetryMax bound the pause between attempts after a
	// 429, 502, 503 or 504 answer or a network error (zero: 1s and 30s);
	// RetryElapsed bounds the attempts of one request (zero: one minute).
	// A Retry-After answer is honoured.
	RetryInitial, RetryMax, RetryElapsed time.Duration
}

// OTLPStats counts what an OTLPExporter did.
type OTLPStats struct {
	Spans    uint64 // spans accepted by the endpoint
	Requests uint64 // requests answered 2xx
	Retries  uint64 // attempts repeated after a retryable failure
	// Dropped spans, by cause.
	DroppedQueueFull uint64 // the queue was full (the endpoint is slow or down)
	DroppedRejected  uint64 // the endpoint refused them: a non-retryable error, or a partial success
	DroppedFailed    uint64 // retries ran out
	DroppedShutdown  uint64 // ended after Shutdown
	// Truncated counts spans over 200 KB sent without their metadata,
	// long query text and extra exceptions, as documents over a datagram
	// are on the UDP path.
	Truncated uint64
}

// OTLPExporter sends the recorder's sampled entities as OTLP spans over
// HTTP, batched as OpenTelemetry's batch span processor does: closing a
// segment only appends its encoded spans to a bounded queue, and a
// goroutine sends them in batches, never blocking the caller. Make one
// with Config.Exporters (or OTEL_TRACES_EXPORTER=otlp); Recorder.OTLP
// returns it.
type OTLPExporter struct {
	endpoint     string
	headers      map[string]string
	gzip         bool
	timeout      time.Duration
	client       *http.Client
	serviceName  string
	resource     []byte // Resource attributes other than service.name
	scope        []byte // the InstrumentationScope message, as field 1 of ScopeSpans
	queueSize    int
	queueBytes   int
	batchSize    int
	batchTimeout time.Duration
	retryInitial time.Duration
	retryMax     time.Duration
	retryElapsed time.Duration
	logger       *slog.Logger

	mu      sync.Mutex
	queue   spanQueue // what waits to be sent
	spare   spanQueue // the worker's previous queue, kept for its buffers
	closed  bool
	wake    chan struct{}
	flushes chan chan struct{}
	done    chan struct{}
	stop    chan struct{}

	// Worker-owned buffers, reused between requests.
	req  []byte
	zbuf bytes.Buffer
	zw   *gzip.Writer

	spans, requests, retries                     atomic.Uint64
	droppedQueue, droppedRejected, droppedFailed atomic.Uint64
	droppedShutdown, truncated                   atomic.Uint64
}

// spanChunk is the spans of one emitted tree: concatenated Span messages
// (each as field spans of ScopeSpans) in a pooled buffer.
type spanChunk struct {
	b       []byte
	n       int
	service string
}

// spanQueue holds queued spans: their bytes in one buffer, and the extent,
// count and service of each tree's spans. The worker swaps it for the
// spare one, so that neither allocates once grown.
type spanQueue struct {
	b      []byte
	chunks []queuedChunk
	spans  int
}

type queuedChunk struct {
	end     int // in b
	n       int
	service string
}

func (q *spanQueue) reset() {
	q.b = q.b[:0]
	clear(q.chunks)
	q.chunks = q.chunks[:0]
	q.spans = 0
}

func newOTLPExporter(cfg OTLPConfig, resource []byte, logger *slog.Logger) *OTLPExporter {
	e := &OTLPExporter{
		endpoint:     cfg.Endpoint,
		headers:      cfg.Headers,
		gzip:         cfg.Compression == "gzip",
		timeout:      cfg.Timeout,
		client:       cfg.Client,
		serviceName:  cfg.ServiceName,
		resource:     resource,
		queueSize:    cfg.MaxQueueSize,
		queueBytes:   otlpMaxQueueBytes,
		batchSize:    cfg.MaxBatchSize,
		batchTimeout: cfg.BatchTimeout,
		retryInitial: cfg.RetryInitial,
		retryMax:     cfg.RetryMax,
		retryElapsed: cfg.RetryElapsed,
		logger:       logger,
		wake:         make(chan struct{}, 1),
		flushes:      make(chan chan struct{}),
		done:         make(chan struct{}),
		stop:         make(chan struct{}),
	}
	if e.endpoint == "" {
		e.endpoint = DefaultOTLPEndpoint
	}
	if e.timeout <= 0 {
		e.timeout = DefaultOTLPTimeout
	}
	if e.client == nil {
		e.client = &http.Client{}
	}
	if e.queueSize <= 0 {
		e.queueSize = DefaultOTLPQueueSize
	}
	if e.batchSize <= 0 {
		e.batchSize = DefaultOTLPBatchSize
	}
	e.batchSize = min(e.batchSize, e.queueSize, otlpMaxRequestSpans)
	if e.batchTimeout <= 0 {
		e.batchTimeout = DefaultOTLPBatchTimeout
	}
	if e.retryInitial <= 0 {
		e.retryInitial = time.Second
	}
	if e.retryMax <= 0 {
		e.retryMax = 30 * time.Second
	}
	if e.retryElapsed <= 0 {
		e.retryElapsed = time.Minute
	}
	var s []byte
	s, m := beginMessage(s, pbScopeSpansScope)
	s = appendPBString(s, pbScopeName, "github.com/openxray/xray")
	s = appendPBString(s, pbScopeVersion, SDKVersion)
	e.scope = endMessage(s, m)
	e.zw, _ = gzip.NewWriterLevel(&e.zbuf, gzip.BestSpeed)
	go e.run()
	return e
}

// Stats returns what the exporter has done so far.
func (e *OTLPExporter) Stats() OTLPStats {
	return OTLPStats{
		Spans: e.spans.Load(), Requests: e.requests.Load(), Retries: e.retries.Load(),
		DroppedQueueFull: e.droppedQueue.Load(), DroppedRejected: e.droppedRejected.Load(),
		DroppedFailed: e.droppedFailed.Load(), DroppedShutdown: e.droppedShutdown.Load(),
		Truncated: e.truncated.Load(),
	}
}

// enqueue copies c's spans to the queue and recycles c's buffer. It never
// blocks: past the queue's bounds (spans, bytes), c is dropped and counted.
func (e *OTLPExporter) enqueue(c spanChunk) {
	e.mu.Lock()
	q := &e.queue
	switch {
	case e.closed:
		e.mu.Unlock()
		e.droppedShutdown.Add(uint64(c.n))
		putBuffer(c.b)
		return
	case q.spans+c.n > e.queueSize || len(q.b)+len(c.b) > e.queueBytes:
		e.mu.Unlock()
		e.droppedQueue.Add(uint64(c.n))
		putBuffer(c.b)
		return
	}
	q.b = append(q.b, c.b...)
	q.chunks = append(q.chunks, queuedChunk{end: len(q.b), n: c.n, service: c.service})
	q.spans += c.n
	full := q.spans >= e.batchSize
	e.mu.Unlock()
	putBuffer(c.b)
	if full {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
}

// Flush sends every span queued so far and waits until the endpoint has
// answered for them, or ctx is done.
func (e *OTLPExporter) Flush(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ack := make(chan struct{})
	select {
	case e.flushes <- ack:
	case <-e.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("xray: otlp flush: %w", ctx.Err())
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("xray: otlp flush: %w", ctx.Err())
	}
}

// Shutdown sends what is queued, within ctx, and stops the exporter:
// spans that arrive afterwards are dropped and counted. A retry in
// progress is abandoned when ctx is done.
func (e *OTLPExporter) Shutdown(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	e.mu.Lock()
	already := e.closed
	e.closed = true
	e.mu.Unlock()
	if !already {
		close(e.stop)
	}
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("xray: otlp shutdown: %w", ctx.Err())
	}
}

func (e *OTLPExporter) run() {
	defer close(e.done)
	timer := time.NewTimer(e.batchTimeout)
	defer timer.Stop()
	for {
		var ack chan struct{}
		stopping := false
		select {
		case <-e.wake:
		case <-timer.C:
		case ack = <-e.flushes:
		case <-e.stop:
			stopping = true
		}
		e.sendQueued(stopping)
		if ack != nil {
			close(ack)
		}
		if stopping {
			return
		}
		timer.Reset(e.batchTimeout)
	}
}

// sendQueued takes the whole queue (leaving the spare one in its place)
// and sends it, in requests of at most MaxBatchSize spans.
func (e *OTLPExporter) sendQueued(stopping bool) {
	e.mu.Lock()
	if e.queue.spans == 0 {
		e.mu.Unlock()
		return
	}
	q := e.queue
	e.queue, e.spare = e.spare, spanQueue{}
	e.queue.reset()
	e.mu.Unlock()

	ctx := context.Background()
	if stopping {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
		defer cancel()
	}
	e.export(ctx, &q)
	e.mu.Lock()
	e.spare = q
	e.mu.Unlock()
}

// export sends q's spans in as many requests as the batch size and
// X-Ray's limits require, grouped by service in each.
func (e *OTLPExporter) export(ctx context.Context, q *spanQueue) {
	var services []string
	for _, c := range q.chunks {
		if !slices.Contains(services, c.service) {
			services = append(services, c.service)
		}
	}
	e.req = e.req[:0]
	count, size := 0, 0
	var rs, ss int
	open, opened := "", false // the service of the ResourceSpans being written
	closeGroup := func() {
		e.req = endMessage(e.req, ss)
		e.req = endMessage(e.req, rs)
	}
	for _, svc := range services {
		start := 0
		for _, c := range q.chunks {
			chunk := q.b[start:c.end]
			start = c.end
			if c.service != svc {
				continue
			}
			for b := chunk; len(b) > 0; {
				_, typ, tn := protowire.ConsumeTag(b)
				if tn < 0 {
					break // cannot happen: written by appendSpan
				}
				vn := protowire.ConsumeFieldValue(pbScopeSpansSpans, typ, b[tn:])
				if vn < 0 {
					break
				}
				span := b[:tn+vn]
				b = b[tn+vn:]
				if count > 0 && (count >= e.batchSize || size+len(span) > otlpMaxRequestBytes-64<<10) {
					closeGroup()
					e.post(ctx, e.req, count)
					e.req, count, size, opened = e.req[:0], 0, 0, false
				}
				if !opened || open != svc {
					if opened {
						closeGroup()
					}
					e.req, rs = beginMessage(e.req, pbRequestResourceSpans)
					e.req = e.appendResource(e.req, svc)
					e.req, ss = beginMessage(e.req, pbResourceSpansScope)
					e.req = append(e.req, e.scope...)
					open, opened = svc, true
				}
				e.req = append(e.req, span...)
				count++
				size += len(span)
			}
		}
	}
	if count > 0 {
		closeGroup()
		e.post(ctx, e.req, count)
	}
}

func (e *OTLPExporter) appendResource(b []byte, service string) []byte {
	b, m := beginMessage(b, pbResourceSpansResource)
	a := attrs{b: b, num: pbResourceAttributes}
	if e.serviceName != "" {
		service = e.serviceName
	}
	a.str("service.name", service)
	b = append(a.b, e.resource...)
	return endMessage(b, m)
}

// retryableError marks a failure worth another attempt.
type retryableError struct {
	err   error
	after time.Duration // from Retry-After, or zero
}

func (r *retryableError) Error() string { return r.err.Error() }

// post sends one request, retrying with exponential backoff and jitter.
func (e *OTLPExporter) post(ctx context.Context, body []byte, spans int) {
	if e.gzip {
		e.zbuf.Reset()
		e.zw.Reset(&e.zbuf)
		_, _ = e.zw.Write(body)
		_ = e.zw.Close()
		body = e.zbuf.Bytes()
	}
	deadline := time.Now().Add(e.retryElapsed)
	wait := e.retryInitial
	for attempt := 0; ; attempt++ {
		rejected, err := e.attempt(ctx, body)
		if err == nil {
			rejected = min(max(rejected, 0), int64(spans))
			e.spans.Add(uint64(int64(spans) - rejected))
			e.droppedRejected.Add(uint64(rejected))
			e.requests.Add(1)
			return
		}
		var re *retryableError
		if !errors.As(err, &re) {
			e.droppedRejected.Add(uint64(spans))
			e.logger.Warn("xray: otlp endpoint rejected spans", "spans", spans, "err", err)
			return
		}
		pause := wait/2 + rand.N(wait/2+1)
		if re.after > 0 {
			pause = re.after
		}
		if time.Now().Add(pause).After(deadline) {
			e.droppedFailed.Add(uint64(spans))
			e.logger.Warn("xray: otlp export failed; spans dropped", "spans", spans, "attempts", attempt+1, "err", err)
			return
		}
		e.retries.Add(1)
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			e.droppedFailed.Add(uint64(spans))
			return
		}
		wait = min(wait*2, e.retryMax)
	}
}

// attempt sends one request and returns the spans the endpoint refused
// in a partial success.
func (e *OTLPExporter) attempt(ctx context.Context, body []byte) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("otlp request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", "OpenXRay-Go/"+SDKVersion+" ("+runtime.GOOS+"; "+runtime.GOARCH+")")
	if e.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range e.headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
			return 0, err
		}
		return 0, &retryableError{err: err}
	}
	defer resp.Body.Close()
	var answer []byte
	if resp.StatusCode >= 200 && resp.StatusCode < 300 && resp.ContentLength != 0 &&
		strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-protobuf") {
		answer, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		rejected, msg := partialSuccess(answer)
		if rejected > 0 {
			e.logger.Warn("xray: otlp endpoint refused part of a request", "spans", rejected, "message", msg)
		}
		return rejected, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusBadGateway ||
		resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusGatewayTimeout:
		return 0, &retryableError{err: fmt.Errorf("otlp endpoint answered %s", resp.Status), after: retryAfter(resp.Header.Get("Retry-After"))}
	}
	return 0, fmt.Errorf("otlp endpoint answered %s", resp.Status)
}

// partialSuccess reads an ExportTraceServiceResponse's partial_success
// (field 1): rejected_spans (1) and error_message (2).
func partialSuccess(b []byte) (rejected int64, msg string) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, ""
		}
		b = b[n:]
		if num != 1 || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return 0, ""
			}
			b = b[n:]
			continue
		}
		ps, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return 0, ""
		}
		b = b[n:]
		for len(ps) > 0 {
			pnum, ptyp, pn := protowire.ConsumeTag(ps)
			if pn < 0 {
				break
			}
			ps = ps[pn:]
			switch {
			case pnum == 1 && ptyp == protowire.VarintType:
				v, vn := protowire.ConsumeVarint(ps)
				if vn < 0 {
					return rejected, msg
				}
				rejected, ps = int64(v), ps[vn:]
			case pnum == 2 && ptyp == protowire.BytesType:
				v, vn := protowire.ConsumeString(ps)
				if vn < 0 {
					return rejected, msg
				}
				msg, ps = v, ps[vn:]
			default:
				vn := protowire.ConsumeFieldValue(pnum, ptyp, ps)
				if vn < 0 {
					return rejected, msg
				}
				ps = ps[vn:]
			}
		}
	}
	return rejected, msg
}

// retryAfter reads a Retry-After value: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
