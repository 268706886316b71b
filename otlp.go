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

// OTLPConfig configures the OTLP/HTTP exporter (protobuf, optionally
// gzip). The zero value sends to DefaultOTLPEndpoint with gzip. The
// OTEL_* environment variables take precedence over it (see Config).
type OTLPConfig struct {
	// Endpoint is the full URL spans are posted to, such as
	// http://localhost:4318/v1/traces or
	// https://xray.us-east-1.amazonaws.com/v1/traces.
	Endpoint string
	// Headers are sent with every request (an API key, a tenant).
	Headers map[string]string
	// Compression is "gzip" (the default) or "none".
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
	DroppedRejected  uint64 // the endpoint answered with a non-retryable error
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
	batchSize    int
	batchTimeout time.Duration
	retryInitial time.Duration
	retryMax     time.Duration
	retryElapsed time.Duration
	logger       *slog.Logger

	mu      sync.Mutex
	queue   []spanChunk
	queued  int // spans in queue
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

func newOTLPExporter(cfg OTLPConfig, resource []byte, logger *slog.Logger) *OTLPExporter {
	e := &OTLPExporter{
		endpoint:     cfg.Endpoint,
		headers:      cfg.Headers,
		gzip:         cfg.Compression != "none",
		timeout:      cfg.Timeout,
		client:       cfg.Client,
		serviceName:  cfg.ServiceName,
		resource:     resource,
		queueSize:    cfg.MaxQueueSize,
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

// enqueue takes c (its buffer comes from the pool and goes back to it
// once sent). It never blocks: past the queue's bound, c is dropped.
func (e *OTLPExporter) enqueue(c spanChunk) {
	e.mu.Lock()
	switch {
	case e.closed:
		e.mu.Unlock()
		e.droppedShutdown.Add(uint64(c.n))
		putBuffer(c.b)
		return
	case e.queued+c.n > e.queueSize:
		e.mu.Unlock()
		e.droppedQueue.Add(uint64(c.n))
		putBuffer(c.b)
		return
	}
	e.queue = append(e.queue, c)
	e.queued += c.n
	full := e.queued >= e.batchSize
	e.mu.Unlock()
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
		all := ack != nil || stopping
		for e.sendBatch(all, stopping) {
		}
		if ack != nil {
			close(ack)
		}
		if stopping {
			return
		}
		timer.Reset(e.batchTimeout)
	}
}

// sendBatch sends one batch of queued spans (called when the batch is
// full, its time is up, or on Flush and Shutdown with all set). It
// reports whether another should follow at once.
func (e *OTLPExporter) sendBatch(all, stopping bool) bool {
	e.mu.Lock()
	if len(e.queue) == 0 {
		e.mu.Unlock()
		return false
	}
	// Take whole chunks up to the batch size; a chunk larger than a
	// request's limits is split below.
	n, spans := 0, 0
	for n < len(e.queue) && (spans == 0 || spans+e.queue[n].n <= e.batchSize) {
		spans += e.queue[n].n
		n++
	}
	batch := slices.Clone(e.queue[:n])
	clear(e.queue[:n])
	e.queue = e.queue[n:]
	e.queued -= spans
	more := len(e.queue) > 0
	e.mu.Unlock()

	ctx := context.Background()
	var cancel context.CancelFunc = func() {}
	if stopping {
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
	}
	e.export(ctx, batch)
	cancel()
	for _, c := range batch {
		putBuffer(c.b)
	}
	return more && (all || e.queuedLen() >= e.batchSize)
}

func (e *OTLPExporter) queuedLen() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.queued
}

// export sends batch in as many requests as X-Ray's limits require.
func (e *OTLPExporter) export(ctx context.Context, batch []spanChunk) {
	// Group the chunks by service, in order of first appearance.
	var services []string
	for _, c := range batch {
		if !slices.Contains(services, c.service) {
			services = append(services, c.service)
		}
	}
	e.req = e.req[:0]
	count, size := 0, 0
	var rs, ss int
	open := ""
	flush := func() {
		if count == 0 {
			return
		}
		e.req = endMessage(e.req, ss)
		e.req = endMessage(e.req, rs)
		e.post(ctx, e.req, count)
		e.req, count, size, open = e.req[:0], 0, 0, ""
	}
	for _, svc := range services {
		for _, c := range batch {
			if c.service != svc {
				continue
			}
			for b := c.b; len(b) > 0; {
				_, typ, tn := protowire.ConsumeTag(b)
				vn := protowire.ConsumeFieldValue(pbScopeSpansSpans, typ, b[tn:])
				if tn < 0 || vn < 0 {
					break // cannot happen: written by appendSpan
				}
				span := b[:tn+vn]
				b = b[tn+vn:]
				if count > 0 && (count+1 > otlpMaxRequestSpans || size+len(span) > otlpMaxRequestBytes-64<<10) {
					flush()
				}
				if open != svc || count == 0 {
					if count > 0 {
						e.req = endMessage(e.req, ss)
						e.req = endMessage(e.req, rs)
					}
					e.req, rs = beginMessage(e.req, pbRequestResourceSpans)
					e.req = e.appendResource(e.req, svc)
					e.req, ss = beginMessage(e.req, pbResourceSpansScope)
					e.req = append(e.req, e.scope...)
					open = svc
				}
				e.req = append(e.req, span...)
				count++
				size += len(span)
			}
		}
	}
	flush()
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

// errRetryable marks an answer worth another attempt.
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
		err := e.attempt(ctx, body)
		if err == nil {
			e.spans.Add(uint64(spans))
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

func (e *OTLPExporter) attempt(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("otlp request: %w", err)
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
			return err
		}
		return &retryableError{err: err}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusBadGateway ||
		resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusGatewayTimeout:
		return &retryableError{err: fmt.Errorf("otlp endpoint answered %s", resp.Status), after: retryAfter(resp.Header.Get("Retry-After"))}
	}
	return fmt.Errorf("otlp endpoint answered %s", resp.Status)
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
