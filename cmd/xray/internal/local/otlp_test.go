package local

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/openxray/xray"
	"github.com/openxray/xray/cmd/xray/internal/store"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xrayhttp"
)

// otelProvider is an OpenTelemetry SDK exporting with otlptracehttp to
// the local daemon's OTLP port.
func otelProvider(t *testing.T, endpoint, service string) *sdktrace.TracerProvider {
	t.Helper()
	exp, err := otlptracehttp.New(context.Background(),
		otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithInsecure(),
		otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp
}

// waitTrace waits until the store assembles the trace with n documents.
func waitTrace(t *testing.T, l *Local, id string, n int) *store.Trace {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tr, err := l.Store.Trace(context.Background(), id)
		if err == nil && tr.DocumentsTotal >= n {
			return tr
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s: %v, %d documents, want %d", id, err, func() int {
				if tr != nil {
					return tr.DocumentsTotal
				}
				return 0
			}(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A request that starts in a service instrumented with the OpenTelemetry
// SDK (exporting OTLP to xray local) and continues, through traceparent,
// in an OpenXRay service (sending segments over UDP) is one trace: one
// tree in the waterfall, one edge in the service map.
func TestMixedOpenTelemetryAndOpenXRayTrace(t *testing.T) {
	l := start(t)
	rec, err := xray.New(xray.Config{DaemonAddr: l.Daemon.Addr().String(), SamplingStrategy: sampling.Never})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close(context.Background())
	inventory := httptest.NewServer(xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("inventory"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, sub := xray.BeginSubsegment(r.Context(), "lookup")
		sub.SetSQL(&xray.SQL{DatabaseType: "PostgreSQL", SanitizedQuery: "SELECT qty FROM stock WHERE sku = ?"})
		sub.Close(nil)
		io.WriteString(w, "7")
	}), xrayhttp.WithRecorder(rec)))
	defer inventory.Close()

	tp := otelProvider(t, l.OTLPAddr, "storefront")
	tracer := tp.Tracer("storefront")
	ctx, server := tracer.Start(context.Background(), "GET /cart", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", 200)))
	cctx, client := tracer.Start(ctx, "GET inventory", trace.WithSpanKind(trace.SpanKindClient))
	req, _ := http.NewRequestWithContext(cctx, "GET", inventory.URL+"/stock", nil)
	propagation.TraceContext{}.Inject(cctx, propagation.HeaderCarrier(req.Header))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	client.End()
	_, bad := tracer.Start(ctx, "render", trace.WithSpanKind(trace.SpanKindInternal))
	bad.RecordError(io.ErrUnexpectedEOF)
	bad.SetStatus(codes.Error, "template failed")
	bad.End()
	server.End()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	tid := server.SpanContext().TraceID().String()
	id := "1-" + tid[:8] + "-" + tid[8:]
	tr := waitTrace(t, l, id, 4)
	if len(tr.Roots) != 1 {
		t.Fatalf("%d roots, want one tree: %+v", len(tr.Roots), tr.Roots)
	}
	root := tr.Roots[0]
	if root.Name != "storefront" || root.Kind != "segment" {
		t.Errorf("root %s (%s), want the storefront segment", root.Name, root.Kind)
	}
	var call, render *store.Node
	for _, c := range root.Children {
		switch c.Name {
		case "GET inventory":
			call = c
		case "render":
			render = c
		}
	}
	if call == nil || render == nil {
		t.Fatalf("storefront's children: %+v", root.Children)
	}
	if call.Namespace != "remote" || len(call.Children) != 1 || call.Children[0].Name != "inventory" {
		t.Fatalf("the client span should hold the inventory segment: %+v", call)
	}
	if !render.Fault || render.Fields["cause"] == nil {
		t.Errorf("render: fault %v, cause %v", render.Fault, render.Fields["cause"])
	}
	if inv := call.Children[0]; len(inv.Children) != 1 || inv.Children[0].Name != "lookup" {
		t.Errorf("inventory's subsegments: %+v", inv.Children)
	}
	if len(tr.SQL) != 1 || tr.SQL[0].Query != "SELECT qty FROM stock WHERE sku = ?" {
		t.Errorf("statements: %+v", tr.SQL)
	}

	sm, err := l.Store.Services(context.Background(), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range sm.Edges {
		if e.From == "storefront" && e.To == "inventory" {
			found = true
		}
	}
	if !found {
		t.Errorf("service map edges %+v: no storefront → inventory", sm.Edges)
	}
	list, err := l.Store.Traces(context.Background(), store.Query{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].TraceID != id {
		t.Errorf("trace list: %+v", list)
	}
}

// JSON bodies are read too; what cannot be read is refused with the
// status OTLP/HTTP asks for and counted, and the receiver keeps serving.
func TestOTLPReceiverInputs(t *testing.T) {
	l := start(t)
	url := "http://" + l.OTLPAddr + "/v1/traces"
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "json-svc")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{0x5f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	sp.SetSpanID([8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	sp.SetName("root")
	sp.SetKind(ptrace.SpanKindServer)
	now := time.Now()
	sp.SetStartTimestamp(pcommonTime(now.Add(-time.Second)))
	sp.SetEndTimestamp(pcommonTime(now))
	sp.Attributes().PutStr("tenant", "acme")
	noID := rs.ScopeSpans().At(0).Spans().AppendEmpty() // no IDs: refused
	noID.SetName("nameless")
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(out), `"rejectedSpans":"1"`) && !strings.Contains(string(out), `"rejectedSpans":1`) {
		t.Errorf("JSON export: %d %s", resp.StatusCode, out)
	}
	tr := waitTrace(t, l, "1-5f010203-0405060708090a0b0c0d0e0f", 1)
	if tr.Roots[0].Name != "json-svc" {
		t.Errorf("root %+v", tr.Roots[0])
	}
	if md, _ := tr.Roots[0].Fields["metadata"].(map[string]any); md == nil || md["otel"].(map[string]any)["tenant"] != "acme" {
		t.Errorf("metadata %v", tr.Roots[0].Fields["metadata"])
	}

	for _, c := range []struct {
		ct, enc string
		body    []byte
		want    int
	}{
		{"application/x-protobuf", "", []byte("\xff\xff\xff garbage"), 400},
		{"application/json", "", []byte("{not json"), 400},
		{"text/plain", "", []byte("hello"), 415},
		{"application/x-protobuf", "gzip", []byte("not gzip"), 400},
		{"application/x-protobuf", "br", []byte("x"), 415},
		{"application/x-protobuf", "", bytes.Repeat([]byte{0}, 17<<20), 413},
	} {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(c.body))
		req.Header.Set("Content-Type", c.ct)
		if c.enc != "" {
			req.Header.Set("Content-Encoding", c.enc)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s %q...: status %d, want %d", c.ct, c.enc, c.body[:min(8, len(c.body))], resp.StatusCode, c.want)
		}
	}
	st := l.OTLP.Stats()
	if st.BadRequests != 6 || st.Accepted != 1 || st.Refused != 1 {
		t.Errorf("stats %+v", st)
	}
}

// --forward-otlp relays every request, as it came, to another endpoint.
func TestForwardOTLP(t *testing.T) {
	upstream := start(t)
	l, err := Start(context.Background(), Options{UDP: "127.0.0.1:0", HTTP: "127.0.0.1:0", OTLP: "127.0.0.1:0",
		ForwardOTLP: "http://" + upstream.OTLPAddr + "/v1/traces", DB: t.TempDir() + "/f.db"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tp := otelProvider(t, l.OTLPAddr, "relayed")
	_, span := tp.Tracer("t").Start(context.Background(), "op")
	span.End()
	tp.ForceFlush(context.Background())
	tid := span.SpanContext().TraceID().String()
	id := "1-" + tid[:8] + "-" + tid[8:]
	waitTrace(t, l, id, 1)
	waitTrace(t, upstream, id, 1)
	if st := l.OTLP.Stats(); st.Forwarded != 1 || st.ForwardErrors != 0 {
		t.Errorf("forward stats %+v", st)
	}
}

func pcommonTime(t time.Time) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t) }
