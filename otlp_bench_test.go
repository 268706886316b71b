package xray

import (
	"context"
	"testing"
	"time"

	"github.com/openxray/xray/sampling"
)

// BenchmarkOTLPEncode measures encoding a request's tree as OTLP spans
// (BenchmarkEncode10's segment with 10 SQL subsegments and an annotation,
// plus an HTTP block) and framing them into an export request as the
// exporter does; spans/s is per core, allocs/op covers 11 spans.
func BenchmarkOTLPEncode(b *testing.B) {
	r, err := New(Config{Exporters: []string{ExporterOTLP}, SamplingStrategy: sampling.Always,
		OTLP: OTLPConfig{Endpoint: "http://127.0.0.1:9/v1/traces", BatchTimeout: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close(context.Background())
	sql := &SQL{URL: "postgresql://db:5432/app", DatabaseType: "PostgreSQL", SanitizedQuery: "SELECT name FROM users WHERE id = $1"}
	ctx, seg := r.BeginSegment(context.Background(), "svc")
	seg.AddAnnotation("tenant", "acme")
	seg.SetHTTPRequest(HTTPRequest{Method: "GET", URL: "https://shop.example.com/cart", UserAgent: "curl/8", ClientIP: "10.0.0.1"})
	seg.SetHTTPResponse(200, 512)
	for range 10 {
		_, sub := BeginSubsegment(ctx, "app@db")
		sub.SetNamespace("remote")
		sub.SetSQL(sql)
		sub.Close(nil)
	}
	seg.st.closed = true
	seg.st.end = seg.st.start + 1e6
	e := r.otlp
	var chunk []byte
	var n int
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		chunk, n = r.appendSpans(chunk[:0], seg)
		e.req = e.req[:0]
		e.req, _ = beginMessage(e.req, pbRequestResourceSpans)
		e.req = e.appendResource(e.req, "svc")
		e.req, _ = beginMessage(e.req, pbResourceSpansScope)
		e.req = append(e.req, e.scope...)
		e.req = append(e.req, chunk...)
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "spans/s")
	b.ReportMetric(float64(len(chunk))/float64(n), "B/span")
}
