package xray_test

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
)

// otlpSink is an OTLP/HTTP endpoint on a loopback socket that decodes
// what it receives (the interop module checks the same with the
// collector's pdata).
type otlpSink struct {
	*httptest.Server
	mu       sync.Mutex
	requests []otlpRequest
	answer   func(n int) (status int, retryAfter string) // nil: 200
	hold     chan struct{}                               // when set, requests wait on it
}

type otlpRequest struct {
	size     int // bytes, uncompressed
	header   http.Header
	path     string
	services []string
	spans    []pbSpan
}

type pbSpan struct {
	traceID, spanID, parentID string
	name                      string
	kind                      uint64
	attrs                     map[string]any
	events                    []map[string]any
	status                    uint64
}

func newOTLPSink(t *testing.T) *otlpSink {
	s := &otlpSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.hold != nil {
			<-s.hold
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		req, err := decodeRequest(b)
		if err != nil {
			t.Errorf("undecodable OTLP request: %v", err)
			http.Error(w, err.Error(), 400)
			return
		}
		req.header, req.path, req.size = r.Header.Clone(), r.URL.Path, len(b)
		s.mu.Lock()
		n := len(s.requests)
		s.requests = append(s.requests, req)
		answer := s.answer
		s.mu.Unlock()
		if answer != nil {
			if status, after := answer(n); status != 200 {
				if after != "" {
					w.Header().Set("Retry-After", after)
				}
				w.WriteHeader(status)
				return
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(func() {
		if s.hold != nil {
			select {
			case <-s.hold:
			default:
				close(s.hold)
			}
		}
		s.Close()
	})
	return s
}

func (s *otlpSink) all() []otlpRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]otlpRequest(nil), s.requests...)
}

func (s *otlpSink) spans() []pbSpan {
	var out []pbSpan
	for _, r := range s.all() {
		out = append(out, r.spans...)
	}
	return out
}

// fields walks a message's fields.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		default:
			return errors.New("unexpected wire type")
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

func decodeRequest(b []byte) (otlpRequest, error) {
	var req otlpRequest
	err := fields(b, func(num protowire.Number, _ protowire.Type, rs []byte, _ uint64) error {
		return fields(rs, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
			switch num {
			case 1: // resource
				return fields(v, func(num protowire.Number, _ protowire.Type, kv []byte, _ uint64) error {
					k, val, err := decodeKV(kv)
					if k == "service.name" {
						req.services = append(req.services, val.(string))
					}
					return err
				})
			case 2: // scope spans
				return fields(v, func(num protowire.Number, _ protowire.Type, sp []byte, _ uint64) error {
					if num != 2 {
						return nil
					}
					s, err := decodeSpan(sp)
					req.spans = append(req.spans, s)
					return err
				})
			}
			return nil
		})
	})
	return req, err
}

func decodeSpan(b []byte) (pbSpan, error) {
	s := pbSpan{attrs: map[string]any{}}
	err := fields(b, func(num protowire.Number, _ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			s.traceID = hex.EncodeToString(v)
		case 2:
			s.spanID = hex.EncodeToString(v)
		case 4:
			s.parentID = hex.EncodeToString(v)
		case 5:
			s.name = string(v)
		case 6:
			s.kind = x
		case 9:
			k, val, err := decodeKV(v)
			s.attrs[k] = val
			return err
		case 11:
			ev := map[string]any{}
			err := fields(v, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
				switch num {
				case 2:
					ev["name"] = string(v)
				case 3:
					k, val, err := decodeKV(v)
					ev[k] = val
					return err
				}
				return nil
			})
			s.events = append(s.events, ev)
			return err
		case 15:
			return fields(v, func(num protowire.Number, _ protowire.Type, _ []byte, x uint64) error {
				if num == 3 {
					s.status = x
				}
				return nil
			})
		}
		return nil
	})
	return s, err
}

func decodeKV(b []byte) (key string, val any, err error) {
	err = fields(b, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case 1:
			key = string(v)
		case 2:
			val, err = decodeAnyValue(v)
			return err
		}
		return nil
	})
	return key, val, err
}

func decodeAnyValue(b []byte) (val any, err error) {
	err = fields(b, func(num protowire.Number, _ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			val = string(v)
		case 2:
			val = x != 0
		case 3:
			val = int64(x)
		case 4:
			val = x // bits of a double
		case 5:
			var arr []any
			err := fields(v, func(_ protowire.Number, _ protowire.Type, v []byte, _ uint64) error {
				e, err := decodeAnyValue(v)
				arr = append(arr, e)
				return err
			})
			val = arr
			return err
		}
		return nil
	})
	return val, err
}

func otlpRecorder(t *testing.T, cfg xray.Config) *xray.Recorder {
	t.Helper()
	if cfg.SamplingStrategy == nil {
		cfg.SamplingStrategy = sampling.Always
	}
	if cfg.Exporters == nil {
		cfg.Exporters = []string{xray.ExporterOTLP}
	}
	r, err := xray.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

func TestOTLPFromEnvironment(t *testing.T) {
	sink := newOTLPSink(t)
	t.Setenv("OTEL_TRACES_EXPORTER", "xray, otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink.URL+"/")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cret%20key,x-tenant=a")
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2000")
	t.Setenv("OTEL_SERVICE_NAME", "checkout")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test,service.name=ignored")
	// Config says otherwise: the environment wins, as for AWS_XRAY_*.
	r, d := newDaemonRecorder(t, xray.Config{
		Exporters: []string{xray.ExporterXRay},
		OTLP:      xray.OTLPConfig{Endpoint: "http://127.0.0.1:1/nowhere", Compression: "none", ServiceName: "config-name"},
	})
	ctx, seg := r.BeginSegment(context.Background(), "web")
	_, sub := seg.BeginSubsegment(ctx, "work")
	sub.Close(nil)
	seg.Close(nil)
	flush(t, r)

	reqs := sink.all()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	q := reqs[0]
	if q.path != "/v1/traces" || q.header.Get("Content-Type") != "application/x-protobuf" ||
		q.header.Get("Content-Encoding") != "gzip" || q.header.Get("X-Api-Key") != "s3cret key" || q.header.Get("X-Tenant") != "a" {
		t.Errorf("request: path %q, header %v", q.path, q.header)
	}
	if len(q.services) != 1 || q.services[0] != "checkout" {
		t.Errorf("service.name = %v, want checkout", q.services)
	}
	if len(q.spans) != 2 {
		t.Fatalf("%d spans, want 2", len(q.spans))
	}
	// The daemon got the same trace: both exporters run.
	doc := d.WaitTrace(t, seg.TraceID(), 5*time.Second)
	if want := strings.ReplaceAll(seg.TraceID()[2:], "-", ""); q.spans[0].traceID != want {
		t.Errorf("span trace ID %s, want %s (daemon has %v)", q.spans[0].traceID, want, doc["trace_id"])
	}
}

func TestOTLPEnvironmentErrors(t *testing.T) {
	for _, c := range []struct{ name, value string }{
		{"OTEL_TRACES_EXPORTER", "zipkin"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"},
		{"OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"},
		{"OTEL_EXPORTER_OTLP_TIMEOUT", "10s"},
		{"OTEL_EXPORTER_OTLP_HEADERS", "novalue"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
			t.Setenv(c.name, c.value)
			r, err := xray.New(xray.Config{SamplingStrategy: sampling.Always})
			if err == nil {
				r.Close(context.Background())
				t.Fatalf("%s=%s accepted", c.name, c.value)
			}
			if !strings.Contains(err.Error(), c.value) && !strings.Contains(err.Error(), c.name) {
				t.Errorf("error %q names neither the variable nor the value", err)
			}
		})
	}
}

func TestOTLPRetries(t *testing.T) {
	sink := newOTLPSink(t)
	sink.answer = func(n int) (int, string) {
		switch n {
		case 0:
			return http.StatusTooManyRequests, "1"
		case 1:
			return http.StatusBadGateway, ""
		case 2:
			return http.StatusServiceUnavailable, ""
		}
		return 200, ""
	}
	r := otlpRecorder(t, xray.Config{OTLP: xray.OTLPConfig{Endpoint: sink.URL + "/v1/traces", RetryInitial: 10 * time.Millisecond}})
	_, seg := r.BeginSegment(context.Background(), "retried")
	seg.Close(nil)
	flush(t, r)
	st := r.OTLP().Stats()
	if st.Retries != 3 || st.Spans != 1 || st.Requests != 1 {
		t.Errorf("stats %+v, want 3 retries and 1 span in 1 request", st)
	}
	if got := len(sink.all()); got != 4 {
		t.Errorf("%d attempts, want 4", got)
	}
	if enc := sink.all()[0].header.Get("Content-Encoding"); enc != "" {
		t.Errorf("Content-Encoding %q by default, want none (OpenTelemetry's default)", enc)
	}

	// A 400 is not retried: the spans are dropped and counted.
	sink.answer = func(int) (int, string) { return http.StatusBadRequest, "" }
	_, seg = r.BeginSegment(context.Background(), "rejected")
	seg.Close(nil)
	flush(t, r)
	if st := r.OTLP().Stats(); st.DroppedRejected != 1 || st.Retries != 3 {
		t.Errorf("after a 400: %+v", st)
	}
}

func TestOTLPRequestLimits(t *testing.T) {
	sink := newOTLPSink(t)
	r := otlpRecorder(t, xray.Config{OTLP: xray.OTLPConfig{
		Endpoint: sink.URL + "/v1/traces", MaxQueueSize: 30000, MaxBatchSize: 25000, BatchTimeout: time.Hour,
	}})
	ctx, seg := r.BeginSegment(context.Background(), "big")
	for range 12000 {
		_, sub := seg.BeginSubsegment(ctx, "q")
		sub.Close(nil)
	}
	seg.Close(nil)
	flush(t, r)
	total := 0
	for _, q := range sink.all() {
		if len(q.spans) > 10000 {
			t.Errorf("a request with %d spans, over X-Ray's 10,000", len(q.spans))
		}
		total += len(q.spans)
	}
	if total != 12001 || len(sink.all()) < 2 {
		t.Errorf("%d spans in %d requests, want 12001 in at least 2", total, len(sink.all()))
	}

	// 40 spans of 150 KB: 6 MB, sent in requests of at most 5 MB.
	before := len(sink.all())
	for range 40 {
		_, seg := r.BeginSegment(context.Background(), "wide")
		seg.AddMetadata("blob", strings.Repeat("y", 150<<10))
		seg.Close(nil)
	}
	flush(t, r)
	wide := sink.all()[before:]
	n := 0
	for _, q := range wide {
		if q.size > 5<<20 {
			t.Errorf("a request of %d bytes, over X-Ray's 5 MB", q.size)
		}
		n += len(q.spans)
	}
	if n != 40 || len(wide) < 2 {
		t.Errorf("%d spans in %d requests, want 40 in at least 2", n, len(wide))
	}

	// A span over 200 KB is sent truncated, like a document over a datagram.
	_, seg = r.BeginSegment(context.Background(), "huge")
	seg.AddMetadata("blob", strings.Repeat("x", 300<<10))
	seg.Close(nil)
	flush(t, r)
	spans := sink.spans()
	last := spans[len(spans)-1]
	if last.name != "huge" || last.attrs["aws.xray.metadata.openxray"] != `{"truncated":true}` || last.attrs["aws.xray.metadata.default"] != nil {
		t.Errorf("oversized span: %v", last.attrs)
	}
	if st := r.OTLP().Stats(); st.Truncated != 1 {
		t.Errorf("Truncated = %d, want 1", st.Truncated)
	}
}

func TestOTLPNeverBlocks(t *testing.T) {
	sink := newOTLPSink(t)
	sink.hold = make(chan struct{})
	r := otlpRecorder(t, xray.Config{OTLP: xray.OTLPConfig{Endpoint: sink.URL + "/v1/traces", MaxQueueSize: 100, MaxBatchSize: 10}})
	// The endpoint hangs: closing segments must still return, and what
	// does not fit the queue is dropped and counted.
	for range 500 {
		_, seg := r.BeginSegment(context.Background(), "s")
		seg.Close(nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush against a hung endpoint = %v, want the context's deadline", err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer scancel()
	if err := r.OTLP().Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown against a hung endpoint = %v, want the context's deadline", err)
	}
	st := r.OTLP().Stats()
	if st.DroppedQueueFull == 0 || st.DroppedQueueFull > 500-100 {
		t.Errorf("DroppedQueueFull = %d", st.DroppedQueueFull)
	}
	close(sink.hold)
	// Shutdown goes on once the endpoint answers: what was queued is sent.
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st = r.OTLP().Stats()
	if st.Spans+st.DroppedQueueFull != 500 {
		t.Errorf("%d sent + %d dropped, want 500", st.Spans, st.DroppedQueueFull)
	}
	_, seg := r.BeginSegment(context.Background(), "late")
	seg.Close(nil)
	if st := r.OTLP().Stats(); st.DroppedShutdown != 1 {
		t.Errorf("after Shutdown: %+v", st)
	}
}

// A 200 whose partial_success refuses spans counts them as rejected.
func TestOTLPPartialSuccess(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		var ps []byte
		ps = protowire.AppendTag(ps, 1, protowire.VarintType)
		ps = protowire.AppendVarint(ps, 1)
		ps = protowire.AppendTag(ps, 2, protowire.BytesType)
		ps = protowire.AppendString(ps, "span too old")
		var resp []byte
		resp = protowire.AppendTag(resp, 1, protowire.BytesType)
		resp = protowire.AppendBytes(resp, ps)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(resp)
	}))
	defer srv.Close()
	r := otlpRecorder(t, xray.Config{OTLP: xray.OTLPConfig{Endpoint: srv.URL + "/v1/traces"}})
	ctx, seg := r.BeginSegment(context.Background(), "partly")
	_, sub := seg.BeginSubsegment(ctx, "old")
	sub.Close(nil)
	seg.Close(nil)
	flush(t, r)
	if st := r.OTLP().Stats(); st.Spans != 1 || st.DroppedRejected != 1 || st.Requests != 1 {
		t.Errorf("stats %+v, want 1 sent and 1 rejected", st)
	}
}

// Segments of several services, one of them unnamed, share a request as
// separate resources.
func TestOTLPServices(t *testing.T) {
	sink := newOTLPSink(t)
	r := otlpRecorder(t, xray.Config{OTLP: xray.OTLPConfig{Endpoint: sink.URL + "/v1/traces"}})
	for _, name := range []string{"", "a", "b", "a"} {
		_, seg := r.BeginSegment(context.Background(), name)
		seg.Close(nil)
	}
	flush(t, r)
	reqs := sink.all()
	if len(reqs) != 1 || len(reqs[0].spans) != 4 || len(reqs[0].services) != 3 {
		t.Fatalf("requests %+v", reqs)
	}
}
