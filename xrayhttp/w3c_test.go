package xrayhttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openxray/xray/header"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xrayhttp"
)

// A request that carries only W3C trace context (an OpenTelemetry caller)
// continues its trace, its sampled flag decides, and the calls made while
// serving it carry both headers with the tracestate passed on.
func TestW3CTraceContext(t *testing.T) {
	rec, d := useDaemon(t, sampling.Never)
	var seen http.Header
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() }))
	defer b.Close()
	client := xrayhttp.Client(nil, xrayhttp.WithRecorder(rec))
	a := httptest.NewServer(xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("a"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", b.URL, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}), xrayhttp.WithRecorder(rec)))
	defer a.Close()

	req, _ := http.NewRequest("GET", a.URL, nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	req.Header.Set("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	flush(t, rec)
	doc := d.WaitTrace(t, "1-4bf92f35-77b34da6a3ce929d0e0e4736", 5e9)
	if doc.String("parent_id") != "00f067aa0ba902b7" {
		t.Errorf("parent_id = %q", doc.String("parent_id"))
	}
	call := doc.Subsegments()[0]
	if got, want := seen.Get("traceparent"), "00-4bf92f3577b34da6a3ce929d0e0e4736-"+call.ID()+"-01"; got != want {
		t.Errorf("traceparent sent %q, want %q", got, want)
	}
	if got := seen.Get("tracestate"); got != "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE" {
		t.Errorf("tracestate sent %q", got)
	}
	if got, want := seen.Get(header.Name), "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent="+call.ID()+";Sampled=1"; got != want {
		t.Errorf("X-Amzn-Trace-Id sent %q, want %q", got, want)
	}

	// Not sampled upstream (flags 00): nothing is recorded and the call
	// says so in both formats.
	req, _ = http.NewRequest("GET", a.URL, nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4737-00f067aa0ba902b7-00")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := seen.Get("traceparent"); len(got) != 55 || got[:36] != "00-4bf92f3577b34da6a3ce929d0e0e4737-" || got[53:] != "00" {
		t.Errorf("unsampled traceparent sent %q", got)
	}
	if h := header.FromString(seen.Get(header.Name)); h.SamplingDecision != header.NotSampled {
		t.Errorf("unsampled X-Amzn-Trace-Id sent %q", seen.Get(header.Name))
	}
}

func TestReadAndWriteFormats(t *testing.T) {
	rec, d := useDaemon(t, sampling.Always)
	var seen http.Header
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() }))
	defer b.Close()
	client := xrayhttp.Client(nil, xrayhttp.WithRecorder(rec), xrayhttp.WithWriteFormats(header.TraceContext))
	a := httptest.NewServer(xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("a"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", b.URL, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}), xrayhttp.WithRecorder(rec), xrayhttp.WithReadFormats(header.TraceContext, header.AmznTraceID)))
	defer a.Close()

	// Both headers, naming different traces: traceparent is read first.
	req, _ := http.NewRequestWithContext(context.Background(), "GET", a.URL, nil)
	req.Header.Set("traceparent", "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01")
	req.Header.Set(header.Name, "Root=1-11111111-222222222222222222222222;Parent=3333333333333333;Sampled=1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	flush(t, rec)
	d.WaitTrace(t, "1-5759e988-bd862e3fe1be46a994272793", 5e9)
	if seen.Get(header.Name) != "" || seen.Get("traceparent") == "" {
		t.Errorf("WithWriteFormats(TraceContext) sent %v", seen)
	}
}
