package header_test

import (
	"fmt"
	"net/http"

	"github.com/openxray/xray/header"
)

func ExampleFromString() {
	h := header.FromString("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1")
	fmt.Println(h.TraceID)
	fmt.Println(h.ParentID)
	fmt.Println(h.SamplingDecision == header.Sampled)
	fmt.Println(h.String())
	// Output:
	// 1-5759e988-bd862e3fe1be46a994272793
	// 53995c3f42cd8ad8
	// true
	// Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1
}

// A call from a service instrumented with OpenTelemetry carries W3C trace
// context: the same trace, in X-Ray's form.
func ExampleFromTraceParent() {
	h, ok := header.FromTraceParent("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01", "vendor=abc")
	fmt.Println(ok)
	fmt.Println(h.String())
	fmt.Println(h.TraceParent())
	fmt.Println(h.TraceState)
	// Output:
	// true
	// Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1
	// 00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01
	// vendor=abc
}

// Extract reads whichever format a request carries, X-Amzn-Trace-Id first;
// Inject writes both.
func ExampleExtract() {
	in := http.Header{}
	in.Set("traceparent", "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00")
	h := header.Extract(in.Get)
	fmt.Println(h.TraceID, h.SamplingDecision)

	out := http.Header{}
	header.Inject(out.Set, h, header.AllFormats)
	fmt.Println(out.Get("X-Amzn-Trace-Id"))
	fmt.Println(out.Get("traceparent"))
	// Output:
	// 1-5759e988-bd862e3fe1be46a994272793 Sampled=0
	// Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0
	// 00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00
}
