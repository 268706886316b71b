// Package otlpin receives OpenTelemetry traces over OTLP/HTTP (protobuf
// or JSON, optionally gzip) for xray local, so that services instrumented
// with an OpenTelemetry SDK show up in the same store and viewer as those
// that send segments over UDP, and relays what arrives to another OTLP
// endpoint when asked.
package otlpin

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/openxray/xray/cmd/xray/internal/daemon"
)

// Path is where OTLP/HTTP clients post traces.
const Path = "/v1/traces"

// Limits of one request.
const (
	MaxBody        = 16 << 20 // bytes, as received (compressed or not)
	MaxDecoded     = 64 << 20 // bytes, once decompressed
	forwardQueue   = 64       // requests waiting to be relayed
	forwardTimeout = 10 * time.Second
)

// Config configures a Receiver.
type Config struct {
	// Forward, when set, is an OTLP/HTTP traces URL (a collector's, Jaeger's)
	// that receives a copy of every accepted request, as it came.
	Forward string
	Logger  *slog.Logger
	// Client sends the relayed requests; nil means a client of its own.
	Client *http.Client
}

// Receiver is the OTLP/HTTP handler. Every span becomes a document
// offered to the store through offer, which never waits: a full queue
// refuses and counts, as for datagrams.
type Receiver struct {
	offer  func(daemon.Document) bool
	cfg    Config
	fwd    chan forwarded
	logger *slog.Logger

	requests, spans, accepted, refusedSpans, badRequests atomic.Uint64
	forwardedN, forwardErrors, forwardDropped            atomic.Uint64
	mu                                                   sync.Mutex
	lastLog                                              time.Time
}

type forwarded struct {
	body        []byte
	contentType string
	encoding    string
}

// Stats are the receiver's counters.
type Stats struct {
	Requests       uint64 `json:"requests"`
	BadRequests    uint64 `json:"bad_requests"`
	Spans          uint64 `json:"spans"`
	Accepted       uint64 `json:"spans_accepted"`
	Refused        uint64 `json:"spans_refused"`
	Forwarded      uint64 `json:"forwarded"`
	ForwardErrors  uint64 `json:"forward_errors"`
	ForwardDropped uint64 `json:"forward_dropped"`
}

// New returns a receiver that offers documents to offer. Run must be
// running for Forward to relay.
func New(cfg Config, offer func(daemon.Document) bool) *Receiver {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: forwardTimeout}
	}
	r := &Receiver{offer: offer, cfg: cfg, logger: cfg.Logger}
	if cfg.Forward != "" {
		r.fwd = make(chan forwarded, forwardQueue)
	}
	return r
}

// Stats returns the counters.
func (r *Receiver) Stats() Stats {
	return Stats{
		Requests: r.requests.Load(), BadRequests: r.badRequests.Load(), Spans: r.spans.Load(),
		Accepted: r.accepted.Load(), Refused: r.refusedSpans.Load(), Forwarded: r.forwardedN.Load(),
		ForwardErrors: r.forwardErrors.Load(), ForwardDropped: r.forwardDropped.Load(),
	}
}

// Run relays requests to Forward until ctx is done.
func (r *Receiver) Run(ctx context.Context) {
	if r.fwd == nil {
		<-ctx.Done()
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-r.fwd:
			r.relay(ctx, f)
		}
	}
}

func (r *Receiver) relay(ctx context.Context, f forwarded) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.Forward, bytes.NewReader(f.body))
	if err != nil {
		r.forwardErrors.Add(1)
		return
	}
	req.Header.Set("Content-Type", f.contentType)
	if f.encoding != "" {
		req.Header.Set("Content-Encoding", f.encoding)
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		r.forwardErrors.Add(1)
		r.warn("otlp: relaying", err)
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		r.forwardErrors.Add(1)
		r.warn("otlp: relaying", fmt.Errorf("%s answered %s", r.cfg.Forward, resp.Status))
		return
	}
	r.forwardedN.Add(1)
}

// warn logs at most one line a second.
func (r *Receiver) warn(msg string, err error) {
	r.mu.Lock()
	log := time.Since(r.lastLog) > time.Second
	if log {
		r.lastLog = time.Now()
	}
	r.mu.Unlock()
	if log {
		r.logger.Warn(msg+" (logged at most once a second)", "err", err)
	}
}

// ServeHTTP answers POST /v1/traces as the OTLP/HTTP specification asks:
// 200 with an ExportTraceServiceResponse in the request's encoding (with
// partial_success when spans were refused), 400 for what cannot be read,
// 413 for a body over MaxBody, 415 for another content type.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST OTLP traces here", http.StatusMethodNotAllowed)
		return
	}
	r.requests.Add(1)
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	isJSON := ct == "application/json"
	if !isJSON && ct != "application/x-protobuf" {
		r.badRequests.Add(1)
		http.Error(w, "content type must be application/x-protobuf or application/json", http.StatusUnsupportedMediaType)
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxBody))
	if err != nil {
		r.badRequests.Add(1)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	body := raw
	encoding := req.Header.Get("Content-Encoding")
	switch encoding {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(zr, MaxDecoded+1))
		}
		if err != nil || len(body) > MaxDecoded {
			r.badRequests.Add(1)
			http.Error(w, "the gzip body cannot be read or is too large", http.StatusBadRequest)
			return
		}
	default:
		r.badRequests.Add(1)
		http.Error(w, "unsupported content encoding "+encoding, http.StatusUnsupportedMediaType)
		return
	}
	er := ptraceotlp.NewExportRequest()
	if isJSON {
		err = er.UnmarshalJSON(body)
	} else {
		err = er.UnmarshalProto(body)
	}
	if err != nil {
		r.badRequests.Add(1)
		r.warn("otlp: undecodable request", err)
		http.Error(w, "cannot decode the OTLP request: "+err.Error(), http.StatusBadRequest)
		return
	}
	td := er.Traces()
	total := td.SpanCount()
	r.spans.Add(uint64(total))
	docs, skipped := Convert(td)
	refused := skipped
	for _, b := range docs {
		doc, err := daemon.ParseDocument(b)
		if err != nil || !r.offer(doc) {
			refused++
			continue
		}
		r.accepted.Add(1)
	}
	r.refusedSpans.Add(uint64(refused))
	if r.fwd != nil {
		select {
		case r.fwd <- forwarded{body: raw, contentType: req.Header.Get("Content-Type"), encoding: encoding}:
		default:
			r.forwardDropped.Add(1)
		}
	}
	resp := ptraceotlp.NewExportResponse()
	if refused > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(refused))
		resp.PartialSuccess().SetErrorMessage("spans without IDs, or the store is behind")
	}
	var out []byte
	if isJSON {
		out, err = resp.MarshalJSON()
		w.Header().Set("Content-Type", "application/json")
	} else {
		out, err = resp.MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(out)
}
