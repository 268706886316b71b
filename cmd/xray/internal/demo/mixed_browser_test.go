package demo_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
	"github.com/openxray/xray/xrayhttp"
)

// A request that starts in a service instrumented with the OpenTelemetry
// SDK (OTLP to xray local) and continues in an OpenXRay service (UDP),
// joined by traceparent, in the real viewer: one row in the list, one
// waterfall with both services' rows, both services in the map.
func TestMixedTraceInBrowser(t *testing.T) {
	exe := chromium(t)
	l := start(t)
	rec, err := xray.New(xray.Config{DaemonAddr: l.Daemon.Addr().String(), SamplingStrategy: sampling.Never})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close(context.Background())
	inventory := httptest.NewServer(xrayhttp.Handler(xrayhttp.NewFixedSegmentNamer("inventory"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, sub := xray.BeginSubsegment(r.Context(), "stock@db")
		sub.SetNamespace("remote")
		sub.SetSQL(&xray.SQL{DatabaseType: "PostgreSQL", SanitizedQuery: "SELECT qty FROM stock WHERE sku = ?"})
		sub.Close(nil)
		io.WriteString(w, "7")
	}), xrayhttp.WithRecorder(rec)))
	defer inventory.Close()

	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(l.OTLPAddr), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName("otel-storefront"))))
	defer tp.Shutdown(context.Background())
	tracer := tp.Tracer("storefront")
	ctx, server := tracer.Start(context.Background(), "GET /cart", trace.WithSpanKind(trace.SpanKindServer))
	cctx, client := tracer.Start(ctx, "GET inventory", trace.WithSpanKind(trace.SpanKindClient))
	req, _ := http.NewRequestWithContext(cctx, "GET", inventory.URL+"/stock", nil)
	propagation.TraceContext{}.Inject(cctx, propagation.HeaderCarrier(req.Header))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	client.End()
	server.End()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec.Flush(context.Background())
	tid := server.SpanContext().TraceID().String()
	id := "1-" + tid[:8] + "-" + tid[8:]
	deadline := time.Now().Add(10 * time.Second)
	for {
		if tr, err := l.Store.Trace(context.Background(), id); err == nil && tr.DocumentsTotal >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s not stored", id)
		}
		time.Sleep(20 * time.Millisecond)
	}

	var traces int
	var names string
	var mapNodes string
	var listShot, waterfallShot, mapShot []byte
	err = chromedp.Run(browser(t, exe),
		chromedp.Navigate("http://"+l.HTTPAddr+"/"),
		chromedp.WaitVisible(`#traces tbody tr.row`),
		chromedp.Evaluate(`document.querySelectorAll('#traces tbody tr.row').length`, &traces),
		chromedp.FullScreenshot(&listShot, 100),
		chromedp.Click(`#traces tbody tr.row`),
		chromedp.WaitVisible(`#waterfall .wf-row`),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#waterfall .wf-title')).map(e => e.textContent).join('|')`, &names),
		chromedp.FullScreenshot(&waterfallShot, 100),
		chromedp.Navigate("http://"+l.HTTPAddr+"/#/map"),
		chromedp.WaitVisible(`#map svg .map-node`),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#map svg text')).map(e => e.textContent).join('|')`, &mapNodes),
		chromedp.FullScreenshot(&mapShot, 100),
	)
	if err != nil {
		t.Fatal(err)
	}
	if traces != 1 {
		t.Errorf("the list shows %d traces, want the one mixed trace", traces)
	}
	if names != "otel-storefront|GET inventory|inventory|stock@db" {
		t.Errorf("waterfall rows %q, want the OpenTelemetry service, its call, and the OpenXRay service under it", names)
	}
	if !strings.Contains(mapNodes, "otel-storefront") || !strings.Contains(mapNodes, "inventory") || !strings.Contains(mapNodes, "1 calls") {
		t.Errorf("service map labels %q", mapNodes)
	}
	dir := t.TempDir()
	for name, png := range map[string][]byte{"mixed-list.png": listShot, "mixed-waterfall.png": waterfallShot, "mixed-map.png": mapShot} {
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		if d := os.Getenv("XRAY_TEST_SCREENSHOTS"); d != "" {
			os.WriteFile(filepath.Join(d, name), png, 0o644)
		}
	}
}
