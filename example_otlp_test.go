package xray_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sampling"
)

// Send spans over OTLP/HTTP instead of (or with) segment documents over
// UDP. In a deployment the same comes from OTEL_TRACES_EXPORTER=otlp and
// OTEL_EXPORTER_OTLP_ENDPOINT; here an endpoint on loopback counts what
// arrives.
func ExampleOTLPConfig() {
	requests := 0
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		fmt.Println(r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}))
	defer collector.Close()

	r, err := xray.New(xray.Config{
		Exporters:        []string{xray.ExporterOTLP}, // add xray.ExporterXRay to send to the daemon too
		OTLP:             xray.OTLPConfig{Endpoint: collector.URL + "/v1/traces", ServiceName: "checkout"},
		SamplingStrategy: sampling.Always,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, seg := r.BeginSegment(context.Background(), "checkout")
	_, sub := seg.BeginSubsegment(ctx, "charge-card")
	sub.Close(nil)
	seg.Close(nil)
	r.Close(context.Background()) // sends what is queued

	fmt.Println(r.OTLP().Stats().Spans, "spans in", requests, "request")
	// Output:
	// POST /v1/traces application/x-protobuf
	// 2 spans in 1 request
}
